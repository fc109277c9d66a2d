"""domain/ imports nothing of ours but itself and ground/, so every layer may use it;
and the whole import contract (`make lint`'s `lint-imports`) holds in every test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.imports import imported

REPO = Path(__file__).resolve().parents[2]
DOMAIN = REPO / "domain"
OURS = {"engage_sync", "streams", "connectors", "sandbox", "bench", "tests"}
# What domain/ may use besides the standard library: models and value parsing.
THIRD_PARTY = {"pydantic", "phonenumbers", "yaml"}


def test_domain_imports_nothing_of_ours_but_itself_and_ground() -> None:
    allowed = set(sys.stdlib_module_names) | {"domain", "ground", "__future__"}
    outside = {
        f"{path.relative_to(DOMAIN)}: {name}"
        for path in sorted(DOMAIN.rglob("*.py"))
        for name in imported(path) - allowed - THIRD_PARTY
    }
    assert not outside
    assert not OURS & {n for p in DOMAIN.rglob("*.py") for n in imported(p)}


def test_the_import_contract_holds() -> None:
    """The layers and the sandbox's standing apart ([tool.importlinter])."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
