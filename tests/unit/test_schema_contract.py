"""Contract of the `.avsc` files: documented, namespaced, and backward compatible."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.schema import parse_schema
from fastavro.utils import generate_many

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
HISTORY = SCHEMAS / "history"
NAMESPACE = "engage.events"
SAMPLES = 50

CURRENT = sorted(p for p in SCHEMAS.rglob("*.avsc") if HISTORY not in p.parents)
_HISTORY_NAME = re.compile(r"(?P<name>[A-Za-z_]\w*)\.v(?P<version>\d+)\.avsc")


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _fullname(doc: dict[str, Any]) -> str:
    return f"{doc['namespace']}.{doc['name']}"


def _current_docs() -> dict[str, dict[str, Any]]:
    return {_fullname(doc): doc for doc in map(_read, CURRENT)}


def _self_contained(schema: Any, docs: dict[str, Any], seen: set[str]) -> Any:
    """Inline every referenced schema of the set at its first use."""
    if isinstance(schema, str):
        if schema in docs and schema not in seen:
            return _self_contained(docs[schema], docs, seen)
        return schema
    if isinstance(schema, list):
        return [_self_contained(branch, docs, seen) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if schema.get("type") in ("record", "enum", "fixed"):
        name = schema["name"]
        seen.add(
            name if "." in name else f"{schema.get('namespace', NAMESPACE)}.{name}"
        )
    if "fields" in schema:
        out["fields"] = [
            dict(f, type=_self_contained(f["type"], docs, seen))
            for f in schema["fields"]
        ]
    for key in ("items", "values"):
        if key in schema:
            out[key] = _self_contained(schema[key], docs, seen)
    if isinstance(schema.get("type"), dict | list):
        out["type"] = _self_contained(schema["type"], docs, seen)
    return out


def _standalone(doc: dict[str, Any]) -> Any:
    """Parse one version of a schema, resolving references with the current set."""
    docs = _current_docs()
    docs.pop(_fullname(doc), None)
    return parse_schema(_self_contained(copy.deepcopy(doc), docs, set()))


def incompatibility(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why data written with `old` cannot be read with `new`, or None if it can.

    Args:
        old: the previous version of the schema (writer).
        new: the version under test (reader).

    Returns:
        A description of the first failure, or None.
    """
    writer, reader = _standalone(old), _standalone(new)
    records = list(generate_many(writer, SAMPLES))
    buf = BytesIO()
    for record in records:
        fastavro.schemaless_writer(buf, writer, record)
    buf.seek(0)
    for index in range(len(records)):
        try:
            fastavro.schemaless_reader(buf, writer, reader)
        except Exception as exc:
            return f"record {index}: {type(exc).__name__}: {exc}"
    return None


def history_versions(
    path: Path, history: Path = HISTORY
) -> list[tuple[str, dict[str, Any]]]:
    """Kept versions `history/<namespace>/<Name>.v<N>.avsc`, oldest first."""
    doc = _read(path)
    folder = history / doc["namespace"]
    found = []
    for candidate in folder.glob(f"{doc['name']}.v*.avsc"):
        match = _HISTORY_NAME.fullmatch(candidate.name)
        if match and match["name"] == doc["name"]:
            found.append((int(match["version"]), candidate))
    return [(str(p.relative_to(history.parent)), _read(p)) for _, p in sorted(found)]


def head_version(path: Path, repo: Path = REPO) -> dict[str, Any] | None:
    """The file as committed at git HEAD; None without git, a checkout or the file."""
    relative = path.resolve().relative_to(repo.resolve()).as_posix()
    try:
        shown = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(repo), "show", f"HEAD:{relative}"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    if shown.returncode != 0:
        return None
    try:
        return json.loads(shown.stdout)
    except json.JSONDecodeError:
        return None


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_there_are_schemas_to_check() -> None:
    assert {p.stem for p in CURRENT} >= {"CallLogged", "EmailEvent", "ContactRef"}


@pytest.mark.parametrize("path", CURRENT, ids=_ids(CURRENT))
def test_schema_parses_with_the_rest_of_the_set(path: Path) -> None:
    parsed = _standalone(_read(path))

    assert parsed["type"] == "record"


@pytest.mark.parametrize("path", CURRENT, ids=_ids(CURRENT))
def test_schema_is_a_documented_record_in_the_engage_namespace(path: Path) -> None:
    doc = _read(path)

    assert doc["type"] == "record"
    assert doc["namespace"] == NAMESPACE
    assert isinstance(doc.get("doc"), str) and doc["doc"].strip()


@pytest.mark.parametrize("path", CURRENT, ids=_ids(CURRENT))
def test_schema_file_is_named_after_namespace_and_record(path: Path) -> None:
    doc = _read(path)

    assert path.parent.name == doc["namespace"]
    assert path.name == f"{doc['name']}.avsc"


