"""Engage -> Salesforce contacts: match first, never duplicate, the two write-backs."""

# ruff: noqa: E501

from __future__ import annotations

import random
import urllib.request
from collections import Counter
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.kafka.embedded import free_port
from connectors.kafka.serde import Serde
from connectors.kafka.settings_topic import publish
from connectors.kafka.topics import Topics
from domain.contacts.normalize import name_phone_key, normalize_email, normalize_phone
from domain.crm_settings.document import parse_document
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes
from tests.contact_sync import start_contact_sync
from tests.factories import contact_event
from tests.inbound_harness import engage_copy
from tests.waiting import wait_until


def _settings(kafka: KafkaSettings, created: str, extra: str = "") -> None:
    doc = f"""
objects:
  Lead:
    mapping:
      - {{engage: last_name, salesforce: LastName}}
      - {{engage: first_name, salesforce: FirstName, direction: bidirectional_most_recent}}
      - {{engage: company, salesforce: Company, default: Unknown}}
      - {{engage: email, salesforce: Email}}
      - {{engage: phone, salesforce: Phone}}
      - {{engage: status, salesforce: Status, direction: bidirectional_most_recent}}
      - {{engage: email_opt_out, salesforce: HasOptedOutOfEmail, direction: bidirectional_most_recent}}
    status_values: {{Working: Working - Contacted}}
  Contact:
    mapping:
      - {{engage: last_name, salesforce: LastName}}
      - {{engage: first_name, salesforce: FirstName}}
      - {{engage: email, salesforce: Email}}
      - {{engage: phone, salesforce: Phone}}
      - {{engage: email_opt_out, salesforce: HasOptedOutOfEmail, direction: bidirectional_most_recent}}
sync_settings:
  engage_created_contacts: {created}
{extra}
"""
    publish(kafka, parse_document(doc), "test")


def _people(admin: SandboxAdmin) -> list[dict[str, Any]]:
    return [r | {"_type": "Lead"} for r in admin.records("Lead")] + [
        r | {"_type": "Contact"} for r in admin.records("Contact")
    ]


def _adds(
    existing: list[dict[str, Any]], rng: random.Random
) -> tuple[list[dict], dict[str, str]]:
    """300 adds of existing people, 100 new people added twice, 500 new people once."""
    events, expect_link = [], {}
    counts = Counter(normalize_email(r.get("Email")) for r in existing)
    keys = Counter(
        name_phone_key(r.get("FirstName"), r["LastName"], r.get("Phone"))
        for r in existing
    )
    by_email = [
        r
        for r in existing
        if r.get("Email") and counts[normalize_email(r["Email"])] == 1
    ]
    by_phone = [
        r for r in by_email
        if normalize_phone(r.get("Phone"))
        and keys[name_phone_key(r.get("FirstName"), r["LastName"], r.get("Phone"))] == 1
    ]
    phone_picks = rng.sample(by_phone, min(50, len(by_phone)))
    rest = [r for r in by_email if r not in phone_picks]
    picks = phone_picks + rng.sample(rest, 300 - len(phone_picks))
    for i, rec in enumerate(picks):
        ecid = f"ex-{i}"
        if rec in phone_picks:
            # No email: found by name + phone, written in a format unlike Salesforce's.
            events.append(contact_event(
                "ADDED", ecid, first_name=f" {(rec.get('FirstName') or '').upper()}",
                last_name=rec["LastName"].lower(), phone=normalize_phone(rec["Phone"]),
            ))
        else:
            email = f"  {rec['Email'].upper()} " if i % 2 else rec["Email"].lower()
            events.append(
                contact_event(
                    "ADDED",
                    ecid,
                    email=email,
                    first_name=rec.get("FirstName"),
                    last_name=rec["LastName"],
                )
            )
        expect_link[ecid] = rec["Id"]
    for i in range(100):
        for twin in ("a", "b"):
            events.append(
                contact_event(
                    "ADDED",
                    f"dup-{i}-{twin}",
                    email=f"twin{i}@new.example",
                    first_name="Twin",
                    last_name=f"T{i}",
                    company="NewCo",
                )
            )
    for i in range(500):
        events.append(
            contact_event(
                "ADDED",
                f"new-{i}",
                email=f"person{i}@new.example",
                first_name="New",
                last_name=f"P{i}",
                company="NewCo",
            )
        )
    rng.shuffle(events)
    return events, expect_link


