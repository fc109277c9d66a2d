"""An added contact that already carries a Salesforce id: the writer reads the record
before Engage links to it (live, converted, merged, deleted or unknown), and a create
sends the fields the admin mapped."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from connectors.kafka.serde import Serde
from connectors.kafka.settings_topic import publish
from connectors.kafka.topics import Topics
from connectors.salesforce.verify import id18
from domain.crm_settings.document import parse_document
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import REPO, Processes, kafka_env, salesforce_env
from tests.contact_sync import start_contact_sync
from tests.factories import contact_event
from tests.inbound_harness import engage_copy
from tests.integration.test_contact_linking import _settings
from tests.kafka_helpers import read_topic
from tests.waiting import wait_until

NEVER_EXISTED = id18("003000000009999")


def _results(kafka: KafkaSettings, wanted: set[str]) -> dict[str, dict[str, Any]]:
    serde = Serde()

    def found() -> dict[str, dict[str, Any]] | None:
        records = read_topic(kafka, Topics(kafka).results.name, idle=0.5)
        results = [serde.decode("WriteResult", r.value) for r in records]
        by_contact = {r["engage_contact_id"]: r for r in results}
        return by_contact if wanted <= set(by_contact) else None

    return wait_until(found, 90, 0.5, what=f"results for {sorted(wanted)}")


def test_added_contact_with_a_salesforce_id_links_only_to_a_live_record(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    lead, converted = admin.put_records(
        "Lead",
        [
            {
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Company": "Engines",
                "Email": "ada@engines.example",
                "SystemModstamp": "2024-01-01T00:00:00.000+0000",
            },
            {"LastName": "Conv", "Company": "Conv Co", "Email": "conv@conv.example"},
        ],
    )["ids"]
    master, loser, deleted = admin.put_records(
        "Contact",
        [
            {"LastName": "Hopper", "Email": "grace@navy.example"},
            {"LastName": "Hopper", "Email": "grace.old@navy.example"},
            {"LastName": "Gone", "Email": "gone@x.example"},
        ],
    )["ids"]
    admin.put_records("Lead", convert=[{"lead_id": converted}])
    converted_to = next(
        r["ConvertedContactId"] for r in admin.records("Lead") if r["Id"] == converted
    )
    admin.put_records("Contact", merge=[{"master_id": master, "loser_ids": [loser]}])
    admin.put_records("Contact", delete=[deleted])
    _settings(kafka_settings, "create_lead")
    sync = start_contact_sync(kafka_settings, sandbox_org, processes)
    # Engage's values differ from Salesforce's: Salesforce's win once linked.
    adds = {
        "live": contact_event(
            "ADDED",
            "live",
            salesforce_id=lead,
            first_name="Addy",
            last_name="Old",
            email="old@engines.example",
        ),
        "conv": contact_event(
            "ADDED", "conv", salesforce_id=converted, last_name="Conv"
        ),
        "merged": contact_event(
            "ADDED", "merged", salesforce_id=loser, last_name="Hopper"
        ),
        "deleted": contact_event(
            "ADDED", "deleted", salesforce_id=deleted, last_name="Gone"
        ),
        "unknown": contact_event(
            "ADDED", "unknown", salesforce_id=NEVER_EXISTED, last_name="Nobody"
        ),
    }
    sync.act(list(adds.values()))

    results = _results(kafka_settings, set(adds))
    copy = engage_copy(kafka_settings)

    live = copy["live"]
    assert (live["salesforce_id"], live["salesforce_object"]) == (lead, "Lead")
    assert (live["first_name"], live["last_name"], live["email"]) == (
        "Ada",
        "Lovelace",
        "ada@engines.example",
    )
    assert (copy["conv"]["salesforce_id"], copy["conv"]["salesforce_object"]) == (
        converted_to,
        "Contact",
    )
    assert f"converted to Contact {converted_to}" in results["conv"]["message"]
    assert copy["merged"]["salesforce_id"] == master
    assert copy["merged"]["email"] == "grace@navy.example"  # the master's values
    assert f"merged into {master}" in results["merged"]["message"]
    for ecid, status in (
        ("deleted", "record-deleted"),
        ("unknown", "record-not-found"),
    ):
        assert copy[ecid]["salesforce_id"] is None
        assert not results[ecid]["success"]
        assert results[ecid]["status_code"] == status
    assert "is deleted" in results["deleted"]["message"]
    dlq = Topics(kafka_settings).dlq.name
    dead = read_topic(kafka_settings, dlq, expect=2, idle=0.5, timeout=30)
    assert sorted(r.headers["engage.errors.reason"] for r in dead) == [
        b"record-deleted",
        b"record-not-found",
    ]
    assert admin.stats()["records"].get("Lead") == 2  # nothing was created
    print(
        "\nadded with an id: live -> linked with Salesforce's values, converted -> "
        "its Contact, merged -> the master, deleted / unknown -> not linked "
        f"({', '.join(results[e]['status_code'] for e in ('deleted', 'unknown'))})"
    )


def test_lead_create_sends_the_mapped_fields_and_defaults_only(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    publish(
        kafka_settings,
        parse_document("""
