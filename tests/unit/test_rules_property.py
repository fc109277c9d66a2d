"""Property: sandbox SOQL and the in-stream evaluator select the same Leads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from connectors.salesforce.soql import select, where_clause
from domain.rules.evaluate import RANGE_OPS, TEXT_OPS, field_kind, predicate
from domain.rules.models import Condition, Group
from sandbox import ids
from sandbox.admin_api import ensure_integration_user
from sandbox.admin_records import AdminRecords
from sandbox.dml import Dml
from sandbox.faults import FaultInjector
from sandbox.metadata import Schema
from sandbox.rules import RuleSet
from sandbox.soql_eval import execute
from sandbox.state import Credentials, OrgState
from sandbox.store import Store

EXAMPLES = 2000 if os.environ.get("ENGAGE_SYNC_FULL") == "1" else 300
SCHEMA = Schema()
LEAD = SCHEMA.objects["Lead"]
FIELDS = (
    "Title",
    "Email",
    "Industry",
    "Street",
    "AnnualRevenue",
    "NumberOfEmployees",
    "IsConverted",
    "HasOptedOutOfEmail",
    "ConvertedDate",
    "CreatedDate",
    "OwnerId",
)
# Describe types straight from the sandbox's Lead metadata.
TYPES = {name: LEAD.field(name).type for name in FIELDS}  # type: ignore[union-attr]
OWNERS = [ids.make_id("005", n) for n in (101, 102, 103)]
BASE = datetime(2024, 5, 1, tzinfo=UTC)

_EVERYWHERE = ("equals", "not_equals", "is_empty", "is_not_empty")
OPS = {
    "text": (*_EVERYWHERE, "in", "not_in", *sorted(TEXT_OPS)),
    "number": (*_EVERYWHERE, "in", "not_in", *sorted(RANGE_OPS)),
    "date": (*_EVERYWHERE, "in", "not_in", *sorted(RANGE_OPS)),
    "datetime": (*_EVERYWHERE, "in", "not_in", *sorted(RANGE_OPS)),
    "boolean": _EVERYWHERE,
    "id": (*_EVERYWHERE, "in", "not_in"),
}

# -- values ---------------------------------------------------------------------------
HOSTILE = [
    "",
    " ",
    "  ",
    "'",
    "\\",
    "%",
    "_",
    "\\%",
    "\\_",
    "%%",
    "a%b",
    "a_b",
    "O'Neil",
    "\\'",
    "'\\",
    "C:\\x_y",
    "\n",
    "a\nb",
    "\r\n",
    "\t",
    "\x00",
    "\x7f",
    "é",
    "É",
    "ß",
    "SS",
    "İ",
    "i",
    "東京",
    "🚀",
    "sales",
    "SALES",
    "Sales Rep",
    "a",
    "A",
    "null",
    "NULL",
    "' OR Title != '",
    "%' OR Title LIKE '%",
    "\u2028",
]
text_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet="aAbé%_\\' \n\t", max_size=5),
    st.text(max_size=6),
)
numbers = st.one_of(
    st.sampled_from([0, 1, -1, 10, 0.5, 1e6, 1000000, 2.5, -0.0]),
    st.integers(-20, 20),
    st.floats(allow_nan=False, allow_infinity=False),
)
days = st.dates(date(2024, 4, 28), date(2024, 5, 3))
instants = st.builds(
    lambda unit, n: BASE + unit * n,
    st.sampled_from(
        [timedelta(milliseconds=1), timedelta(seconds=1), timedelta(hours=7)]
    ),
    st.integers(-4, 4),
)


def _wire(dt: datetime, style: int) -> str:
    """One instant in the ISO forms Salesforce and YAML users write."""
    if style == 0:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"
    if style == 1:
        return dt.isoformat().replace("+00:00", "Z")
    return dt.astimezone(timezone(timedelta(hours=2))).isoformat()


datetime_texts = st.builds(_wire, instants, st.integers(0, 2))


def record_values(kind: str, field: str) -> st.SearchStrategy[Any]:
    if kind == "text":
        return st.one_of(st.none(), text_values)
    if kind == "number":
        ints = st.one_of(st.integers(-20, 20), st.sampled_from([0, 10, 1000000]))
        values = ints if field == "NumberOfEmployees" else numbers
        return st.one_of(st.none(), values)
    if kind == "boolean":
        return st.sampled_from([True, False, None])
    if kind == "date":
        return st.one_of(st.none(), st.just(""), days.map(date.isoformat))
    if kind == "datetime":
        return datetime_texts  # CreatedDate is never null
    return st.sampled_from([*OWNERS[:2], None])


def rule_values(kind: str, op: str) -> st.SearchStrategy[Any]:
    if kind == "text":
        return text_values
    if kind == "number":
        return st.one_of(numbers, numbers.map(repr), st.integers(-20, 20).map(str))
    if kind == "boolean":
        return st.sampled_from([True, False, "true", "FALSE"])
    if kind == "date":
        return st.one_of(days, days.map(date.isoformat))
    if kind == "datetime":
        values = st.one_of(datetime_texts, instants)
        if op in RANGE_OPS:
            return st.one_of(values, days.map(date.isoformat))
        return values
    return st.sampled_from(OWNERS).flatmap(lambda i: st.sampled_from([i, i[:15]]))


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(FIELDS))
    kind = field_kind(TYPES[field])
    op = draw(st.sampled_from(OPS[kind]))
    if op in ("is_empty", "is_not_empty"):
        return Condition(field=field, op=op)
    values = rule_values(kind, op)
    if op in ("in", "not_in"):
        items = st.one_of(values, st.none()) if kind != "boolean" else values
        return Condition(
            field=field, op=op, value=draw(st.lists(items, min_size=1, max_size=3))
        )
    return Condition(field=field, op=op, value=draw(values))


def groups(depth: int) -> st.SearchStrategy[Group]:
    child = conditions() if depth == 1 else st.one_of(conditions(), groups(depth - 1))
    return st.builds(
        lambda combinator, children: Group.model_validate({combinator: children}),
        st.sampled_from(["all", "any"]),
        st.lists(child, min_size=1, max_size=3),
    )


leads = st.fixed_dictionaries(
    {name: record_values(field_kind(TYPES[name]), name) for name in FIELDS}
).map(lambda r: {"LastName": "L", "Company": "C", **r})


# -- the org ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgState]:
    path: Path = tmp_path_factory.mktemp("org") / "org.sqlite3"
    store = Store(path, SCHEMA.external_id_fields())
    creds = Credentials(
        "cid", "secret", "u@example.com", "pw", ids.make_id("00D", 1), OWNERS[0], b""
    )
    state = OrgState(
        store, SCHEMA, RuleSet(), FaultInjector(), creds, 10**9, 2000, None
    )
    ensure_integration_user(state)
    yield state
    store.close()


def soql_ids(org: OrgState, where: str) -> set[str]:
    """Run the query as the sandbox's query endpoint does, without HTTP."""
    store = org.store
    result = execute(
        org.schema,
        select("Lead", ["Id"], where),
        lambda name: store.all(name),
        lambda rid: found[1] if (found := store.get(rid)) else None,
        "59.0",
    )
    return {r["Id"] for r in result.records}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tree=st.integers(1, 3).flatmap(groups), records=st.lists(leads, max_size=8))
def test_soql_and_in_stream_evaluation_select_the_same_records(
    org: OrgState, tree: Group, records: list[dict[str, Any]]
) -> None:
    store = org.store
    store.delete_all_records()
    # The admin write path stores records as the org does ('' becomes null, ...).
    writer = AdminRecords(Dml(org))
    written = [writer.put(LEAD, record)[0] for record in records]
    where = where_clause(tree, TYPES)
    note(f"WHERE {where}")
    check = predicate(tree, TYPES)
    stored = store.all("Lead")
    assert soql_ids(org, where) == {r["Id"] for r in stored if check(r)}
    # The raw records (with '' and Python values) evaluate the same as stored ones.
    by_id = {r["Id"]: r for r in stored}
    assert [check(r) for r in records] == [check(by_id[rid]) for rid in written]
