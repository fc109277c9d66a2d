"""Salesforce -> Engage on a real broker and sandbox org: backfill, polling, no loss."""

# ruff: noqa: E501

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.timestamps import parse_datetime
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.inbound_harness import InboundHarness, by_salesforce_id, engage_copy

FULL = os.environ.get("ENGAGE_SYNC_FULL") == "1"

SETTINGS = """
objects:
  Lead:
    sync: true
    rules:
      any:
        - {field: Title, op: contains, value: Sales}
        - {field: AnnualRevenue, op: greater_than, value: 1000000}
    mapping:
      - {engage: last_name,  salesforce: LastName,  direction: salesforce_to_engage}
      - {engage: first_name, salesforce: FirstName, direction: bidirectional_most_recent}
      - {engage: title,      salesforce: Title,     direction: bidirectional_most_recent}
      - {engage: company,    salesforce: Company,   direction: salesforce_to_engage, default: Unknown}
      - {engage: email,      salesforce: Email,     direction: salesforce_to_engage}
      - {engage: street,     salesforce: null}
  Contact:
    sync: true
    rules: {all: [{field: Title, op: contains, value: Sales}]}
"""


def lead_matches(r: dict[str, Any]) -> bool:
    return (
        "sales" in (r.get("Title") or "").lower()
        or (r.get("AnnualRevenue") or 0) > 1_000_000
    )


def contact_matches(r: dict[str, Any]) -> bool:
    return "sales" in (r.get("Title") or "").lower()


@pytest.fixture
def admin(sandbox_org: Any) -> SandboxAdmin:
    return SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)


@pytest.fixture
def harness(
    kafka_settings: KafkaSettings, sandbox_org: Any
) -> Iterator[InboundHarness]:
    h = InboundHarness(kafka_settings, sandbox_org, SETTINGS)
    try:
        yield h
    finally:
        h.close()


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@pytest.mark.tansu  # Engage's copy is read back from compacted topics
def test_poll_history_brings_exactly_the_records_the_rules_select(
    kafka_settings: KafkaSettings, admin: SandboxAdmin, harness: InboundHarness
) -> None:
    admin.seed(leads=2500, contacts=2500, seed=11)
    leads, contacts = admin.records("Lead"), admin.records("Contact")
    want = {r["Id"] for r in leads if lead_matches(r)} | {
        r["Id"] for r in contacts if contact_matches(r)
    }
    calls_before = admin.api_calls()
    published = 0
    for obj in ("Lead", "Contact"):
        done = harness.backfill.run(obj, harness.crm)  # type: ignore[arg-type]
        published += done.published
    used = admin.api_calls() - calls_before
    harness.pump(published)

    copy = by_salesforce_id(engage_copy(kafka_settings))
    assert set(copy) == want
    for lead in leads:
        if lead["Id"] in want:
            got = copy[lead["Id"]]
            assert got["last_name"] == lead["LastName"]
            assert got["company"] == (lead.get("Company") or "Unknown")
            assert got["email"] == lead.get("Email")
            assert "street" not in got["fields"]
            assert got["salesforce_object"] == "Lead" and got["in_scope"] is True
    n_leads = sum(1 for r in leads if r["Id"] in want)
    pages = math.ceil(n_leads / 2000) + math.ceil((len(want) - n_leads) / 2000)
    print(f"\nbackfill: {len(want)} of 5,000 match; {used} API calls ({pages} pages)")
    assert (
        used <= pages + 4
    )  # + one describe per object and slack for a short last page


