"""Only Lead Status and Email Opt Out are written back, and only where events asked."""

from __future__ import annotations

from typing import Any

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes
from tests.contact_sync import start_contact_sync
from tests.factories import contact_event, contact_ref, email_event
from tests.inbound_harness import engage_copy
from tests.integration.test_contact_linking import _settings
from tests.kafka_helpers import read_topic
from tests.waiting import wait_until

# Fields the platform moves itself (our Tasks bump them): not data Engage could write.
SYSTEM = {"SystemModstamp", "LastModifiedDate", "LastActivityDate", "LastModifiedById"}


def _snapshot(admin: SandboxAdmin) -> dict[str, dict[str, Any]]:
    out = {}
    for obj in ("Lead", "Contact"):
        for r in admin.records(obj):
            out[r["Id"]] = {k: v for k, v in r.items() if k not in SYSTEM}
    return out


def test_only_status_and_opt_out_change_and_only_where_asked(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    leads = admin.put_records(
        "Lead",
        [
            {"LastName": f"L{i}", "Company": "Acme", "Email": f"lead{i}@acme.example"}
            for i in range(10)
        ],
    )["ids"]
    contacts = admin.put_records("Contact", [
        {"LastName": f"C{i}", "Email": f"contact{i}@acme.example"} for i in range(10)
    ])["ids"]
    _settings(kafka_settings, "create_lead")
    sync = start_contact_sync(kafka_settings, sandbox_org, processes)
    topics = Topics(kafka_settings)
    adds = [
        contact_event(
            "ADDED", f"l{i}", email=f"lead{i}@acme.example", last_name=f"L{i}"
        )
        for i in range(10)
    ]
    adds += [
        contact_event(
            "ADDED", f"c{i}", email=f"contact{i}@acme.example", last_name=f"C{i}"
        )
        for i in range(10)
    ]
    sync.act(adds)
    wait_until(
        lambda: (
            sum(1 for c in engage_copy(kafka_settings).values() if c["salesforce_id"])
            == 20
        ),
        120,
        what="20 links",
    )
    before = _snapshot(admin)

    asked = []
    # Status on 5 Leads (one translated by status_values, one unknown to the picklist).
    for i, status in enumerate(
        [
            "Working",
            "Closed - Not Converted",
            "Open - Not Contacted",
            "Working",
            "No Such Status",
        ]
    ):
        asked.append(contact_event("STATUS_CHANGED", f"l{i}", status=status))
    # Engage-side edits are never written to Salesforce.
    asked += [
        contact_event("UPDATED", f"l{i}", first_name="Edited", last_name="Changed")
        for i in range(5, 9)
    ]
    sync.act(asked)
    unsubscribes = [
        email_event(
            event_type="UNSUBSCRIBED",
            contact=contact_ref(engage_contact_id=f"c{i}", salesforce_id=contacts[i]),
        )
        for i in range(3)
    ]
    unsubscribes.append(
        email_event(
            event_type="UNSUBSCRIBED",
            contact=contact_ref(engage_contact_id="l9", salesforce_id=leads[9]),
        )
    )
    serde, producer = Serde(), AckingProducer(kafka_settings)
    for ev in unsubscribes:
        producer.produce(
            topics.emails.name,
            serde.encode("EmailEvent", ev),
            ev["contact"]["engage_contact_id"].encode(),
        )
    producer.flush()

    def writebacks_done() -> bool:
        results = [serde.decode("WriteResult", r.value)
                   for r in read_topic(kafka_settings, topics.results.name, idle=1.5)]
        done = [r for r in results if r["event_id"].startswith(("status-", "optout-"))]
        return len(done) == 9  # 5 status changes + 4 unsubscribes

    wait_until(writebacks_done, 120, interval=1.0, what="9 write-back results")
    after = _snapshot(admin)
    changed = {
        rid: {k for k in after[rid] if after[rid].get(k) != before[rid].get(k)}
        for rid in before if after[rid] != before[rid]
    }
    expected = {
        leads[0]: {"Status"},
        leads[1]: {"Status"},
        leads[3]: {"Status"},
        contacts[0]: {"HasOptedOutOfEmail"},
        contacts[1]: {"HasOptedOutOfEmail"},
        contacts[2]: {"HasOptedOutOfEmail"},
        leads[9]: {"HasOptedOutOfEmail"},
    }
    # leads[2] was asked for the status it already had: no change to see.
    assert changed == expected
    # Translated by status_values; an unknown value is not written.
    assert after[leads[0]]["Status"] == "Working - Contacted"
    assert after[leads[4]]["Status"] == before[leads[4]]["Status"]
    copy = engage_copy(kafka_settings)
    # first_name is two-way on Leads: Engage's copy takes the edit, Salesforce doesn't;
    # last_name is Salesforce's: the edit is ignored.
    assert copy["l5"]["first_name"] == "Edited" and copy["l5"]["last_name"] == "L5"
    assert after[leads[5]].get("FirstName") == before[leads[5]].get("FirstName") is None
    dead = read_topic(kafka_settings, topics.dlq.name, idle=1.5)
    assert [r.headers["engage.errors.reason"] for r in dead] == [b"invalid-status"]
    print(
        f"\nwrite-backs: {len(changed)} records changed, exactly the fields asked "
        f"(Status x3, HasOptedOutOfEmail x4); "
        f"unknown status refused into the dead-letter topic"
    )
