"""Accounts created from Engage companies, and write-backs aimed at converted Leads."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes
from tests.contact_sync import publish, start_contact_sync
from tests.factories import contact_event, contact_ref, email_event
from tests.inbound_harness import engage_copy
from tests.integration.test_contact_linking import _settings
from tests.integration.test_contact_writebacks import _snapshot
from tests.kafka_helpers import read_topic
from tests.waiting import wait_until

CONTACT_PHONE_RULE = {
    "object": "Contact",
    "name": "Phone_10_Digits",
    "active": True,
    "condition": {"kind": "min_digits", "field": "Phone", "digits": 10},
    "message": "Phone must hold at least 10 digits",
    "error_field": "Phone",
}


def _results(kafka: KafkaSettings) -> list[dict[str, Any]]:
    serde = Serde()
    topic = Topics(kafka).results.name
    records = read_topic(kafka, topic, idle=0.5)
    return [serde.decode("WriteResult", r.value) for r in records]


def _linked(kafka: KafkaSettings, ecids: set[str]) -> dict[str, Any] | None:
    copy = engage_copy(kafka)
    ok = all(copy.get(e, {}).get("salesforce_id") for e in ecids)
    return copy if ok else None


def _redeliver_commands(kafka: KafkaSettings, prefix: str, count: int) -> list[str]:
    """Re-produce the link commands already on the topic, bytes and keys unchanged,
    as a writer that crashed before committing its offsets would read them again."""
    serde, topic = Serde(), Topics(kafka).commands.name
    records = [
        r
        for r in read_topic(kafka, topic, expect=count, idle=0.5, timeout=30)
        if serde.decode("SalesforceCommand", r.value)["command_id"].startswith(prefix)
    ]
    producer = AckingProducer(kafka)
    for r in records:
        producer.produce(topic, r.value, r.key)
    producer.flush()
    return [serde.decode("SalesforceCommand", r.value)["command_id"] for r in records]


@pytest.mark.parametrize("accounts", ["create", "none"])
def test_engage_companies_become_one_account_each_only_when_set_to_create(
    accounts: str, kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    (existing,) = admin.put_records("Account", [{"Name": "Existing Co"}])["ids"]
    admin.set_rules(validation_rules=[CONTACT_PHONE_RULE])
    _settings(
        kafka_settings,
        "create_contact",
        f"  engage_created_accounts: {accounts}\n  auto_associate_accounts: true",
    )
    sync = start_contact_sync(kafka_settings, sandbox_org, processes)

    def add(ecid: str, email: str, company: str, **more: Any) -> dict[str, Any]:
        return contact_event(
            "ADDED", ecid, email=email, last_name=ecid.title(), company=company, **more
        )

    # A new company, one Salesforce has, and one whose Contact the org refuses
    # after its Account was made.
    sync.act([
        add("ann", "ann@initech.example", "Initech"),
        add("eve", "eve@elsewhere.example", "Existing Co"),
        add("bad", "bad@umbrella.example", "Umbrella", phone="555-01"),
    ])
    first = wait_until(
        lambda: (rs := _results(kafka_settings))
        and {r["engage_contact_id"] for r in rs if r["success"]} == {"ann", "eve"}
        and any(r["status_code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION" for r in rs)
        and rs,
        90, 0.5, what="2 links and the refused Contact's result",
    )
    first_ids = {r["engage_contact_id"]: r["salesforce_id"] for r in first
                 if r["success"]}

    # Redelivery: every link command again, as read after a writer crash.
    again = _redeliver_commands(kafka_settings, "link-", 3)
    assert len(again) == 3
    results = wait_until(
        lambda: (rs := _results(kafka_settings))
        and all(sum(r["event_id"] == c for r in rs) == 2 for c in again)
        and rs,
        90, 0.5, what="a second result for each redelivered command",
    )
    # Re-sent from Engage with a phone the org accepts; a colleague of ann's with
    # the company typed differently.
    sync.act([
        add("bad", "bad@umbrella.example", "Umbrella", phone="+1 415 555 0100"),
        add("bob", "bob@initech.example", "  initech "),
    ])
    copy = wait_until(lambda: _linked(kafka_settings, {"bad", "bob"}), 90, 0.5,
                      what="2 more links")

    account_names = Counter(r["Name"] for r in admin.records("Account"))
    contacts = {r["Id"]: r for r in admin.records("Contact")}
    account_of = {e: contacts[copy[e]["salesforce_id"]].get("AccountId")
                  for e in ("ann", "bob", "eve", "bad")}
    names = {r["Id"]: r["Name"] for r in admin.records("Account")}
    assert len(contacts) == 4  # redelivery re-matched: no Contact twice
    assert account_of["eve"] == existing  # an existing Account is used, never copied
    redelivered = [
        max((r for r in results if r["event_id"] == c), key=lambda r: r["written_at"])
        for c in again
    ]
    for r in redelivered:
        if r["engage_contact_id"] == "bad":
            assert r["status_code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
        else:
            assert r["success"] and r["status_code"] == "LINKED"
            assert r["salesforce_id"] == first_ids[r["engage_contact_id"]]
    if accounts == "create":
        assert sorted(account_names.elements()) == [
            "Existing Co", "Initech", "Umbrella",
        ]
        assert account_of["ann"] == account_of["bob"]
        assert names[account_of["ann"]] == "Initech"
        # Made when the first Contact was refused; found by name when re-sent.
        assert names[account_of["bad"]] == "Umbrella"
    else:
        assert list(account_names.elements()) == ["Existing Co"]
        assert account_of["ann"] is account_of["bob"] is account_of["bad"] is None
    print(
        f"\n[engage_created_accounts={accounts}] 4 adds + 3 redelivered link "
        f"commands + 1 re-send: {len(names) - 1} Account(s) created "
        f"({', '.join(sorted(n for n in names.values() if n != 'Existing Co'))}), "
        f"{len(contacts)} Contacts, 1 existing Account reused; "
        f"{sum(r['status_code'] == 'LINKED' for r in redelivered)} of 2 redelivered "
        f"creates re-matched, the refused one refused again"
    )


def test_writebacks_aimed_at_a_converted_lead(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    (lead,) = admin.put_records("Lead", [{
        "LastName": "Conv", "Company": "Conv Co", "Email": "conv@conv.example",
    }])["ids"]
    _settings(kafka_settings, "create_lead")  # Status and Opt Out both two-way
    sync = start_contact_sync(kafka_settings, sandbox_org, processes)
    topics = Topics(kafka_settings)
    # Engage linked the person to the Lead before it was converted in Salesforce
    # (no poller runs here, so Engage's copy keeps the Lead's id).
    sync.act([
        contact_event("ADDED", "conv", email="conv@conv.example", last_name="Conv",
                       salesforce_id=lead),
    ])
    wait_until(lambda: _linked(kafka_settings, {"conv"}), 60, what="link to the Lead")
    admin.put_records("Lead", convert=[{"lead_id": lead}])
    contact = next(
        r["ConvertedContactId"] for r in admin.records("Lead") if r["Id"] == lead
    )
    before = _snapshot(admin)

    status = contact_event("STATUS_CHANGED", "conv", status="Working")
    sync.act([status])
    unsubscribe = email_event(
        event_type="UNSUBSCRIBED",
        contact=contact_ref(engage_contact_id="conv", salesforce_id=lead),
    )
    publish(kafka_settings, topics.emails.name, "EmailEvent", [unsubscribe])
    wanted = {f"status-{status['event_id']}", f"optout-{unsubscribe['event_id']}"}
    results = wait_until(
        lambda: (rs := {r["event_id"]: r for r in _results(kafka_settings)})
        and wanted <= set(rs) and rs,
        90, 0.5, what="the two write-back results",
    )
    after = _snapshot(admin)

    opt_out = results[f"optout-{unsubscribe['event_id']}"]
    assert opt_out["success"] and opt_out["status_code"] == "OK"
    assert opt_out["salesforce_id"] == contact  # reported with the Contact's id
    # Status has no Contact field to follow to: refused, reported, nothing written.
    refused = results[f"status-{status['event_id']}"]
    assert not refused["success"] and refused["status_code"] == "lead-converted"
    assert refused["salesforce_id"] is None
    changed = {
        rid: {k for k in after[rid] if after[rid].get(k) != before[rid].get(k)}
        for rid in before
        if after[rid] != before[rid]
    }
    assert changed == {contact: {"HasOptedOutOfEmail"}}
    assert after[contact]["HasOptedOutOfEmail"] is True
    assert after[lead]["HasOptedOutOfEmail"] is False
    assert after[lead]["Status"] == "Closed - Converted"
    dead = read_topic(kafka_settings, topics.dlq.name, expect=1, idle=1.5, timeout=30)
    assert [r.headers["engage.errors.reason"] for r in dead] == [b"lead-converted"]
    print(
        f"\nconverted Lead: opt-out written to its Contact ({len(changed)} record "
        f"changed, 1 field), Lead unchanged; STATUS_CHANGED refused as "
        f"lead-converted ({len(dead)} dead letter)"
    )
