"""The API Engage reads through, against the sandbox org over HTTPS and a real
broker: a linked Lead's current fields, a cached second read that costs no API
call (counted by the sandbox's usage), a budget refusal with the cached copy, and
Engage's copy followed (a removed contact is unknown)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from engage_sync.console.app import create_app
from engage_sync.console.crm import Crm
from engage_sync.console.reads import Reads
from engage_sync.console.server import reads_source
from ground.settings import KafkaSettings, SalesforceSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import salesforce_env
from tests.unit.test_console_reads import AUTH
from tests.unit.test_console_security import _settings, _status
from tests.waiting import wait_until


def _linked_lead(kafka: KafkaSettings, admin: SandboxAdmin) -> tuple[str, str]:
    """A Lead in the org and an Engage contact linked to it: (engage id, Lead id)."""
    (lead,) = admin.put_records(
        "Lead",
        [
            {
                "LastName": "Reads",
                "Company": "Acme",
                "Title": "VP Sales",
                "Street": "1 Secret Way",  # Do Not Read/Write in the default table
            }
        ],
    )["ids"]
    contact = {
        "engage_contact_id": f"ec-{uuid.uuid4().hex[:8]}",
        "salesforce_id": lead,
        "salesforce_object": "Lead",
        "last_name": "Reads",
        "updated_at": datetime.now(UTC),
    }
    producer = AckingProducer(kafka)
    producer.produce(
        Topics(kafka).contacts.name,
        Serde.for_kafka(kafka).encode("EngageContact", contact),
        contact["engage_contact_id"].encode(),
    )
    producer.flush()
    return contact["engage_contact_id"], lead


@contextmanager
def _console(kafka: KafkaSettings, org: Any, **env: str) -> Iterator[TestClient]:
    """The console app in-process, reading through the org; its followers stopped."""
    settings = _settings(**env)
    crm = Crm(kafka, SalesforceSettings(**salesforce_env(org)))
    reads = reads_source(settings, crm)
    assert isinstance(reads, Reads)
    try:
        yield TestClient(create_app(settings, _status, crm, reads=reads), headers=AUTH)
    finally:
        reads.stop()


def test_a_linked_lead_is_read_once_and_answered_again_from_the_cache(
    kafka_settings: KafkaSettings, sandbox_org: Any
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    engage_id, lead = _linked_lead(kafka_settings, admin)
    with _console(
        kafka_settings, sandbox_org, CONSOLE_RECORD_CACHE_SECONDS="3600"
    ) as client:
        first = client.get(f"/api/v1/contacts/{engage_id}/salesforce")
        assert first.status_code == 200, first.text
        values = {f["salesforce"]: f["value"] for f in first.json()["fields"]}
        assert values["LastName"] == "Reads" and values["Title"] == "VP Sales"
        assert first.json()["salesforce_id"] == lead
        assert "Street" not in values and "Secret" not in first.text
        calls = admin.api_calls()

        admin.put_records("Lead", [{"Id": lead, "Title": "CEO"}])
        second = client.get(f"/api/v1/contacts/{engage_id}/salesforce")
        assert second.status_code == 200
        assert {f["salesforce"]: f["value"] for f in second.json()["fields"]} == values
        assert admin.api_calls() == calls  # the cached copy cost no API call

        subject = client.get("/api/v1/picklists/task-subject").json()
        assert subject["picklist"] is True
        assert "Call" in [v["value"] for v in subject["values"]]
        assert client.get("/api/v1/contacts/ec-nobody/salesforce").status_code == 404

        # Engage's copy is followed: a contact removed from it is unknown at once.
        producer = AckingProducer(kafka_settings)
        producer.produce(Topics(kafka_settings).contacts.name, None, engage_id.encode())
        producer.flush()
        path = f"/api/v1/contacts/{engage_id}/salesforce"
        wait_until(
            lambda: client.get(path).status_code == 404, 30, what="the removal seen"
        )


def test_a_spent_budget_answers_429_with_retry_after_and_the_cached_copy(
    kafka_settings: KafkaSettings, sandbox_org: Any
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    engage_id, _ = _linked_lead(kafka_settings, admin)
    # Two calls a day: after the first read, our half share is spent.
    admin.set_limit(daily_api_limit=2, reset_usage=True)
    with _console(
        kafka_settings, sandbox_org, CONSOLE_RECORD_CACHE_SECONDS="0"
    ) as client:
        assert client.get(f"/api/v1/contacts/{engage_id}/salesforce").status_code == 200
        calls = admin.api_calls()
        refused = client.get(f"/api/v1/contacts/{engage_id}/salesforce")
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert int(refused.headers["age"]) >= 0
        body = refused.json()
        assert body["cached"]["fields"][0]["value"] == "Reads"
        assert body["cached_age_seconds"] is not None
        assert admin.api_calls() == calls  # refused before calling
