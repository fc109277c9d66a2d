"""A batch the worker cannot finish is redone after the outage, never acknowledged.

Real faults: the test's own Apache Kafka broker killed under a working worker (its
outputs time out after a short `KAFKA_MESSAGE_TIMEOUT_MS`), and a Schema Registry
answering 500. After recovery every event of the affected batches has its Task command.
Duplicates are allowed: a command is an upsert by `Engage_Activity_Id__c`, so the
writer turns twins into one Task.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from connectors.kafka import config as kafka_config
from connectors.kafka.clients import AckingProducer, DeliveryFailed
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from sandbox.registry import RegistryStandIn
from tests.brokers import ApacheKafka, BrokerUnavailable, in_ci
from tests.conftest import (
    Proc,
    Processes,
    fresh_namespace,
    kafka_env,
    salesforce_env,
)
from tests.factories import call_event, contact_ref, seed_people
from tests.markers import read_to_end
from tests.reliability.checker import expected_task
from tests.reliability.traffic import Event, Publisher, activity_events
from tests.waiting import wait_until

PEOPLE = [f"{'003' if i % 2 else '00Q'}{i:012d}AAA" for i in range(20)]
# Outputs fail 3 s after the broker went away: shorter than the outage.
OUTAGE_ENV = {"KAFKA_MESSAGE_TIMEOUT_MS": "3000", "WORKER_BATCH_SIZE": "50"}
# Enough that batches are surely in flight at the kill (8,000 were not, on main).
BURST = 20_000
REDONE = "none of it is acknowledged, redoing it"


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[ApacheKafka]:
    """An Apache Kafka of this test alone, so it can be killed and restarted."""
    broker = ApacheKafka(tmp_path / "own-kafka")
    try:
        broker.start()
    except BrokerUnavailable as exc:
        if in_ci():
            pytest.fail(f"Apache Kafka is required under CI=true: {exc}")
        pytest.skip(f"Apache Kafka tier skipped: {exc}")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def registry() -> Iterator[RegistryStandIn]:
    with RegistryStandIn() as stand_in:
        yield stand_in


def _task_commands(
    settings: KafkaSettings, serde: Serde
) -> dict[str, list[dict[str, Any]]]:
    """Task commands on `salesforce.commands` (to each partition's end), by event id."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in read_to_end(settings, Topics(settings).commands.name):
        command = serde.decode("SalesforceCommand", record.value)
        if command["sobject"] == "Task":
            found[command["command_id"]].append(command)
    return found


def _assert_each_event_became_its_command(
    settings: KafkaSettings, serde: Serde, events: Sequence[Event], timeout: float
) -> None:
    want = {ev["event_id"]: expected_task(schema, ev) for schema, ev in events}

    def missing() -> list[str]:
        commands = _task_commands(settings, serde)
        return [e for e in want if e not in commands]

    wait_until(
        lambda: not missing() or None,
        timeout,
        interval=1.0,
        what=f"a Task command for each of {len(want)} events (lost: {missing()[:5]})",
    )
    commands = _task_commands(settings, serde)
    assert set(commands) == set(want), "commands for events never sent"
    for event_id, fields in want.items():
        # Twins (a redone batch) are the same upsert: each must be the event's Task.
        for command in commands[event_id]:
            assert command["fields"] == fields, event_id


class _RecordCount:
    """How many records a topic holds, asked often (Apache Kafka's end offsets)."""

    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self._consumer = Consumer(
            {**kafka_config.librdkafka(settings), "group.id": "unused-test-reader"}
        )
        meta = self._consumer.list_topics(topic, timeout=10).topics[topic]
        self._partitions = [TopicPartition(topic, p) for p in meta.partitions]

    def now(self) -> int:
        return sum(
            self._consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1]
            for tp in self._partitions
        )

    def __enter__(self) -> _RecordCount:
        return self

    def __exit__(self, *_: object) -> None:
        self._consumer.close()


def _calls(tag: str, n: int) -> list[Event]:
    """`n` small calls to the Leads and Contacts of PEOPLE."""
    return [
        (
            "CallLogged",
            call_event(
                event_id=f"{tag}-{i}",
                contact=contact_ref(
                    engage_contact_id=f"ec-{i % 50}", salesforce_id=PEOPLE[i % 20]
                ),
                comments=f"{tag} call {i}",
            ),
        )
        for i in range(n)
    ]


def _dead_letters(settings: KafkaSettings) -> list[Any]:
    return read_to_end(settings, Topics(settings).dlq.name)