objects:
  Lead:
    mapping:
      - {engage: last_name, salesforce: LastName}
      - {engage: first_name, salesforce: FirstName}
      - {engage: email, salesforce: Email}
      - {engage: company, salesforce: Company, default: Unknown}
      - {engage: title, salesforce: Title}
      - {engage: industry, salesforce: Industry, default: Technology}
      - {engage: city, salesforce: City}
      - {engage: do_not_call, salesforce: DoNotCall, default: "true"}
      - {engage: phone, salesforce: null}
sync_settings: {engage_created_contacts: create_lead}
"""),
        "test",
    )
    start_contact_sync(kafka_settings, sandbox_org, processes).act(
        [
            contact_event(
                "ADDED",
                "new",
                email="new@lead.example",
                first_name="Nia",
                last_name="New",
                title="CTO",
                phone="+1 415 555 0100",
            ),
        ],
    )

    results = _results(kafka_settings, {"new"})

    assert results["new"]["status_code"] == "CREATED"
    (created,) = admin.records("Lead")
    assert {
        k: created.get(k)
        for k in (
            "LastName",
            "FirstName",
            "Email",
            "Company",
            "Title",
            "Industry",
            "City",
            "Phone",
            "DoNotCall",
        )
    } == {
        "LastName": "New",
        "FirstName": "Nia",
        "Email": "new@lead.example",
        "Company": "Unknown",
        "Title": "CTO",
        "Industry": "Technology",
        "City": None,  # mapped, but Engage has no value and the row no default
        "Phone": None,  # Do Not Read/Write: matched on, never written
        "DoNotCall": True,  # Engage's text "true" sent as a checkbox's true
    }
    print(
        "\nLead create: mapped fields and defaults written (Industry=Technology); "
        "the Do Not Read/Write Phone was not"
    )


def test_settings_apply_refuses_create_lead_while_company_is_left_unfilled(
    kafka_settings: KafkaSettings, sandbox_org: Any, tmp_path: Path
) -> None:
    env = os.environ | kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    document = tmp_path / "crm.yaml"

    def apply(created: str) -> subprocess.CompletedProcess[str]:
        document.write_text(
            "objects:\n  Lead:\n    mapping:\n"
            "      - {engage: last_name, salesforce: LastName}\n"
            "      - {engage: first_name, salesforce: FirstName}\n"
            "      - {engage: company, salesforce: null}\n"
            f"sync_settings: {{engage_created_contacts: {created}}}\n"
        )
        return subprocess.run(
            cli_argv("settings", "apply", str(document)),
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = apply("create_lead")

    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"{document}: sync_settings.engage_created_contacts: create_lead needs Lead "
        "field 'Company' (required on create): map an Engage field to it or give it "
        "a default in objects.Lead.mapping"
    ]
    assert apply("none").returncode == 0  # nothing is created: nothing to fill
