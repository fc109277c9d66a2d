"""domain/ imports only the standard library and itself, so every layer may use it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def _imported(path: Path) -> set[str]:
    """Top-level names of every module the file imports, also inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_domain_imports_nothing_but_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"domain", "__future__"}
    outside = {
        f"{path.name}: {name}"
        for path in sorted(DOMAIN.glob("*.py"))
        for name in _imported(path) - allowed
    }
    assert not outside