@pytest.mark.parametrize("created", ["create_lead", "create_contact", "none"])
def test_added_contacts_are_matched_first_and_never_duplicated(
    created: str, kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.seed(leads=250, contacts=250, seed=21)
    before = _people(admin)
    _settings(kafka_settings, created)
    events, expect_link = _adds(before, random.Random(4))
    start_contact_sync(kafka_settings, sandbox_org, processes).act(events)

    want_linked = 1000 if created != "none" else 300

    def linked() -> int:
        return sum(
            1 for c in engage_copy(kafka_settings).values() if c["salesforce_id"]
        )

    wait_until(
        lambda: linked() >= want_linked, 240, interval=1.0, what=f"{want_linked} links"
    )
    after = _people(admin)
    new = [r for r in after if r["Id"] not in {b["Id"] for b in before}]
    copy = engage_copy(kafka_settings)
    wanted_type = {"create_lead": "Lead", "create_contact": "Contact"}.get(created)
    assert len(new) == (600 if wanted_type else 0)
    assert all(r["_type"] == wanted_type for r in new)
    per_email = Counter(normalize_email(r.get("Email")) for r in new)
    assert max(per_email.values(), default=1) == 1  # one record per new person
    for ecid, sf_id in expect_link.items():
        assert copy[ecid]["salesforce_id"] == sf_id
    by_email = {normalize_email(r.get("Email")): r["Id"] for r in new}
    for ecid, contact in copy.items():
        if ecid.startswith(("new-", "dup-")):
            assert contact["salesforce_id"] == by_email.get(
                normalize_email(contact["email"])
            )
    by_phone = sum(
        1
        for e in events
        if e["contact"]["engage_contact_id"].startswith("ex-")
        and not e["contact"].get("email")
    )
    print(
        f"\n[{created}] 1,000 adds (300 existing: {300 - by_phone} by email, "
        f"{by_phone} by "
        f"name+phone; 200 "
        f"twins; 500 new): Salesforce gained "
        f"{len(new)} {wanted_type or 'records'}; {linked()} Engage contacts linked; "
        f"max records per new email {max(per_email.values(), default=0)}"
    )


def test_duplicate_rules_link_and_validation_failures_are_reported_not_retried(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    from tests.kafka_helpers import read_topic

    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    contacts = admin.put_records(
        "Contact",
        [{"LastName": f"C{i}", "Email": f"known{i}@corp.example"} for i in range(20)],
    )["ids"]
    admin.set_rules(
        validation_rules=[
            {
                "object": "Lead",
                "name": "Phone_10_Digits",
                "active": True,
                "condition": {"kind": "min_digits", "field": "Phone", "digits": 10},
                "message": "Phone must hold at least 10 digits",
                "error_field": "Phone",
            }
        ],
        duplicate_rules=[
            {
                "object": "Lead",
                "name": "Lead_vs_Contact_Email",
                "action": "block",
                "match_objects": ["Lead", "Contact"],
                "match_field": "Email",
                "active": True,
            }
        ],
    )
    # Matching only looks at Leads, so the org's duplicate rule finds the Contacts.
    _settings(kafka_settings, "create_lead", "  match_order: [Lead]")
    dupes = [
        contact_event(
            "ADDED", f"d{i}", email=f"KNOWN{i}@corp.example", last_name=f"C{i}"
        )
        for i in range(20)
    ]
    invalid = [
        contact_event(
            "ADDED",
            f"v{i}",
            email=f"short{i}@x.example",
            last_name=f"V{i}",
            phone="555-01",
        )
        for i in range(10)
    ]
    metrics_port = free_port()
    sync = start_contact_sync(
        kafka_settings, sandbox_org, processes, {"METRICS_PORT": str(metrics_port)}
    )
    sync.act(dupes + invalid)
    dead = read_topic(
        kafka_settings, Topics(kafka_settings).dlq.name, expect=10, timeout=120
    )
    assert len(dead) == 10
    assert all(
        r.headers["engage.errors.reason"] == b"FIELD_CUSTOM_VALIDATION_EXCEPTION"
        for r in dead
    )
    assert all(
        b"Phone must hold at least 10 digits"
        in r.headers["__connect.errors.exception.message"]
        for r in dead
    )
    scraped = urllib.request.urlopen(
        f"http://127.0.0.1:{metrics_port}/metrics", timeout=5
    ).read().decode()
    rejected = [
        s.value
        for family in text_string_to_metric_families(scraped)
        for s in family.samples
        if s.name == "engage_sync_salesforce_rejected_total"
        and s.labels == {"object": "Lead", "code": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    ]
    assert rejected == [10.0]
    copy = wait_until(
        lambda: (
            (c := engage_copy(kafka_settings))
            and sum(1 for k, v in c.items() if k.startswith("d") and v["salesforce_id"])
            == 20
            and c
        ),
        120,
        what="20 links through the duplicate rule",
    )
    assert {copy[f"d{i}"]["salesforce_id"] for i in range(20)} == set(contacts)
    assert all(copy[f"v{i}"]["salesforce_id"] is None for i in range(10))
    assert admin.stats()["records"].get("Lead", 0) == 0
    print(
        f"\nduplicate rule: 20 of 20 linked to existing Contacts; "
        f"validation: 10 of 10 reported "
        f"with the rule's message, {len(dead)} dead letters, 0 Leads created"
    )


def test_ambiguous_matches_converted_leads_and_account_association(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    from tests.kafka_helpers import read_topic

    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    older, newer = admin.put_records("Contact", [
        {"LastName": "Twin", "Email": "same@corp.example",
         "SystemModstamp": "2024-01-01T00:00:00.000+0000"},
        {"LastName": "Twin", "Email": "same@corp.example",
         "SystemModstamp": "2024-06-01T00:00:00.000+0000"},
    ])["ids"]
    (converted,) = admin.put_records(
        "Lead", [{"LastName": "Conv", "Company": "X", "Email": "conv@corp.example"}]
    )["ids"]
    admin.put_records("Lead", convert=[{"lead_id": converted}])
    converted_contact = next(
        r["ConvertedContactId"] for r in admin.records("Lead") if r["Id"] == converted
    )
    # A decoy whose website merely ends with the domain must not be chosen.
    _decoy, acme = admin.put_records(
        "Account",
        [
            {"Name": "Not Acme", "Website": "https://notacme.example"},
            {"Name": "Acme Corp", "Website": "https://www.acme.example/about"},
        ],
    )["ids"]
    # Leads first: the converted Lead would win if it were not skipped.
    _settings(kafka_settings, "create_contact", "  match_order: [Lead, Contact]")
    start_contact_sync(kafka_settings, sandbox_org, processes).act(
        [
            contact_event("ADDED", "amb", email="same@corp.example", last_name="Twin"),
            contact_event(
                "ADDED", "conv", email="conv@corp.example", last_name="Conv"
            ),
            contact_event(
                "ADDED",
                "byname",
                email="new1@other.example",
                last_name="N1",
                company="Acme Corp",
            ),
            contact_event(
                "ADDED",
                "bydomain",
                email="new2@acme.example",
                last_name="N2",
                company="Unknown Co",
            ),
        ],
    )
    copy = wait_until(
        lambda: (
            (c := engage_copy(kafka_settings))
            and all(
                c.get(k, {}).get("salesforce_id")
                for k in ("amb", "conv", "byname", "bydomain")
            )
            and c
        ),
        120,
        what="4 links",
    )
    assert copy["amb"]["salesforce_id"] == newer  # the most recently modified wins
    assert (
        copy["conv"]["salesforce_id"] == converted_contact
    )  # never the converted Lead
    serde = Serde()
    results = [
        serde.decode("WriteResult", r.value)
        for r in read_topic(
            kafka_settings, Topics(kafka_settings).results.name, idle=1.5
        )
    ]
    ambiguous = [r for r in results if r["status_code"] == "ambiguous-match"]
    assert [sorted(r["candidates"]) for r in ambiguous] == [sorted([older, newer])]
    accounts = {r["Id"]: r.get("AccountId") for r in admin.records("Contact")}
    assert accounts[copy["byname"]["salesforce_id"]] == acme
    assert accounts[copy["bydomain"]["salesforce_id"]] == acme