def _fields(schema: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every field of the record and of records defined inside it."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, list):
        for branch in schema:
            found += _fields(branch)
    elif isinstance(schema, dict):
        for f in schema.get("fields", []):
            found.append((f"{schema['name']}.{f['name']}", f))
            found += _fields(f["type"])
        for key in ("items", "values"):
            if key in schema:
                found += _fields(schema[key])
    return found


@pytest.mark.parametrize("path", CURRENT, ids=_ids(CURRENT))
def test_nullable_fields_put_null_first_and_default_to_null(path: Path) -> None:
    nullable = [
        (where, f)
        for where, f in _fields(_read(path))
        if isinstance(f["type"], list) and "null" in f["type"]
    ]

    for where, f in nullable:
        assert f["type"][0] == "null", where
        assert "default" in f and f["default"] is None, where


def history_problems(path: Path, history: Path = HISTORY) -> list[str]:
    """Why `path` fails its history: no kept version, or one it cannot read.

    Every schema keeps at least `history/<namespace>/<Name>.v1.avsc`: without one
    the only comparison left would be with git HEAD, which in a clean clone is the
    file itself, so a breaking change would pass unseen.
    """
    kept = history_versions(path, history)
    if not kept:
        return [
            f"{path.name} has no kept version: copy it to "
            f"schemas/history/<namespace>/{path.stem}.v1.avsc"
        ]
    current = _read(path)
    return [
        f"{path.name} cannot read data written with {label}: {why}"
        for label, old in kept
        if (why := incompatibility(old, current)) is not None
    ]


@pytest.mark.parametrize("path", CURRENT, ids=_ids(CURRENT))
def test_schema_has_history_and_reads_every_kept_version(path: Path) -> None:
    assert history_problems(path) == []


@pytest.mark.parametrize("path", CURRENT, ids=_ids(CURRENT))
def test_schema_is_backward_compatible_with_the_committed_version(path: Path) -> None:
    head = head_version(path)
    if head is None:  # a new file, or no git checkout: the history check stands
        return
    assert incompatibility(head, _read(path)) is None, f"{path.name} vs git HEAD"


def test_a_schema_without_history_fails_the_history_check(tmp_path: Path) -> None:
    current = tmp_path / NAMESPACE / "CallLogged.avsc"
    current.parent.mkdir(parents=True)
    current.write_text(json.dumps(_call_logged()))

    problems = history_problems(current, tmp_path / "history")

    assert problems == [
        "CallLogged.avsc has no kept version: copy it to "
        "schemas/history/<namespace>/CallLogged.v1.avsc"
    ]


def test_a_required_field_without_default_fails_against_the_kept_version(
    tmp_path: Path,
) -> None:
    kept = tmp_path / "history" / NAMESPACE / "CallLogged.v1.avsc"
    kept.parent.mkdir(parents=True)
    kept.write_text(json.dumps(_call_logged()))
    current = tmp_path / NAMESPACE / "CallLogged.avsc"
    current.parent.mkdir(parents=True)
    required = {"name": "campaign_id", "type": "string"}
    current.write_text(json.dumps(_with_field(_call_logged(), required)))

    problems = history_problems(current, tmp_path / "history")

    assert len(problems) == 1
    assert problems[0].startswith(
        "CallLogged.avsc cannot read data written with history/engage.events/"
        "CallLogged.v1.avsc: record 0:"
    )
    assert "campaign_id" in problems[0]


def _call_logged() -> dict[str, Any]:
    return _read(SCHEMAS / NAMESPACE / "CallLogged.avsc")


def _with_field(doc: dict[str, Any], field: dict[str, Any]) -> dict[str, Any]:
    return dict(copy.deepcopy(doc), fields=[*doc["fields"], field])


def _changed_field(doc: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    """Replace field `name` by `changes` (plus its name): keys not given are dropped."""
    fields = [
        {"name": name, **changes} if f["name"] == name else f for f in doc["fields"]
    ]
    return dict(copy.deepcopy(doc), fields=fields)


INCOMPATIBLE = {
    "new required field without default": _with_field(
        _call_logged(), {"name": "campaign_id", "type": "string"}
    ),
    "string field becomes int": _changed_field(_call_logged(), "subject", type="int"),
    "optional field becomes required": _changed_field(
        _call_logged(), "comments", type="string"
    ),
}


@pytest.mark.parametrize("new", INCOMPATIBLE.values(), ids=INCOMPATIBLE.keys())
def test_checker_catches_an_incompatible_change(new: dict[str, Any]) -> None:
    assert incompatibility(_call_logged(), new) is not None


COMPATIBLE = {
    "unchanged": _call_logged(),
    "new optional field defaulting to null": _with_field(
        _call_logged(),
        {"name": "campaign_id", "type": ["null", "string"], "default": None},
    ),
    "new required field with a default": _with_field(
        _call_logged(), {"name": "source", "type": "string", "default": "dialer"}
    ),
    "int widened to long": _changed_field(
        _call_logged(), "duration_seconds", type="long"
    ),
}


@pytest.mark.parametrize("new", COMPATIBLE.values(), ids=COMPATIBLE.keys())
def test_checker_accepts_a_backward_compatible_change(new: dict[str, Any]) -> None:
    assert incompatibility(_call_logged(), new) is None


def test_history_versions_are_found_by_name_and_ordered_by_number(
    tmp_path: Path,
) -> None:
    current = tmp_path / NAMESPACE / "CallLogged.avsc"
    folder = tmp_path / "history" / NAMESPACE
    folder.mkdir(parents=True)
    current.parent.mkdir(parents=True)
    current.write_text(json.dumps(_call_logged()))
    for version in (10, 2, 1):
        (folder / f"CallLogged.v{version}.avsc").write_text(
            json.dumps(dict(_call_logged(), doc=f"v{version}"))
        )
    (folder / "CallLoggedExtra.v1.avsc").write_text("{}")
    (folder / "CallLogged.avsc").write_text("{}")

    versions = history_versions(current, tmp_path / "history")

    assert [doc["doc"] for _, doc in versions] == ["v1", "v2", "v10"]


def test_no_history_folder_means_no_history_versions(tmp_path: Path) -> None:
    current = tmp_path / NAMESPACE / "CallLogged.avsc"
    current.parent.mkdir(parents=True)
    current.write_text(json.dumps(_call_logged()))

    assert history_versions(current, tmp_path / "history") == []


def test_a_file_not_in_a_git_checkout_has_no_head_version(tmp_path: Path) -> None:
    path = tmp_path / "New.avsc"
    path.write_text(json.dumps(_call_logged()))

    assert head_version(path, repo=tmp_path) is None
