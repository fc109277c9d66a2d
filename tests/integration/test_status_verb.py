"""`engage-sync status --json`: the Connection page's data from a real org and
broker, read without writing anything."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from connectors.salesforce.cursor import Cursor, CursorStore
from ground.settings import KafkaSettings
from tests.cli import run_verb
from tests.conftest import kafka_env, salesforce_env
from tests.integration.test_read_only_verbs import census


def _seed(kafka: KafkaSettings) -> None:
    """One user connection, one dead letter and one poll cursor."""
    topics, serde = Topics(kafka), Serde.for_kafka(kafka)
    producer = AckingProducer(kafka)
    event = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "user_id": "u-42",
        "action": "CONNECTED",
        "salesforce_user_id": "0055e000000000AAAA",
    }
    producer.produce(topics.users.name, serde.encode("UserEvent", event), b"u-42")
    producer.produce(
        topics.dlq.name,
        b"\x00garbage",
        b"c1",
        headers=[
            ("__connect.errors.topic", topics.calls.name.encode()),
            ("__connect.errors.partition", b"0"),
            ("__connect.errors.offset", b"7"),
            ("engage.errors.reason", b"undecodable"),
        ],
    )
    producer.flush()
    CursorStore(kafka).save(Cursor("Lead", "incremental", 1_700_000_000_000, "00Q1"))


def _status(kafka: KafkaSettings, org: Any) -> subprocess.CompletedProcess[str]:
    return run_verb("status", "--json", env=kafka_env(kafka) | salesforce_env(org))


def test_status_json_shows_org_users_polls_and_dead_letters_and_writes_nothing(
    kafka_settings: KafkaSettings, sandbox_org: Any
) -> None:
    _seed(kafka_settings)
    creds = json.loads((sandbox_org.data_dir / "credentials.json").read_text())
    before = census(kafka_settings)

    done = _status(kafka_settings, sandbox_org)

    assert done.returncode == 0, done.stderr[-2000:]
    status = json.loads(done.stdout)
    assert status["errors"] == {}
    assert status["org"]["org_id"] == creds["org_id"]
    assert status["org"]["integration_user"] == creds["username"]
    assert status["org"]["edition"] == "Enterprise Edition"
    assert {p["object"] for p in status["permissions"]} == {
        "Lead",
        "Contact",
        "Account",
        "Task",
    }
    assert all(p["read"] and p["create"] and p["edit"] for p in status["permissions"])
    assert status["api"]["org_limit"] == sandbox_org.daily_api_limit
    assert status["api"]["our_allowance"] == sandbox_org.daily_api_limit // 2
    assert [(u["user_id"], u["action"]) for u in status["users"]] == [
        ("u-42", "CONNECTED")
    ]
    assert [(p["object"], p["kind"], p["last_id"]) for p in status["polls"]] == [
        ("Lead", "incremental", "00Q1")
    ]
    assert [(d["reason"], d["count"]) for d in status["dead_letters"]] == [
        ("undecodable", 1)
    ]
    after = census(kafka_settings)
    assert before.grown(after) == {} and before.groups == after.groups


def test_status_names_the_part_it_could_not_read_and_exits_1(
    kafka_settings: KafkaSettings, sandbox_org: Any
) -> None:
    sandbox_org.stop()  # the org is gone; Kafka still answers

    done = _status(kafka_settings, sandbox_org)

    assert done.returncode == 1
    status = json.loads(done.stdout)
    assert "salesforce" in status["errors"]
    assert status["dead_letters"] == [] and "dead_letters" not in status["errors"]
