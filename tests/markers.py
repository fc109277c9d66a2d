"""Proof that the pipeline got past the traffic, for checks that something did NOT
happen (no dead letter, no duplicate).

Reading a topic "until quiet" passes when the pipeline is merely slow. Instead, after
the traffic, one valid marker call goes to every partition of each input topic, and
the test waits for every marker's Task result. Partitions are processed in order, so
once a partition's marker is through, whatever the traffic before it caused (a dead
letter, a write) has been produced; the dead-letter topic is then read to its end.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from connectors.kafka import clients
from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.snapshot import is_sentinel
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from tests.factories import call_event, contact_ref, email_event
from tests.kafka_helpers import Record
from tests.waiting import wait_until


@dataclass(frozen=True)
class Markers:
    """The marker events sent: their ids, and the partitions they went to."""

    event_ids: frozenset[str]
    input_partitions: frozenset[tuple[str, int]]


def _partition_of(key: str, partitions: int) -> int:
    # librdkafka's default partitioner (consistent_random): CRC-32 of the key.
    return zlib.crc32(key.encode()) % partitions


def _people_per_partition(people: Sequence[str], partitions: int) -> list[str]:
    """One person per commands partition (commands are keyed by the WhoId)."""
    chosen: dict[int, str] = {}
    for person in people:
        chosen.setdefault(_partition_of(person, partitions), person)
    missing = set(range(partitions)) - set(chosen)
    assert not missing, f"no seeded person lands on commands partitions {missing}"
    return [chosen[p] for p in sorted(chosen)]


def send_markers(settings: KafkaSettings, people: Sequence[str]) -> Markers:
    """One marker call/email on every partition of the call and email topics, whose
    Tasks between them reach every partition of the commands topic."""
    topics, serde, producer = Topics(settings), Serde(), clients.producer(settings)
    n = settings.partitions
    whos = _people_per_partition(people, n)
    ids: set[str] = set()
    placed: set[tuple[str, int]] = set()
    for topic, schema in ((topics.calls, "CallLogged"), (topics.emails, "EmailEvent")):
        for partition in range(topic.partitions):
            who = whos[partition % len(whos)]
            marker_id = f"marker-{uuid.uuid4()}"
            contact = contact_ref(
                engage_contact_id=f"marker-contact-{partition}", salesforce_id=who
            )
            event = (
                call_event(event_id=marker_id, contact=contact)
                if schema == "CallLogged"
                else email_event(event_id=marker_id, contact=contact)
            )
            producer.produce(
                topic.name,
                serde.encode(schema, event),
                contact["engage_contact_id"].encode(),
                partition=partition,
            )
            ids.add(marker_id)
            placed.add((topic.name, partition))
    assert producer.flush(30) == 0, "markers were not acknowledged"
    return Markers(frozenset(ids), frozenset(placed))


def wait_for_markers(
    settings: KafkaSettings,
    markers: Markers,
    timeout: float = 180.0,
    serde: Serde | None = None,
) -> None:
    """Until every marker's Task has its successful result (`serde` reads the
    pipeline's outputs: pass one with the registry when outputs are framed so)."""
    serde, topic = serde or Serde(), Topics(settings).results.name

    def through() -> bool:
        results = (
            serde.decode("WriteResult", r.value) for r in read_to_end(settings, topic)
        )
        done = {
            r["event_id"] for r in results if r["object"] == "Task" and r["success"]
        }
        return markers.event_ids <= done

    wait_until(through, timeout, interval=0.5, what="every marker's Task result")
    commands = Topics(settings).commands.name
    reached = {
        r.partition
        for r in read_to_end(settings, commands)
        if serde.decode("SalesforceCommand", r.value)["command_id"] in markers.event_ids
    }
    # Else a partition's commands would be unproven: a bug of this helper.
    assert reached == set(range(settings.partitions)), f"markers reached {reached}"


def read_to_end(settings: KafkaSettings, topic: str) -> list[Record]:
    """Every record of `topic` up to each partition's end as a fetch finds it now
    (`connectors.kafka.ends`: right on Apache Kafka and on Tansu alike)."""
    with TopicReader.open(settings) as reader:
        return [
            Record.of(msg)
            for msg in reader.read_to_end(topic)
            if not is_sentinel(msg.key())  # tombstones older readers appended
        ]


def dead_letters_past(
    settings: KafkaSettings,
    people: Sequence[str],
    sources: Iterable[str] = (),
    serde: Serde | None = None,
) -> list[Record]:
    """Send markers, wait for them, then every dead letter of the run (of `sources`
    topics only, when given)."""
    markers = send_markers(settings, people)
    wait_for_markers(settings, markers, serde=serde)
    letters = read_to_end(settings, Topics(settings).dlq.name)
    wanted = set(sources)
    return [
        r
        for r in letters
        if not wanted or r.headers.get("__connect.errors.topic", b"").decode() in wanted
    ]
