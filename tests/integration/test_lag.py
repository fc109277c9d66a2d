"""`engage-sync lag`: lag in messages and seconds, right even after batched produces."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from connectors.kafka import clients
from connectors.kafka import config as kafka_config
from connectors.kafka.clients import AckingProducer, ensure_topics
from connectors.kafka.lag import group_lag
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics, TopicSpec
from domain.commands import TaskUpsert
from engage_sync.commands.lag import COLUMNS
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from streams.activity.formatting import call_to_task
from tests.conftest import REPO, Processes, kafka_env, salesforce_env
from tests.factories import call_event, contact_ref
from tests.kafka_helpers import is_tansu
from tests.waiting import wait_until


def _lag_cli(settings: KafkaSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv("lag", *args),
        env=os.environ | kafka_env(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _lag_json(settings: KafkaSettings, *args: str) -> dict[str, dict[str, Any]]:
    """Groups by id from `engage-sync lag --json`."""
    done = _lag_cli(settings, "--json", *args)
    assert done.returncode == 0, done.stderr
    return {g["group"]: g for g in json.loads(done.stdout)["groups"]}


def _one_batch_topic(settings: KafkaSettings, ages: list[float]) -> str:
    """A 1-partition topic holding one record per age (seconds old), in ONE batch."""
    topic = f"{settings.topic_prefix}lag.batch"
    ensure_topics(settings, [TopicSpec(topic, 1, None, "none")])
    producer = AckingProducer(settings, **{"linger.ms": 1000})
    now_ms = int(time.time() * 1000)
    for i, age in enumerate(ages):
        producer.produce(topic, b"v%d" % i, timestamp_ms=now_ms - int(age * 1000))
    producer.flush()
    return topic


def _commit(settings: KafkaSettings, group: str, offsets: list[TopicPartition]) -> None:
    consumer = Consumer(
        {**kafka_config.librdkafka(settings), "group.id": group}
    )
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


def _list_offsets_end(settings: KafkaSettings, topic: str) -> int:
    consumer = Consumer(
        {**kafka_config.librdkafka(settings), "group.id": "unused"}
    )
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, 0))[1])
    finally:
        consumer.close()


@pytest.mark.tansu  # lag of a multi-record batch (Tansu ListOffsets is wrong there)
def test_lag_counts_every_record_of_one_batch_and_ages_the_committed_one(
    kafka_settings: KafkaSettings,
) -> None:
    # Record i is (100 - i) s old, so the age tells which record was measured.
    topic = _one_batch_topic(kafka_settings, [100.0 - i for i in range(10)])
    _commit(
        kafka_settings, kafka_settings.group("replay"), [TopicPartition(topic, 0, 3)]
    )

    (replay,) = group_lag(kafka_settings, "replay")

    assert replay.group == kafka_settings.group("replay")
    assert replay.state == "Empty"
    assert replay.members == 0
    (part,) = replay.partitions
    assert (part.topic, part.partition, part.committed) == (topic, 0, 3)
    assert (part.end, part.lag) == (10, 7)
    assert part.lag_seconds is not None and 97 <= part.lag_seconds < 97 + 30
    assert (replay.total_lag, replay.max_lag_seconds) == (7, part.lag_seconds)
    print(
        f"\n10 records in one batch, committed at 3: lag {part.lag} "
        f"(ListOffsets says the end is {_list_offsets_end(kafka_settings, topic)}, "
        f"the fetch says {part.end}), {part.lag_seconds:.1f} s behind"
    )


def test_lag_group_option_takes_a_role_or_a_full_id_and_the_table_has_headers(
    kafka_settings: KafkaSettings,
) -> None:
    topic = _one_batch_topic(kafka_settings, [5.0] * 4)
    _commit(
        kafka_settings, kafka_settings.group("replay"), [TopicPartition(topic, 0, 1)]
    )
    _commit(
        kafka_settings, kafka_settings.group("poller"), [TopicPartition(topic, 0, 4)]
    )
    replay, poller = kafka_settings.group("replay"), kafka_settings.group("poller")

    assert set(_lag_json(kafka_settings)) == {replay, poller}
    by_role = _lag_json(kafka_settings, "--group", "replay")
    assert set(by_role) == {replay}
    assert by_role[replay]["total_lag"] == 3
    by_id = _lag_json(kafka_settings, "--group", poller)
    assert set(by_id) == {poller}
    assert by_id[poller]["total_lag"] == 0
    assert by_id[poller]["partitions"][0]["lag_seconds"] == 0

    table = _lag_cli(kafka_settings)
    assert table.returncode == 0, table.stderr
    for header in COLUMNS:
        assert header in table.stdout
    assert replay in table.stdout and poller in table.stdout

    unknown = _lag_cli(kafka_settings, "--group", "nope")
    assert unknown.returncode == 1
    assert kafka_settings.group("nope") in unknown.stderr and replay in unknown.stderr


def _task_commands(people: list[str], count: int) -> list[tuple[bytes, dict[str, Any]]]:
    """Task upserts as the activity agent writes them, keyed by the parent record."""
    out = []
    for i in range(count):
        who = people[i % len(people)]
        event = call_event(contact=contact_ref(salesforce_id=who))
        draft = call_to_task(event).draft
        command = TaskUpsert.for_activity(
            draft.event_id, draft.to_sobject(), event["occurred_at"]
        )
        out.append((who.encode(), command.to_avro()))
    return out


def _publish(settings: KafkaSettings, commands: list[tuple[bytes, dict]]) -> None:
    topic, serde = Topics(settings).commands.name, Serde()
    producer = AckingProducer(settings)
    for key, command in commands:
        producer.produce(topic, serde.encode("SalesforceCommand", command), key)
    producer.flush()


@pytest.fixture
def admin(sandbox_org: Any) -> SandboxAdmin:
    return SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)


def test_writer_lag_shows_commands_published_while_it_was_down_then_drains(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    processes: Processes,
) -> None:
    flowing, while_down = 12, 9
    people = admin.put_records("Contact", [{"LastName": f"Lag{i}"} for i in range(8)])[
        "ids"
    ]
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    writer = processes.start("writer", env)
    writer_group = kafka_settings.group("writer")

    def tasks(n: int) -> bool:
        assert writer.popen.poll() is None, writer.output()[-2000:]
        return admin.stats()["records"].get("Task", 0) == n

    _publish(kafka_settings, _task_commands(people, flowing))
    wait_until(lambda: tasks(flowing), 60, what="the first Tasks")
    wait_until(
        lambda: group_lag(kafka_settings, "writer")[0].total_lag == 0,
        30,
        what="the writer's commits",
    )
    assert processes.stop(writer) == 0, writer.output()[-2000:]

    _publish(kafka_settings, _task_commands(people, while_down))
    stopped = _lag_json(kafka_settings)[writer_group]
    assert stopped["total_lag"] == while_down
    assert sum(p["lag"] for p in stopped["partitions"]) == while_down
    assert stopped["max_lag_seconds"] > 0
    assert stopped["state"] == "Empty" and stopped["members"] == 0

    restarted = processes.start("writer", env, name="writer-again")
    wait_until(
        lambda: (
            _lag_json(kafka_settings, "--group", "writer")[writer_group]["total_lag"]
            == 0
        ),
        60,
        interval=0.5,
        what="the writer's lag to drain",
    )
    assert restarted.popen.poll() is None, restarted.output()[-2000:]
    assert admin.stats()["records"].get("Task", 0) == flowing + while_down
    print(
        f"\nwriter stopped: lag {stopped['total_lag']} commands, "
        f"{stopped['max_lag_seconds']:.1f} s behind; drained after restart"
    )


def test_lag_names_each_partitions_member_and_its_ends_agree_with_list_offsets(
    kafka_settings: KafkaSettings,
) -> None:
    if is_tansu(kafka_settings):
        pytest.skip("Tansu describes a classic group with a stub (no members) and "
                    "answers ListOffsets(latest) with the last batch's base + 1")
    topic = _one_batch_topic(kafka_settings, [5.0] * 6)
    group = kafka_settings.group("replay")
    member = Consumer(
        kafka_config.librdkafka(kafka_settings)
        | {"group.id": group, "client.id": "lag-test-client",
           "session.timeout.ms": 6000, "auto.offset.reset": "earliest",
           "enable.auto.commit": False}  # fmt: skip
    )
    try:
        member.subscribe([topic])
        got = wait_until(lambda: member.consume(10, 0.5), 30, what="assignment")
        member.commit(offsets=[TopicPartition(topic, 0, got[0].offset() + 2)],
                      asynchronous=False)  # fmt: skip
        client = clients.admin(kafka_settings)  # kept: its futures die with it
        asked = {TopicPartition(topic, 0): OffsetSpec.latest()}
        (listed,) = client.list_offsets(asked, request_timeout=20).values()
        latest = listed.result(timeout=30).offset

        (lagging,) = group_lag(kafka_settings, "replay")
        table = _lag_cli(kafka_settings, "--group", "replay").stdout
        (shown,) = _lag_json(kafka_settings, "--group", "replay")[group]["partitions"]
        member_id = member.memberid()
    finally:
        member.close()

    (part,) = lagging.partitions
    assert (lagging.state, lagging.members) == ("Stable", 1)
    assert (part.consumer_id, part.client_id) == (member_id, "lag-test-client")
    assert part.host is not None and "127.0.0.1" in part.host
    assert (part.end, part.lag) == (latest, 4) == (6, 4)
    assert (shown["consumer_id"], shown["client_id"]) == (member_id, "lag-test-client")
    for text in ("CONSUMER-ID", "HOST", "CLIENT-ID", "lag-test-client"):
        assert text in table
