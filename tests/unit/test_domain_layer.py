"""domain/ imports only the standard library and itself, so every layer may use it."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.imports import imported

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def test_domain_imports_nothing_but_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"domain", "__future__"}
    outside = {
        f"{path.name}: {name}"
        for path in sorted(DOMAIN.glob("*.py"))
        for name in imported(path) - allowed
    }
    assert not outside
