"""pyproject ships every package and data file, on every CPython from 3.11 on."""

from __future__ import annotations

import fnmatch
import tomllib
from importlib import resources
from pathlib import Path

from connectors.kafka.serde import Serde
from engage_sync.up import DEMO_SETTINGS

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
SOURCE_ROOTS = ("engage_sync", "streams", "connectors", "domain", "ground", "sandbox")


def _source_packages() -> set[str]:
    """Every folder with an `__init__.py` under the source roots, as a dotted name."""
    return {
        ".".join(init.parent.relative_to(REPO).parts)
        for root in SOURCE_ROOTS
        for init in (REPO / root).rglob("__init__.py")
    }


def _shipped(package: str) -> list[str]:
    """Files pyproject's package-data puts in the wheel for `package`, repo-relative."""
    folder = SETUPTOOLS.get("package-dir", {}).get(package, package.replace(".", "/"))
    patterns = SETUPTOOLS["package-data"].get(package, [])
    return sorted(
        str(p.relative_to(REPO))
        for p in (REPO / folder).rglob("*")
        if p.is_file()
        and any(fnmatch.fnmatch(str(p.relative_to(REPO / folder)), g) for g in patterns)
    )


def test_every_source_package_is_listed_for_the_wheel() -> None:
    mapped = set(SETUPTOOLS.get("package-dir", {}))
    assert set(SETUPTOOLS["packages"]) - mapped == _source_packages()


def test_python_requirement_names_a_floor_and_no_cap() -> None:
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_wheel_carries_every_current_schema_and_no_history() -> None:
    on_disk = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "schemas").glob("*/*.avsc")
        if p.parent.name != "history"
    )
    assert on_disk
    assert _shipped("engage_sync.schemas") == on_disk


def test_serde_reads_its_schemas_as_package_data() -> None:
    names = {p.stem for p in (REPO / "schemas" / "engage.events").glob("*.avsc")}
    packaged = resources.files("engage_sync.schemas") / "engage.events"
    assert {f.name.removesuffix(".avsc") for f in packaged.iterdir()} >= names
    assert {n.removeprefix("engage.events.") for n in Serde().catalog.names()} == names


def test_demo_settings_ship_in_the_wheel_and_up_finds_them_as_package_data() -> None:
    assert _shipped("engage_sync.examples") == [
        "engage_sync/examples/crm-settings.example.yaml"
    ]
    assert DEMO_SETTINGS.is_file()
    assert DEMO_SETTINGS == resources.files("engage_sync.examples").joinpath(
        "crm-settings.example.yaml"
    )


def test_console_templates_and_static_files_ship_in_the_wheel() -> None:
    console = REPO / "engage_sync" / "console"
    on_disk = sorted(
        str(p.relative_to(REPO))
        for folder in ("templates", "static")
        for p in (console / folder).iterdir()
        if p.is_file()
    )
    assert "engage_sync/console/templates/base.html" in on_disk
    assert "engage_sync/console/static/console.css" in on_disk
    assert _shipped("engage_sync.console") == on_disk
