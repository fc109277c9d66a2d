"""The sync-rules form: a nested rule tree to form fields and back, the add and
remove buttons, values typed by their field, and operators fitting the type."""

from __future__ import annotations

import json
from typing import Any

from domain.crm_settings.document import parse_document
from domain.rules.models import Group
from engage_sync.console.pages import rule_form

TYPES = {"Title": "string", "AnnualRevenue": "currency", "IsConverted": "boolean"}


def _fields(node: rule_form.Node, path: str = "r") -> dict[str, str]:
    """The form fields a browser would post for the tree."""
    if node["kind"] == "cond":
        return {f"{path}.kind": "cond"} | {
            f"{path}.{k}": node[k] for k in ("field", "op", "value")
        }
    out = {f"{path}.kind": "group", f"{path}.comb": node["comb"]}
    for i, child in enumerate(node["children"]):
        out |= _fields(child, f"{path}.{i}")
    return out


def _group(data: Any) -> Group:
    doc = parse_document("objects:\n  Lead:\n    rules: " + json.dumps(data) + "\n")
    rules = doc.objects["Lead"].rules
    assert rules is not None
    return rules


def test_a_nested_tree_goes_to_the_form_and_back_unchanged() -> None:
    rules = {
        "any": [
            {"field": "Title", "op": "contains", "value": "Sales"},
            {
                "all": [
                    {"field": "AnnualRevenue", "op": "greater_than", "value": 1000000},
                    {"field": "Title", "op": "in", "value": ["CEO", "CFO"]},
                    {"field": "Title", "op": "is_not_empty"},
                ]
            },
        ]
    }
    tree = rule_form.tree_of(_group(rules))
    assert tree is not None
    back = rule_form.from_form(_fields(tree))
    assert rule_form.document_rules(back, TYPES) == rules


def test_children_sort_by_number_and_buttons_add_and_remove() -> None:
    # Eleven children: r.10 comes after r.9, not after r.1.
    tree = {
        "kind": "group",
        "comb": "all",
        "children": [
            rule_form.new_condition("Title", "equals", str(i)) for i in range(11)
        ],
    }
    back = rule_form.from_form(_fields(tree))
    assert back is not None
    assert [c["value"] for c in back["children"]] == [str(i) for i in range(11)]
    added = rule_form.edited(back, "add-group:r")
    assert added is not None and added["children"][-1]["kind"] == "group"
    removed = rule_form.edited(added, "remove:r.0")
    assert removed is not None and removed["children"][0]["value"] == "1"
    assert rule_form.edited(removed, "remove:r") is None  # no rules: every record
    first = rule_form.edited(None, "add-cond:r")
    assert first is not None and first["children"] == [rule_form.new_condition()]


def test_values_are_typed_by_their_field() -> None:
    tree = {
        "kind": "group",
        "comb": "any",
        "children": [
            rule_form.new_condition("AnnualRevenue", "greater_than", "1,000,000"),
            rule_form.new_condition("AnnualRevenue", "less_than", "2.5"),
            rule_form.new_condition("IsConverted", "equals", "true"),
            rule_form.new_condition("AnnualRevenue", "equals", "lots"),
            rule_form.new_condition("Title", "not_in", "A, B"),
        ],
    }
    values = [c.get("value") for c in rule_form.document_rules(tree, TYPES)["any"]]
    assert values == [1_000_000, 2.5, True, "lots", ["A", "B"]]


def test_operators_fit_the_fields_type() -> None:
    text, money, flag = (rule_form.ops_for(TYPES[f]) for f in TYPES)
    assert "contains" in text and "greater_than" not in text
    assert "greater_than" in money and "contains" not in money
    assert "contains" not in flag and "greater_than" not in flag and "equals" in flag
    assert rule_form.ops_for(None) == list(rule_form.OPS)  # no describe: all