def _redone(worker: Proc) -> int:
    return worker.output().count(REDONE)


def _assert_redone_and_none_lost(
    settings: KafkaSettings,
    serde: Serde,
    events: Sequence[Event],
    worker: Proc,
    timeout: float,
) -> None:
    """The worker lived through the outage, redid a batch, and every event has its
    Task command with nothing dead-lettered."""
    _assert_each_event_became_its_command(settings, serde, events, timeout)
    assert worker.popen.poll() is None, worker.output()[-2000:]
    assert _redone(worker) >= 1
    assert _dead_letters(settings) == []


def _worker_past_warm_up(
    settings: KafkaSettings,
    registry: RegistryStandIn,
    processes: Processes,
    extra_env: dict[str, str] | None = None,
) -> tuple[Proc, Serde]:
    """A worker on `registry` that has parked one call, and the serde to feed it.

    A call for a contact without a Salesforce id is parked, which proves the worker
    is running while it has not yet registered SalesforceCommand.
    """
    env = kafka_env(settings) | {"SCHEMA_REGISTRY_URL": registry.url}
    worker = processes.start("worker", env | (extra_env or {}))
    serde, producer = Serde(registry.url), AckingProducer(settings)
    unlinked = call_event(contact=contact_ref(salesforce_id=None, email=None))
    topics = Topics(settings)
    producer.produce(
        topics.calls.name, serde.encode("CallLogged", unlinked), b"warm-up"
    )
    producer.flush()
    wait_until(
        lambda: read_to_end(settings, topics.parked.name),
        120,
        what="the warm-up call to be parked",
    )
    return worker, serde


@pytest.mark.timeout(420)
def test_batches_in_flight_when_the_broker_dies_are_redone_after_it_returns(
    own_kafka: ApacheKafka, processes: Processes
) -> None:
    settings = fresh_namespace(own_kafka.bootstrap)
    serde, publisher = Serde(), Publisher(settings)
    # The whole burst is in Kafka before the worker starts: it is still working
    # through it (in small batches, much of it fetched) when the broker disappears.
    burst = _calls("burst", BURST)
    for schema, ev in burst:
        publisher.send_event(schema, ev)
    publisher.flush()
    with _RecordCount(settings, Topics(settings).commands.name) as commands:
        worker = processes.start("worker", kafka_env(settings) | OUTAGE_ENV)
        wait_until(
            lambda: commands.now() >= BURST // 20,
            120,
            interval=0.02,
            what="the worker to be working through the burst",
        )
        own_kafka.kill()
    # Away for longer than KAFKA_MESSAGE_TIMEOUT_MS: a record produced now with the
    # worker's timeout fails too (a tombstone on a topic the worker never reads).
    probe = AckingProducer(settings.model_copy(update={"message_timeout_ms": 3000}))
    probe.produce(Topics(settings).poller_state.name, None, b"outage-probe")
    with pytest.raises(DeliveryFailed, match="_MSG_TIMED_OUT"):
        probe.flush(60)
    own_kafka.start()

    _assert_redone_and_none_lost(settings, serde, burst, worker, 180)


@pytest.mark.timeout(240)
def test_batches_during_a_schema_registry_outage_are_redone_after_it_recovers(
    kafka_settings: KafkaSettings, registry: RegistryStandIn, processes: Processes
) -> None:
    worker, serde = _worker_past_warm_up(
        kafka_settings, registry, processes, {"WORKER_BATCH_SIZE": "20"}
    )
    topics, producer = Topics(kafka_settings), AckingProducer(kafka_settings)

    traffic = activity_events(PEOPLE, 60, seed=72)
    # Encoded (and their schemas registered) before the outage: the worker then needs
    # the registry to encode its commands and to read the emails' schema id.
    values = [(schema, ev, serde.encode(schema, ev)) for schema, ev in traffic]
    registry.fail(500)
    for schema, ev, value in values:
        topic = topics.calls.name if schema == "CallLogged" else topics.emails.name
        producer.produce(topic, value, ev["contact"]["engage_contact_id"].encode())
    producer.flush()
    # Several refused requests: batches of both topics met the outage.
    wait_until(
        lambda: (
            sum(r.status == 500 for r in registry.requests) >= 6
            or worker.popen.poll() is not None
        ),
        120,
        what="the worker to meet the outage",
    )
    registry.recover()

    _assert_redone_and_none_lost(kafka_settings, serde, traffic, worker, 120)


