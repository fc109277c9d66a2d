"""Each call/email becomes exactly one Salesforce Task; real broker, HTTPS sandbox."""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

import pytest

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from streams.activity.formatting import call_to_task, email_to_task
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.factories import (
    CALL_RESULTS,
    EMAIL_TYPES,
    call_event,
    contact_ref,
    email_event,
    seed_people,
)
from tests.kafka_helpers import read_topic
from tests.markers import dead_letters_past
from tests.waiting import wait_until


@pytest.fixture
def admin(sandbox_org: Any) -> SandboxAdmin:
    return SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)


@pytest.fixture
def people(admin: SandboxAdmin) -> list[str]:
    """Ids of 50 Contacts and 50 Leads in the org."""
    return seed_people(admin)


def _events(
    people: list[str], calls: int, emails: int, seed: int = 1
) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    out: list[tuple[str, dict]] = []
    for i in range(calls):
        result = CALL_RESULTS[i % len(CALL_RESULTS)]
        out.append(
            (
                "CallLogged",
                call_event(
                    contact=contact_ref(
                        engage_contact_id=f"ec-{i % 37}",
                        salesforce_id=rng.choice(people),
                    ),
                    call_result=result,
                    sentiment=rng.choice([None, "NEXT_STEP_BOOKED", "NO_FIT"]),
                    comments=rng.choice([None, f"comment {i}", "x" * 40_000]),
                    voicemail_title=rng.choice([None, f"vm {i}"]),
                    recording_url=rng.choice([None, f"https://rec.example.org/{i}"]),
                    duration_seconds=rng.randint(0, 3600),
                ),
            )
        )
    for i in range(emails):
        out.append(
            (
                "EmailEvent",
                email_event(
                    contact=contact_ref(
                        engage_contact_id=f"ec-{i % 41}",
                        salesforce_id=rng.choice(people),
                    ),
                    event_type=EMAIL_TYPES[i % len(EMAIL_TYPES)],
                    email_subject=rng.choice(["Quick question", "S" * 300]),
                    link_text=rng.choice([None, "Pricing page"]),
                    body=rng.choice([None, f"Hello {i}"]),
                ),
            )
        )
    return out


def _publish(settings: KafkaSettings, events: list[tuple[str, dict]]) -> None:
    topics, serde, producer = Topics(settings), Serde(), AckingProducer(settings)
    for schema, ev in events:
        topic = topics.calls.name if schema == "CallLogged" else topics.emails.name
        producer.produce(
            topic, serde.encode(schema, ev), ev["contact"]["engage_contact_id"].encode()
        )
    producer.flush()


def _expected(events: list[tuple[str, dict]]) -> dict[str, dict[str, Any]]:
    fmt = {"CallLogged": call_to_task, "EmailEvent": email_to_task}
    return {ev["event_id"]: fmt[s](ev).draft.to_sobject() for s, ev in events}


def _tasks(admin: SandboxAdmin) -> list[dict[str, Any]]:
    return admin.records("Task")


def _task_count(admin: SandboxAdmin, n: int) -> bool:
    return admin.stats()["records"].get("Task", 0) >= n