def test_no_update_is_missed_across_randomized_rounds_of_edits(
    kafka_settings: KafkaSettings, admin: SandboxAdmin, harness: InboundHarness
) -> None:
    rng = random.Random(5)
    admin.seed(leads=300, contacts=0, seed=3)
    harness.poll("Lead")  # first poll: the cursor starts now
    done = harness.backfill.run("Lead", harness.crm)  # type: ignore[arg-type]
    harness.pump(done.published)
    rounds = 20 if FULL else 8
    missed_total = stale_total = late = tied = 0
    for round_no in range(rounds):
        leads = admin.records("Lead")
        cursor = harness.cursors.get("incremental", "Lead")
        assert cursor is not None
        base = datetime.fromtimestamp(cursor.stamp_ms / 1000, UTC)
        tie = base + timedelta(seconds=2)
        edits = []
        for lead in rng.sample(leads, 40):
            kind = rng.choice(["into", "out", "title", "tie", "past"])
            edit: dict[str, Any] = {"Id": lead["Id"]}
            if kind == "into":
                edit |= {"Title": "Head of Sales", "AnnualRevenue": 5}
            elif kind == "out":
                edit |= {"Title": "Engineer", "AnnualRevenue": 10}
            else:
                edit |= {"LastName": f"L{round_no}-{rng.randint(0, 9999)}"}
            when = {
                "tie": tie,  # many records share one SystemModstamp second
                "past": base - timedelta(seconds=rng.randint(5, 40)),  # late commit
            }.get(kind, base + timedelta(seconds=rng.randint(1, 5)))
            # A record's own stamp only moves forward; "late" is relative to the others.
            previous = parse_datetime(lead["SystemModstamp"])
            assert previous is not None
            when = max(when, previous + timedelta(seconds=1))
            late += when < base
            tied += when == tie
            edit |= {"SystemModstamp": _stamp(when), "LastModifiedDate": _stamp(when)}
            edits.append(edit)
        admin.put_records("Lead", edits)
        harness.poll_and_pump("Lead")

        copy = by_salesforce_id(engage_copy(kafka_settings))
        missed = stale = 0
        for lead in admin.records("Lead"):
            engage = copy.get(lead["Id"])
            if lead_matches(lead):
                if engage is None or not engage["in_scope"]:
                    missed += 1
                elif engage["last_name"] != lead["LastName"]:
                    stale += 1
            elif engage is not None and engage["in_scope"]:
                stale += 1
        missed_total += missed
        stale_total += stale
    print(
        f"\n{rounds} rounds x 40 edits ({late} committed behind the cursor, {tied} "
        f"sharing one second): missed {missed_total}, stale {stale_total}"
    )
    assert late > 0 and tied > 0
    assert (missed_total, stale_total) == (0, 0)


def test_our_own_task_writes_bump_systemmodstamp_but_emit_no_engage_update(
    kafka_settings: KafkaSettings, admin: SandboxAdmin, harness: InboundHarness
) -> None:
    admin.put_records(
        "Lead",
        [
            {"LastName": f"T{i}", "Company": "Acme", "Title": "Sales Rep"}
            for i in range(100)
        ],
    )
    harness.poll("Lead")
    harness.backfill.run("Lead", harness.crm)  # type: ignore[arg-type]
    harness.pump(100)
    before = harness.processor.stats.contacts_out
    ids = [r["Id"] for r in admin.records("Lead")]
    answers = harness.client.upsert_collection(
        "Task",
        "Engage_Activity_Id__c",
        [
            {
                "Subject": "Engage Call: hi",
                "WhoId": i,
                "Engage_Activity_Id__c": f"t-{i}",
            }
            for i in ids
        ],
    )
    assert all(a["success"] for a in answers)
    result = harness.poll_and_pump("Lead")
    assert result.published == 100  # every parent's SystemModstamp moved
    assert harness.processor.stats.contacts_out == before
    assert harness.processor.stats.unchanged >= 100


def test_deleted_merged_and_converted_records_are_reflected(
    kafka_settings: KafkaSettings, admin: SandboxAdmin, harness: InboundHarness
) -> None:
    ids = admin.put_records(
        "Lead",
        [
            {"LastName": f"M{i}", "Company": "Acme", "Title": "Sales Lead"}
            for i in range(4)
        ],
    )["ids"]
    harness.poll("Lead")
    harness.backfill.run("Lead", harness.crm)  # type: ignore[arg-type]
    harness.pump(4)
    deleted, loser, master, converting = ids
    admin.put_records(
        "Lead",
        delete=[deleted],
        merge=[{"master_id": master, "loser_ids": [loser]}],
        convert=[{"lead_id": converting}],
    )
    contact_id = next(
        r["ConvertedContactId"] for r in admin.records("Lead") if r["Id"] == converting
    )
    harness.poll_and_pump("Lead")

    copy = engage_copy(kafka_settings)
    assert copy[f"sf-{deleted}"]["salesforce_id"] is None
    assert copy[f"sf-{deleted}"]["in_scope"] is False
    assert copy[f"sf-{loser}"]["salesforce_id"] == master
    assert copy[f"sf-{converting}"]["salesforce_id"] == contact_id
    assert copy[f"sf-{converting}"]["salesforce_object"] == "Contact"


