"""Reading commands and an idle worker restart write nothing: every topic's count holds.

`engage.users` belongs to Engage (we may only read it there) and `engage.contacts` is
a public contract topic, so a read that appended markers would break both. Each
check counts every record of every topic of the test's namespace (and its consumer
groups) before and after, by reading each partition to its Fetch-reported end.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.kafka.clients import AckingProducer, admin
from connectors.kafka.embedded import free_port
from connectors.kafka.ends import TopicReader
from connectors.kafka.lag import UnknownGroupError, group_lag
from connectors.kafka.serde import Serde
from connectors.kafka.settings_topic import publish
from connectors.kafka.snapshot import SENTINEL_PREFIX
from connectors.kafka.topics import Topics
from domain.crm_settings.document import parse_document
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from tests.conftest import (
    REPO,
    Processes,
    fresh_namespace,
    healthz,
    kafka_env,
    org_and_processes,
    salesforce_env,
)
from tests.factories import call_event, contact_ref
from tests.waiting import wait_until

EXAMPLE_SETTINGS = REPO / "engage_sync" / "examples" / "crm-settings.example.yaml"
GARBAGE_CALLS = 2  # undecodable: the worker dead-letters them


@dataclass(frozen=True)
class Census:
    """Every topic of one namespace with its record count and ends, and its groups."""

    counts: dict[str, int]
    ends: dict[str, dict[int, int]]
    groups: frozenset[str]

    def grown(self, later: Census) -> dict[str, tuple[int, int]]:
        return {
            t: (self.counts.get(t, 0), n)
            for t, n in later.counts.items()
            if n != self.counts.get(t, 0)
        }


def census(settings: KafkaSettings) -> Census:
    """Count records (not offsets) of every topic whose name starts with the
    namespace, faust's internal ones included; list the namespace's groups."""
    ns = settings.group_prefix
    client = admin(settings)
    groups = client.list_consumer_groups(request_timeout=20).result(timeout=30)
    with TopicReader.open(settings, isolation="read_uncommitted") as reader:
        names = sorted(t for t in reader.topics() if t.startswith(ns))
        ends = reader.ends(names)
        counts = dict.fromkeys(names, 0)
        for msg in reader.read_to(ends):
            counts[msg.topic() or ""] += 1
    by_topic: dict[str, dict[int, int]] = {t: {} for t in names}
    for (t, p), end in ends.items():
        by_topic[t][p] = end
    mine = frozenset(g.group_id for g in groups.valid if ns in g.group_id)
    return Census(counts, by_topic, mine)


@dataclass
class Namespace:
    settings: KafkaSettings
    env: dict[str, str]
    email: str
    metrics_port: int


def _ready_worker(processes: Processes, ns: Namespace, name: str) -> None:
    """Start the worker and wait until it loaded its state (where sentinels used to
    be written) and faust reports it is running."""
    worker = processes.start("worker", ns.env, name=name)

    def ready() -> bool:
        assert worker.popen.poll() is None, worker.output()[-3000:]
        return bool(healthz(ns.metrics_port).get("ready")) and (
            "[^Worker]: Ready" in worker.output()  # faust's line at INFO
        )

    wait_until(ready, 90, interval=0.5, what=f"{name} ready")
    assert processes.stop(worker) == 0, worker.output()[-3000:]


def _seed(settings: KafkaSettings) -> str:
    """Settings, contacts, a user, calls (two undecodable) and old-style sentinels."""
    topics, serde = Topics(settings), Serde()
    publish(settings, parse_document(EXAMPLE_SETTINGS.read_text(), "example"), "ex")
    producer = AckingProducer(settings)
    now = datetime.now(UTC)
    email = f"ro-{uuid.uuid4().hex[:6]}@example.com"
    for i in range(3):
        contact = {
            "engage_contact_id": f"ec-ro-{i}",
            "salesforce_id": f"003RO{i:013d}",
            "salesforce_object": "Contact",
            "email": email if i == 0 else f"other{i}@example.com",
            "last_name": f"ReadOnly{i}",
            "updated_at": now,
        }
        producer.produce(
            topics.contacts.name,
            serde.encode("EngageContact", contact),
            contact["engage_contact_id"].encode(),
        )
    user = {"event_id": "ue-1", "occurred_at": now, "user_id": "u-ro",
            "action": "CONNECTED", "salesforce_user_id": "005RO0000000001"}  # fmt: skip
    producer.produce(topics.users.name, serde.encode("UserEvent", user), b"u-ro")
    for i in range(3):
        event = call_event(contact=contact_ref(salesforce_id=f"003RO{i:013d}"))
        value = serde.encode("CallLogged", event)
        producer.produce(topics.calls.name, value, b"c%d" % i)
    for i in range(GARBAGE_CALLS):
        producer.produce(topics.calls.name, b"\x00not avro %d" % i, b"bad%d" % i)
    # What earlier versions left behind: harmless to every reader now.
    for topic in (topics.contacts.name, topics.users.name, topics.settings.name):
        producer.produce(topic, None, SENTINEL_PREFIX + b"old")
    producer.flush()
    return email


@pytest.fixture(scope="module")
def namespace(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Namespace]:
    """A namespace the worker has run over once: commands, parked or dead letters."""
    settings = fresh_namespace(kafka_bootstrap)
    with org_and_processes(tmp_path_factory.mktemp("read-only")) as (org, procs):
        port = free_port()
        env = kafka_env(settings) | salesforce_env(org)
        env |= {"METRICS_PORT": str(port), "WORKER_LOGLEVEL": "INFO"}
        space = Namespace(settings, env | {"COLUMNS": "200"}, _seed(settings), port)
        worker = procs.start("worker", env, name="worker-first")
        dlq = Topics(settings).dlq.name

        def processed() -> bool:
            # Every call dead-lettered or turned into a command, and committed: a
            # restart then has nothing left to redo.
            assert worker.popen.poll() is None, worker.output()[-3000:]
            if census(settings).counts.get(dlq, 0) != GARBAGE_CALLS:
                return False
            try:
                groups = group_lag(settings, "worker")
            except UnknownGroupError:
                return False  # no commit yet
            calls = Topics(settings).calls.name
            rows = [p for g in groups for p in g.partitions if p.topic == calls]
            return len(rows) == 4 and all(p.lag == 0 for p in rows)

        wait_until(processed, 90, interval=0.5, what="the worker's dead letters")
        assert procs.stop(worker) == 0, worker.output()[-3000:]
        yield space


def _cli(ns: Namespace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(*args),
        env=os.environ | ns.env | {"METRICS_PORT": "0"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _verbs(ns: Namespace) -> list[tuple[list[str], str]]:
    """(arguments, a line of output proving the command read the data)."""
    return [
        (["settings", "show"], "# applied"),
        (["contacts", "show", ns.email], '"engage_contact_id": "ec-ro-0"'),
        (["lag"], ns.settings.group("worker")),
        (["lag", "--json"], ns.settings.group("worker")),
        (["dlq", "list", "--json"], f'"total": {GARBAGE_CALLS}'),
        (["dlq", "show", "--topic", "engage.dialer.calls"], "not decoded"),
        (["replay", "--topic", "engage.dialer.calls", "--since", "-1h", "--dry-run"],
         "record(s) with timestamps"),
        (["poll-history", "--object", "Contact", "--dry-run"], "record(s) match"),
    ]  # fmt: skip


CALLS_SALESFORCE = {"poll-history"}


def test_reading_commands_leave_every_topic_and_group_as_it_was(
    namespace: Namespace,
) -> None:
    usage = Topics(namespace.settings).api_usage.name
    for args, proof in _verbs(namespace):
        before = census(namespace.settings)
        done = _cli(namespace, *args)
        after = census(namespace.settings)

        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        assert proof in done.stdout, (args, done.stdout[-2000:])
        grown = before.grown(after)
        if args[0] in CALLS_SALESFORCE:  # its Salesforce calls are recorded
            grown.pop(usage, None)
        assert grown == {}, args
        assert set(after.counts) == set(before.counts), args  # no topic created
        assert after.groups == before.groups, args  # no group left behind


@pytest.mark.tansu  # state loaded to the fetched ends, no sentinels, on Tansu too
def test_an_idle_worker_restart_appends_nothing(
    namespace: Namespace, processes: Processes
) -> None:
    before = census(namespace.settings)

    _ready_worker(processes, namespace, "worker-idle")
    after = census(namespace.settings)

    assert before.grown(after) == {}
    assert set(after.counts) == set(before.counts)
    assert after.counts[Topics(namespace.settings).users.name] == 2  # user + sentinel


def test_a_reading_command_names_a_missing_topic_instead_of_creating_it(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    bare = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=kafka_settings.bootstrap_servers,
        KAFKA_TOPIC_PREFIX=f"{kafka_settings.group_prefix}.bare.",
        KAFKA_GROUP_PREFIX=f"{kafka_settings.group_prefix}bare",
    )
    ns = Namespace(bare, kafka_env(bare), "", 0)
    for args in (["settings", "show"], ["dlq", "list"], ["contacts", "show", "x"]):
        done = _cli(ns, *args)

        assert done.returncode != 0, args
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "does not exist" in lines[0], (args, done.stderr)
    with TopicReader.open(bare) as reader:
        assert not [t for t in reader.topics() if t.startswith(bare.topic_prefix)]
