"""`engage-sync produce` publishes JSON lines as Avro, nothing if any line is bad."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from tests.cli import run_verb
from tests.conftest import kafka_env
from tests.kafka_helpers import read_topic


def _line(event_id: str, **over: object) -> str:
    event = {
        "event_id": event_id,
        "occurred_at": "2024-05-01T12:00:00Z",
        "user_id": "u1",
        "contact": {"engage_contact_id": "ec-7", "salesforce_id": "003000000000001AAA"},
        "subject": "Intro",
        "call_result": "NO_ANSWER",
        "duration_seconds": 12,
    } | over
    return json.dumps(event)


def _produce(
    settings: KafkaSettings, topic: str, path: Path
) -> subprocess.CompletedProcess[str]:
    return run_verb("produce", topic, str(path), env=kafka_env(settings))


def test_valid_lines_are_published_as_avro_keyed_by_contact(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(_line(f"e{i}") for i in range(5)) + "\n")
    done = _produce(kafka_settings, "engage.dialer.calls", path)
    assert done.returncode == 0, done.stderr
    records = read_topic(kafka_settings, Topics(kafka_settings).calls.name, expect=5)
    assert sorted(
        Serde().decode("CallLogged", r.value)["event_id"] for r in records
    ) == [f"e{i}" for i in range(5)]
    assert {r.key for r in records} == {b"ec-7"}


def test_an_invalid_line_is_reported_by_number_and_nothing_is_published(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text(
        "\n".join(
            [
                _line("ok-1"),
                _line("bad", call_result="HUNG_UP"),
                "{not json",
                _line("ok-2"),
            ]
        )
    )
    done = _produce(kafka_settings, "engage.dialer.calls", path)
    assert done.returncode == 1
    assert "line 2:" in done.stderr and "line 3:" in done.stderr
    assert "nothing was published" in done.stderr
    assert read_topic(kafka_settings, Topics(kafka_settings).calls.name, idle=2) == []