def test_records_that_stop_matching_are_kept_but_marked_out_of_scope(
    kafka_settings: KafkaSettings, admin: SandboxAdmin, harness: InboundHarness
) -> None:
    (lead,) = admin.put_records(
        "Lead", [{"LastName": "Scope", "Company": "Acme", "Title": "Sales VP"}]
    )["ids"]
    harness.poll("Lead")
    harness.backfill.run("Lead", harness.crm)  # type: ignore[arg-type]
    harness.pump(1)
    admin.put_records(
        "Lead", [{"Id": lead, "Title": "Engineer", "LastName": "Renamed"}]
    )
    harness.poll_and_pump("Lead")
    engage = engage_copy(kafka_settings)[f"sf-{lead}"]
    assert engage["in_scope"] is False
    assert engage["last_name"] == "Scope"  # out of scope: no more updates


def test_no_rules_means_poll_history_refuses_without_all(
    kafka_settings: KafkaSettings, harness: InboundHarness
) -> None:
    from connectors.salesforce.backfill import BackfillRefused

    harness.set_settings("objects: {Lead: {sync: true}}")
    with pytest.raises(BackfillRefused, match="--all"):
        harness.backfill.plan("Lead", harness.crm)
    assert harness.backfill.plan("Lead", harness.crm, allow_all=True).matching == 0


def test_accounts_land_in_engage_accounts_with_their_rules(
    kafka_settings: KafkaSettings, admin: SandboxAdmin, harness: InboundHarness
) -> None:
    from connectors.kafka.ends import TopicReader
    from connectors.kafka.serde import Serde
    from connectors.kafka.snapshot import latest_values
    from connectors.kafka.topics import Topics

    harness.set_settings(
        "objects:\n  Account:\n    sync: true\n"
        "    rules: {all: [{field: AnnualRevenue, op: greater_or_equal, value: 5000000}]}\n"
    )
    big, small = admin.put_records(
        "Account",
        [{"Name": "Big Co", "Website": "https://big.example", "AnnualRevenue": 9e6},
         {"Name": "Small Co", "AnnualRevenue": 1e5}],
    )["ids"]
    done = harness.backfill.run("Account", harness.crm)
    harness.pump(done.published)
    serde = Serde()
    with TopicReader.open(kafka_settings) as reader:
        latest = latest_values(reader, Topics(kafka_settings).accounts.name)
    accounts = {k.decode(): serde.decode("EngageAccount", v) for k, v in latest.items()}
    assert set(accounts) == {f"sf-{big}"}
    assert accounts[f"sf-{big}"]["name"] == "Big Co"
    assert accounts[f"sf-{big}"]["website"] == "https://big.example"
    assert small not in {a["salesforce_id"] for a in accounts.values()}


def test_an_interrupted_backfill_resumes_where_it_stopped(
    kafka_settings: KafkaSettings, tmp_path: Any
) -> None:
    from connectors.salesforce.backfill import Backfill
    from connectors.salesforce.cursor import CursorStore
    from connectors.salesforce.poller import RecordPublisher
    from sandbox.org import SandboxOrg

    class Crash(Exception):
        pass

    def crash(rows: int) -> None:
        raise Crash

    with SandboxOrg(tmp_path / "paged-org", page_size=100) as org:
        admin = SandboxAdmin(org.url, org.ca_path)
        admin.seed(leads=600, contacts=0, seed=9)
        h = InboundHarness(kafka_settings, org, SETTINGS)
        try:
            matching = h.backfill.plan("Lead", h.crm).matching
            assert matching > 200
            with pytest.raises(Crash):  # dies after publishing its first page of 100
                h.backfill.run("Lead", h.crm, on_page=crash)
            again = Backfill(
                h.client, RecordPublisher(kafka_settings), CursorStore(kafka_settings).load()
            ).run("Lead", h.crm)
            assert again.resumed is True
            assert again.published == matching - 100  # the first page was not read again
            progress = CursorStore(kafka_settings).load().get("history", "Lead")
            assert progress is not None and (progress.read, progress.done) == (matching, True)
            h.pump(100 + again.published)
            copy = by_salesforce_id(engage_copy(kafka_settings))
            assert set(copy) == {r["Id"] for r in admin.records("Lead") if lead_matches(r)}
        finally:
            h.close()


def test_do_not_read_write_fields_are_never_queried(harness: InboundHarness) -> None:
    from connectors.salesforce.records import query_fields

    fields = query_fields("Lead", harness.crm)
    assert "Street" not in fields
    assert {"LastName", "FirstName", "Title", "Company", "Email", "AnnualRevenue"} <= set(fields)
