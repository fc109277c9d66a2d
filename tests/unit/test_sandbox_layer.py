"""The sandbox stands apart: it imports nothing of ours, and only the top layer (the
CLI and `up`) imports it, so the org the client is tested against shares no code
with that client."""

from __future__ import annotations

from pathlib import Path

from tests.imports import imported

REPO = Path(__file__).resolve().parents[2]
OURS = {"engage_sync", "streams", "connectors", "domain", "sandbox"}
# The top layer: the CLI that starts the sandbox and `up` that supervises it.
TOP_LAYER = {REPO / "engage_sync" / "cli.py", REPO / "engage_sync" / "up.py"}


def _modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (REPO / pkg).rglob("*.py"))


def test_the_sandbox_imports_nothing_of_ours() -> None:
    modules = _modules("sandbox")
    assert len(modules) > 20  # the walk found the package
    outside = {
        f"{path.relative_to(REPO)}: {name}"
        for path in modules
        for name in imported(path) & (OURS - {"sandbox"})
    }
    assert not outside


def test_only_the_cli_and_up_import_the_sandbox() -> None:
    modules = _modules("engage_sync", "streams", "connectors", "domain")
    assert TOP_LAYER <= set(modules)
    importers = {
        str(path.relative_to(REPO))
        for path in modules
        if path not in TOP_LAYER and "sandbox" in imported(path)
    }
    assert not importers
