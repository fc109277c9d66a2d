"""The sync-rules form: a rule tree as form fields, and back.

A node at path `p` (the root is `r`, its children `r.0`, `r.1`, ...) is the fields
`p.kind` (group or cond), `p.comb` (all or any) or `p.field`, `p.op`, `p.value`.
The form keeps what the admin typed (text) until the whole document is checked.
"""

from __future__ import annotations

from typing import Any, get_args

from domain.crm_settings.describe_check import (
    NUMBER_TYPES,
    ORDER_OPS,
    ORDERED_TYPES,
    TEXT_OPS,
    TEXT_TYPES,
)
from domain.rules.models import LIST_OPS, UNARY_OPS, Group, Op

ROOT = "r"
OPS: tuple[str, ...] = get_args(Op)
OP_LABELS = {op: op.replace("_", " ") for op in OPS}
Node = dict[str, Any]


def ops_for(type_: str | None) -> list[str]:
    """The operators `settings apply` accepts for a field of this describe type."""
    if type_ is None:
        return list(OPS)
    return [
        op
        for op in OPS
        if not (op in TEXT_OPS and type_ not in TEXT_TYPES)
        and not (op in ORDER_OPS and type_ not in ORDERED_TYPES)
    ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def tree_of(group: Group | None) -> Node | None:
    """The form's tree of a rule group from the document."""
    if group is None:
        return None
    children: list[Node] = []
    for child in group.children:
        if isinstance(child, Group):
            children.append(tree_of(child))  # type: ignore[arg-type]
        else:
            children.append(new_condition(child.field, child.op, _text(child.value)))
    return {"kind": "group", "comb": group.combinator, "children": children}


def new_condition(field: str = "", op: str = "equals", value: str = "") -> Node:
    return {"kind": "cond", "field": field, "op": op, "value": value}


def from_form(form: Any, path: str = ROOT) -> Node | None:
    """The tree the form's fields describe, None when it has none."""
    kind = form.get(f"{path}.kind")
    if kind == "cond":
        return new_condition(
            *(
                str(form.get(f"{path}.{k}") or "").strip()
                for k in ("field", "op", "value")
            )
        )
    if kind != "group":
        return None
    prefix = f"{path}."
    indexes = sorted(
        {
            int(head)
            for key in form.keys()  # noqa: SIM118 - a form is a multi-dict
            if key.startswith(prefix)
            and (head := key[len(prefix) :].split(".", 1)[0]).isdigit()
        }
    )
    children = [c for i in indexes if (c := from_form(form, f"{path}.{i}"))]
    comb = "all" if form.get(f"{path}.comb") == "all" else "any"
    return {"kind": "group", "comb": comb, "children": children}


def _node_at(tree: Node, path: str) -> Node | None:
    node: Node | None = tree
    for part in path.split(".")[1:]:
        kids = node["children"] if node and node["kind"] == "group" else []
        node = kids[int(part)] if part.isdigit() and int(part) < len(kids) else None
    return node


def edited(tree: Node | None, action: str) -> Node | None:
    """The tree after an add or remove button (`add-cond:r.1`, `remove:r.0`)."""
    verb, _, path = action.partition(":")
    if tree is None:
        if verb in ("add-cond", "add-group"):
            return {"kind": "group", "comb": "any", "children": [new_condition()]}
        return None
    if verb == "remove":
        if path == ROOT:
            return None
        parent = _node_at(tree, path.rsplit(".", 1)[0])
        index = int(path.rsplit(".", 1)[1])
        if parent is not None and index < len(parent["children"]):
            del parent["children"][index]
        return tree
    target = _node_at(tree, path)
    if target is not None and target["kind"] == "group":
        if verb == "add-cond":
            target["children"].append(new_condition())
        elif verb == "add-group":
            target["children"].append(
                {"kind": "group", "comb": "all", "children": [new_condition()]}
            )
    return tree


def _number(text: str) -> Any:
    plain = text.replace(",", "").replace("_", "").strip()
    try:
        return int(plain)
    except ValueError:
        try:
            return float(plain)
        except ValueError:
            return text  # left for the check to name


def _value(text: str, type_: str | None) -> Any:
    if type_ in NUMBER_TYPES:
        return _number(text)
    if type_ == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def document_rules(tree: Node | None, types: dict[str, str]) -> Any:
    """The document's `rules` for the tree, values typed by their field."""
    if tree is None:
        return None
    if tree["kind"] == "cond":
        out: dict[str, Any] = {"field": tree["field"], "op": tree["op"]}
        type_ = types.get(tree["field"])
        if tree["op"] in LIST_OPS:
            out["value"] = [_value(v.strip(), type_) for v in tree["value"].split(",")]
        elif tree["op"] not in UNARY_OPS:
            out["value"] = _value(tree["value"], type_)
        return out
    return {tree["comb"]: [document_rules(c, types) for c in tree["children"]]}