def test_calls_and_emails_become_exactly_one_task_each_even_when_published_twice(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
) -> None:
    events = _events(people, 500, 500)
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    _publish(kafka_settings, events)
    wait_until(lambda: _task_count(admin, 1000), 180, what="1,000 Tasks")

    expected = _expected(events)
    tasks = _tasks(admin)
    assert len(tasks) == 1000
    for task in tasks:
        want = expected[task["Engage_Activity_Id__c"]]
        got = {k: task.get(k) for k in want}
        assert got == want
        assert task["Status"] == "Completed"
    calls_made = admin.api_calls()

    _publish(kafka_settings, events)
    serde = Serde()

    def task_results() -> list[dict[str, Any]]:
        # Task results only: a contact's first activity also copies it to Engage's copy.
        records = read_topic(
            kafka_settings, Topics(kafka_settings).results.name, idle=1.5
        )
        decoded = (serde.decode("WriteResult", r.value) for r in records)
        return [d for d in decoded if d["object"] == "Task"]

    def all_results() -> list[dict[str, Any]] | None:
        found = task_results()
        return found if len(found) >= 2000 else None

    decoded = wait_until(all_results, 180, what="2,000 results")
    assert len(decoded) == 2000
    assert all(r["success"] for r in decoded), Counter(
        r["status_code"] for r in decoded
    )
    assert Counter(r["created"] for r in decoded) == {True: 1000, False: 1000}
    tasks_after = _tasks(admin)
    assert len(tasks_after) == 1000
    assert {t["Id"] for t in tasks_after} == {t["Id"] for t in tasks}
    # Past markers on every partition, not "until quiet": proof the reader got there.
    assert dead_letters_past(kafka_settings, people) == []
    print(
        f"\n1,000 events -> {len(tasks)} Tasks; "
        f"replay of 1,000 -> still {len(tasks_after)}; "
        f"API calls: first pass {calls_made}, total {admin.api_calls()}"
    )


def test_bad_messages_are_dead_lettered_and_everything_else_is_written(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
) -> None:
    topics, serde = Topics(kafka_settings), Serde()
    good = _events(people, 50, 50, seed=2)
    bad = [
        (topics.calls.name, os.urandom(100)),
        (topics.calls.name, serde.encode("EmailEvent", email_event())),
        (
            topics.calls.name,
            serde.encode("CallLogged", call_event(duration_seconds=-5)),
        ),
        (topics.emails.name, os.urandom(7)),
        (topics.emails.name, serde.encode("CallLogged", call_event())),
        (
            topics.emails.name,
            serde.encode(
                "EmailEvent",
                email_event(contact=contact_ref(salesforce_id="not-an-id")),
            ),
        ),
    ]
    producer = AckingProducer(kafka_settings)
    for topic, value in bad:
        producer.produce(topic, value, b"k")
    producer.flush()
    _publish(kafka_settings, good)
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)

    wait_until(lambda: _task_count(admin, 100), 180, what="100 Tasks")
    dead = read_topic(kafka_settings, topics.dlq.name, expect=len(bad))
    assert sorted(
        (r.headers["__connect.errors.topic"].decode(), r.value) for r in dead
    ) == sorted(bad)
    for record in dead:
        assert set(record.headers) >= {
            "__connect.errors.topic",
            "__connect.errors.partition",
            "__connect.errors.offset",
            "__connect.errors.exception.class.name",
            "__connect.errors.exception.message",
        }
    assert {t["Engage_Activity_Id__c"] for t in _tasks(admin)} == {
        ev["event_id"] for _, ev in good
    }


def test_writer_killed_mid_run_then_restarted_writes_every_task_exactly_once(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
) -> None:
    events = _events(people, 1000, 1000, seed=3)
    env = (
        kafka_env(kafka_settings)
        | salesforce_env(sandbox_org)
        | {"WRITER_BATCH_SIZE": "50"}
    )
    _publish(kafka_settings, events)
    processes.start("worker", env)
    writer = processes.start("writer", env, name="writer-1")
    wait_until(
        lambda: admin.stats()["records"].get("Task", 0) >= 300, 180, what="300 Tasks"
    )
    processes.kill9(writer)
    written_at_kill = admin.stats()["records"].get("Task", 0)
    assert written_at_kill < 2000, "the kill came too late to interrupt the run"
    processes.start("writer", env, name="writer-2")
    wait_until(lambda: _task_count(admin, 2000), 240, what="2,000 Tasks")

    tasks = _tasks(admin)
    ids = Counter(t["Engage_Activity_Id__c"] for t in tasks)
    assert len(tasks) == 2000
    assert max(ids.values()) == 1
    assert set(ids) == {ev["event_id"] for _, ev in events}
    # Past markers on every partition, not "until quiet": proof the reader got there.
    assert dead_letters_past(kafka_settings, people) == []
    print(
        f"\nkill -9 after {written_at_kill} Tasks; "
        f"after restart {len(tasks)} Tasks, 0 duplicates"
    )
