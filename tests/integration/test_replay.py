"""`engage-sync replay`: a time window goes through the live path again, only it."""

from __future__ import annotations

import os
import random
import re
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from connectors.kafka import clients
from connectors.kafka import config as kafka_config
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.commands import TaskUpsert
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from streams.activity.formatting import call_to_task
from tests.conftest import REPO, Processes, kafka_env, salesforce_env
from tests.factories import call_event, contact_ref
from tests.kafka_helpers import Record, read_topic
from tests.waiting import wait_until

PARTITIONS = 4
MINUTE_MS = 60_000
serde = Serde()


@pytest.fixture
def admin(sandbox_org: Any) -> SandboxAdmin:
    return SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)


@pytest.fixture
def people(admin: SandboxAdmin) -> list[str]:
    """Ids of 8 Contacts in the org."""
    admin.put_records(
        "Contact",
        [{"LastName": f"Replay{i}", "Email": f"r{i}@example.org"} for i in range(8)],
    )
    return [r["Id"] for r in admin.records("Contact")]


def _call(i: int, stamp_ms: int, people: list[str]) -> dict[str, Any]:
    return call_event(
        contact=contact_ref(
            engage_contact_id=f"ec-{i % len(people)}",
            salesforce_id=people[i % len(people)],
        ),
        occurred_at=datetime.fromtimestamp(stamp_ms / 1000, UTC),
        comments=f"call {i}",
    )


def _publish(
    settings: KafkaSettings, topic: str, items: list[tuple[int, int, bytes, bytes]]
) -> None:
    """(partition, timestamp, key, value), sent shuffled: timestamps not monotonic."""
    producer = clients.producer(settings)
    for partition, stamp, key, value in random.Random(7).sample(items, len(items)):
        producer.produce(
            topic, value=value, key=key, partition=partition, timestamp=stamp
        )
    assert producer.flush(30) == 0


def _committed(settings: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    """A group's committed offsets (OffsetFetch only: nobody joins the group)."""
    consumer = Consumer(
        {**kafka_config.librdkafka(settings), "group.id": group}
    )
    try:
        wanted = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp.partition: tp.offset for tp in consumer.committed(wanted, 10)}
    finally:
        consumer.close()


def _replay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        cli_argv("replay", *args),
        env=os.environ | env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _dry_run_counts(stdout: str) -> dict[int, int]:
    return {int(p): int(n) for p, n in re.findall(r"partition (\d+): (\d+)", stdout)}


def _task_results(settings: KafkaSettings) -> list[dict[str, Any]]:
    records = read_topic(settings, Topics(settings).results.name, idle=1.0)
    decoded = (serde.decode("WriteResult", r.value) for r in records)
    return [d for d in decoded if d["object"] == "Task"]


def _tasks(admin: SandboxAdmin) -> int:
    return int(admin.stats()["records"].get("Task", 0))


def _replay_offsets(records: list[Record], ids: set[str], schema: str) -> dict:
    """Per partition, the offset after the last window record: replay's commit."""
    last: dict[int, int] = {}
    for r in records:
        decoded = serde.decode(schema, r.value)
        if decoded.get("event_id", decoded.get("command_id")) in ids:
            last[r.partition] = max(last.get(r.partition, -1), r.offset + 1)
    return last