@pytest.mark.timeout(240)
def test_a_batch_failing_for_good_stops_the_worker_unacknowledged_and_a_restart_redoes_it(  # noqa: E501
    kafka_settings: KafkaSettings, registry: RegistryStandIn, processes: Processes
) -> None:
    worker, serde = _worker_past_warm_up(kafka_settings, registry, processes)
    topics, producer = Topics(kafka_settings), AckingProducer(kafka_settings)

    # 409: the registry refuses SalesforceCommand as incompatible. Retrying cannot
    # help; the worker must stop rather than acknowledge the batch.
    traffic = _calls("refused", 30)
    values = [(ev, serde.encode(schema, ev)) for schema, ev in traffic]
    registry.fail(409)
    for ev, value in values:
        producer.produce(
            topics.calls.name, value, ev["contact"]["engage_contact_id"].encode()
        )
    producer.flush()
    code = wait_until(
        lambda: worker.popen.poll(), 90, what="the worker to stop on the refusal"
    )
    assert code == 3, worker.output()[-2000:]
    assert "could not process a batch" in worker.output()
    assert "activities_to_task_commands" in worker.output()

    registry.recover()
    env = kafka_env(kafka_settings) | {"SCHEMA_REGISTRY_URL": registry.url}
    restarted = processes.start("worker", env)
    _assert_each_event_became_its_command(kafka_settings, serde, traffic, 120)
    assert restarted.popen.poll() is None, restarted.output()[-2000:]


@pytest.mark.timeout(300)
def test_commands_read_during_a_schema_registry_outage_are_written_after_it_recovers(
    kafka_bootstrap: str,
    kafka_settings: KafkaSettings,
    registry: RegistryStandIn,
    processes: Processes,
    sandbox_org: Any,
) -> None:
    """The writer meets the outage decoding: it waits, it neither dies nor
    dead-letters the commands as undecodable, and writes each one afterwards."""
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    people = seed_people(admin, 5)
    serde = Serde(registry.url)
    # The worker makes real Task commands (in a namespace of their own).
    env = kafka_env(kafka_settings) | {"SCHEMA_REGISTRY_URL": registry.url}
    topics, producer = Topics(kafka_settings), AckingProducer(kafka_settings)
    worker = processes.start("worker", env)
    traffic = activity_events(people, 40, seed=73)
    for schema, ev in traffic:
        topic = topics.calls.name if schema == "CallLogged" else topics.emails.name
        key = ev["contact"]["engage_contact_id"].encode()
        producer.produce(topic, serde.encode(schema, ev), key)
    producer.flush()
    _assert_each_event_became_its_command(kafka_settings, serde, traffic, 120)
    commands = read_to_end(kafka_settings, topics.commands.name)
    processes.stop(worker)

    # A writer of another namespace, running, that has decoded no command yet: the
    # undecodable warm-up is dead-lettered without teaching it a schema id.
    writing = fresh_namespace(kafka_bootstrap)
    out = Topics(writing)
    writer = processes.start(
        "writer",
        kafka_env(writing)
        | {"SCHEMA_REGISTRY_URL": registry.url}
        | salesforce_env(sandbox_org),
    )
    to_writer = AckingProducer(writing)
    to_writer.produce(out.commands.name, b"warm-up: not a command", b"warm-up")
    to_writer.flush()
    wait_until(
        lambda: _dead_letters(writing) or writer.popen.poll() is not None,
        120,
        what="the writer to dead-letter the warm-up",
    )
    registry.fail(500)
    failed_before = sum(r.status == 500 for r in registry.requests)
    for record in commands:
        to_writer.produce(out.commands.name, record.value, record.key)
    to_writer.flush()
    wait_until(
        lambda: (
            # More than one lookup's worth: the registry client itself tries 4 times.
            sum(r.status == 500 for r in registry.requests) >= failed_before + 10
            or writer.popen.poll() is not None
        ),
        120,
        what="the writer to meet the outage",
    )
    assert writer.popen.poll() is None, writer.output()[-2000:]
    registry.recover()

    wait_until(
        lambda: admin.stats()["records"].get("Task", 0) >= len(traffic) or None,
        120,
        what=f"{len(traffic)} Tasks written after the outage",
    )
    assert admin.stats()["records"].get("Task", 0) == len(traffic)
    # Results and dead letters of a batch are flushed together: once every result
    # is in, a dead letter of these commands would be too.
    wait_until(
        lambda: len(read_to_end(writing, out.results.name)) >= len(commands) or None,
        60,
        what="a result for every command",
    )
    assert writer.popen.poll() is None, writer.output()[-2000:]
    assert [r.key for r in _dead_letters(writing)] == [b"warm-up"]
