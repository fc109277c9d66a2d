"""The contacts agents and the Salesforce connector use each other through their
ports: no module there reads another object's private attribute (`contacts._lock`,
`self.c._emit`), so a port's fake stands in for the real adapter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PORTED = ("streams/contacts", "streams/activity", "connectors/salesforce")


def _reaches(path: Path) -> list[str]:
    """`x._name` where `x` is not `self` or `cls` (dunders are public protocol)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") or (
            isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        ):
            continue
        found.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("folder", PORTED)
def test_no_module_reads_another_objects_private_state(folder: str) -> None:
    reaches = [r for p in sorted((REPO / folder).glob("*.py")) for r in _reaches(p)]
    assert reaches == []