def test_replay_of_three_hours_of_calls_reprocesses_exactly_the_window(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
) -> None:
    topics = Topics(kafka_settings)
    now_ms = int(time.time()) * 1000
    start_ms = now_ms - 180 * MINUTE_MS  # one call a minute: now-3h .. now-1min
    calls = [(i % PARTITIONS, start_ms + i * MINUTE_MS) for i in range(180)]
    events = [_call(i, stamp, people) for i, (_, stamp) in enumerate(calls)]
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    _publish(
        kafka_settings,
        topics.calls.name,
        [
            (p, stamp, ev["contact"]["engage_contact_id"].encode(),
             serde.encode("CallLogged", ev))
            for (p, stamp), ev in zip(calls, events, strict=True)
        ],
    )
    wait_until(lambda: _tasks(admin) == 180, 120, what="180 Tasks")
    worker_group, writer_group = (kafka_settings.group(r) for r in ("worker", "writer"))
    wait_until(
        lambda: _committed(kafka_settings, worker_group, topics.calls.name)
        == {p: 45 for p in range(PARTITIONS)},
        60,
        what="the worker to commit every call",
    )
    # Calling a contact copies it into Engage's copy (a MATCH command) once; wait for
    # those copies so the replay's commands can be compared with the window exactly.
    wait_until(
        lambda: len(read_topic(kafka_settings, topics.contacts.name, idle=1.0)) >= 8,
        60,
        what="Engage's copy of the 8 contacts",
    )
    since_ms, until_ms = now_ms - 120 * MINUTE_MS, now_ms - 60 * MINUTE_MS
    in_window = [
        (p, ev) for (p, stamp), ev in zip(calls, events, strict=True)
        if since_ms <= stamp < until_ms
    ]
    window_ids = {ev["event_id"] for _, ev in in_window}
    assert len(in_window) == 60
    live_before = {
        g: _committed(kafka_settings, g, topics.calls.name)
        for g in (worker_group, writer_group)
    }
    commands_before = read_topic(kafka_settings, topics.commands.name, idle=1.5)
    results_before = len(_task_results(kafka_settings))
    assert results_before == 180
    # Naive ISO is read as UTC; the end carries its zone.
    since = datetime.fromtimestamp(since_ms / 1000, UTC).replace(tzinfo=None)
    until = datetime.fromtimestamp(until_ms / 1000, UTC)
    window = ["--topic", "engage.dialer.calls", "--since", since.isoformat(),
              "--until", until.isoformat()]

    dry = _replay(env, *window, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert _dry_run_counts(dry.stdout) == {
        p: sum(q == p for q, _ in in_window) for p in range(PARTITIONS)
    }
    assert sum(_dry_run_counts(dry.stdout).values()) == 60
    assert "nothing processed" in dry.stdout
    assert len(read_topic(kafka_settings, topics.commands.name, idle=1.5)) == len(
        commands_before
    )
    assert set(
        _committed(kafka_settings, kafka_settings.group("replay"), topics.calls.name)
        .values()
    ) == {-1001}, "a dry run commits nothing"

    run = _replay(env, *window)
    assert run.returncode == 0, run.stderr
    assert "re-processed 60 record(s)" in run.stdout, run.stdout
    seen = {(r.partition, r.offset) for r in commands_before}
    after = read_topic(
        kafka_settings, topics.commands.name, expect=len(commands_before) + 60
    )
    new = [
        serde.decode("SalesforceCommand", r.value)
        for r in after
        if (r.partition, r.offset) not in seen
    ]
    assert len(new) == 60
    assert Counter(c["command_id"] for c in new) == dict.fromkeys(window_ids, 1)
    assert {(c["operation"], c["sobject"]) for c in new} == {("UPSERT", "Task")}

    results = wait_until(
        lambda: (found := _task_results(kafka_settings)) and len(found) >= 240
        and found,
        90,
        what="the live writer to drain the replayed commands",
    )
    assert len(results) == 240
    of_window = [r for r in results if r["event_id"] in window_ids]
    assert all(r["success"] for r in of_window)
    assert Counter(r["created"] for r in of_window) == {True: 60, False: 60}
    assert _tasks(admin) == 180, "replayed Tasks are upserts: no new Task"
    assert {
        g: _committed(kafka_settings, g, topics.calls.name)
        for g in (worker_group, writer_group)
    } == live_before
    calls_read = read_topic(kafka_settings, topics.calls.name, expect=180)
    replay_group = _committed(
        kafka_settings, kafka_settings.group("replay"), topics.calls.name
    )
    assert {p: o for p, o in replay_group.items() if o >= 0} == _replay_offsets(
        calls_read, window_ids, "CallLogged"
    )
    print(f"\n{dry.stdout}{run.stdout}")


def _task_command(event: dict[str, Any]) -> dict[str, Any]:
    """A Task command as the activity agent writes it."""
    draft = call_to_task(event).draft
    return TaskUpsert.for_activity(
        draft.event_id, draft.to_sobject(), event["occurred_at"]
    ).to_avro()


@pytest.mark.tansu  # windows are found by scanning (Tansu time lookups answer 0)
def test_replay_of_commands_rewrites_the_window_through_the_writer(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
) -> None:
    topics = Topics(kafka_settings)
    now_ms = int(time.time() * 1000)
    # Ages of 1, 3, 5, ... 79 minutes: a relative window read a few seconds later
    # (replay's own "now") still holds the same commands.
    ages = [(2 * k + 1) * MINUTE_MS for k in range(40)]
    commands = [
        (k % PARTITIONS, now_ms - age, _task_command(_call(k, now_ms - age, people)))
        for k, age in enumerate(ages)
    ]
    _publish(
        kafka_settings,
        topics.commands.name,
        [
            (p, stamp, c["fields"]["WhoId"].encode(),
             serde.encode("SalesforceCommand", c))
            for p, stamp, c in commands
        ],
    )
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    writer = processes.start("writer", env)
    wait_until(lambda: _tasks(admin) == 40, 90, what="40 Tasks")
    assert processes.stop(writer) == 0, writer.output()[-2000:]
    writer_group = kafka_settings.group("writer")
    writer_before = _committed(kafka_settings, writer_group, topics.commands.name)
    assert writer_before == {p: 10 for p in range(PARTITIONS)}
    window_ids = {
        c["command_id"] for _, stamp, c in commands
        if now_ms - 30 * MINUTE_MS <= stamp < now_ms - 10 * MINUTE_MS
    }
    assert len(window_ids) == 10

    run = _replay(
        env, "--topic", "salesforce.commands", "--since", "-30m", "--until", "-10m"
    )
    assert time.time() * 1000 - now_ms < MINUTE_MS, "too slow for the age margins"
    assert run.returncode == 0, run.stderr
    assert "re-processed 10 record(s)" in run.stdout, run.stdout
    results = wait_until(
        lambda: (found := _task_results(kafka_settings)) and len(found) >= 50
        and found,
        30,
        what="the replay's results",
    )
    assert len(results) == 50
    of_window = [r for r in results if r["event_id"] in window_ids]
    assert all(r["success"] for r in of_window)
    assert Counter(r["created"] for r in of_window) == {True: 10, False: 10}
    assert _tasks(admin) == 40
    assert _committed(kafka_settings, writer_group, topics.commands.name) == (
        writer_before
    ), "the live writer's group is untouched"
    replay_group = _committed(
        kafka_settings, kafka_settings.group("replay"), topics.commands.name
    )
    assert {p: o for p, o in replay_group.items() if o >= 0} == _replay_offsets(
        read_topic(kafka_settings, topics.commands.name, expect=40),
        window_ids,
        "SalesforceCommand",
    )


def test_replay_refuses_other_topics_and_names_the_supported_ones(
    kafka_settings: KafkaSettings,
) -> None:
    run = _replay(
        kafka_env(kafka_settings), "--topic", "engage.dlq", "--since", "-1h"
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "engage-sync: cannot replay engage.dlq: replay supports engage.dialer.calls, "
        "engage.email.events, salesforce.commands (dead letters are replayed with "
        "`engage-sync dlq resubmit`)"
    ]
