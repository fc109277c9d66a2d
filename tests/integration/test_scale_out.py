"""Two workers and two writers in one group split partitions; each Task written once."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from connectors.kafka.clients import AckingProducer
from connectors.kafka.embedded import free_port
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Proc, Processes, kafka_env, salesforce_env
from tests.factories import call_event, contact_ref, email_event
from tests.waiting import wait_until

EVENTS_EACH = 200  # calls, and as many emails
ASSIGNED = "Setting newly assigned partitions"  # aiokafka, after every rebalance


def _people(admin: SandboxAdmin) -> list[str]:
    admin.put_records("Contact", [{"LastName": f"Scale{i}"} for i in range(50)])
    admin.put_records(
        "Lead", [{"LastName": f"Scale{i}", "Company": f"Co {i}"} for i in range(50)]
    )
    return [r["Id"] for r in admin.records("Contact") + admin.records("Lead")]


def _publish(settings: KafkaSettings, people: list[str]) -> set[str]:
    topics, serde, producer = Topics(settings), Serde(), AckingProducer(settings)
    ids: set[str] = set()
    for i in range(EVENTS_EACH):
        for schema, factory, topic in (
            ("CallLogged", call_event, topics.calls.name),
            ("EmailEvent", email_event, topics.emails.name),
        ):
            contact = contact_ref(
                engage_contact_id=f"scale-{i % 61}",
                salesforce_id=people[(i * 7) % len(people)],
            )
            event = factory(contact=contact)
            key = contact["engage_contact_id"].encode()
            producer.produce(topic, serde.encode(schema, event), key)
            ids.add(event["event_id"])
    producer.flush()
    return ids


def _partitions(text: str) -> set[int]:
    """faust's partition set text, e.g. `0, 2` or `0-1, 3`."""
    found: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        found |= set(range(int(low), int(high or low) + 1))
    return found


def _assigned(worker: Proc, topic: str) -> set[int]:
    """The partitions of `topic` in the worker's latest assignment (faust's log)."""
    log = worker.output()
    if ASSIGNED not in log:
        return set()
    latest = log.rsplit(ASSIGNED, 1)[1].split(" for group ", 1)[0]
    row = re.search(rf"\|\s*{re.escape(topic)}\s*\|\s*\{{([^}}]*)\}}", latest)
    return _partitions(row.group(1)) if row else set()


def _split(workers: list[Proc], topic: str) -> list[set[int]] | None:
    """Each worker's share of `topic`, once the two shares are disjoint and whole."""
    shares = [_assigned(w, topic) for w in workers]
    whole = set().union(*shares) == {0, 1, 2, 3}
    disjoint = sum(map(len, shares)) == 4
    return shares if whole and disjoint and all(shares) else None


def _counter(port: int, name: str, **labels: str) -> float:
    """Sum of one counter's samples on a process's /metrics that match `labels`."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == f"{name}_total"
        and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_two_workers_and_two_writers_split_partitions_and_write_each_task_once(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    people = _people(admin)
    topics = Topics(kafka_settings)
    env = (
        kafka_env(kafka_settings)
        | salesforce_env(sandbox_org)
        | {"WORKER_LOGLEVEL": "info", "METRICS_HOST": "127.0.0.1"}
    )
    ports = {name: free_port() for name in ("wa", "wb", "ra", "rb")}
    workers = [
        processes.start("worker", env | {"METRICS_PORT": str(ports[n])}, name=n)
        for n in ("wa", "wb")
    ]
    for n in ("ra", "rb"):
        processes.start("writer", env | {"METRICS_PORT": str(ports[n])}, name=n)
    # Publish only once the worker group settled with both members in it.
    shares = wait_until(
        lambda: _split(workers, topics.calls.name), 90, what="the calls split in two"
    )

    ids = _publish(kafka_settings, people)
    wait_until(
        lambda: admin.stats()["records"].get("Task", 0) >= len(ids),
        120,
        what=f"{len(ids)} Tasks",
    )
    tasks = Counter(t["Engage_Activity_Id__c"] for t in admin.records("Task"))
    assert len(ids) == 2 * EVENTS_EACH
    assert set(tasks) == ids
    assert max(tasks.values()) == 1

    # Nobody rebalanced during the run, so each share stayed with one worker...
    assert [_assigned(w, topics.calls.name) for w in workers] == shares
    # ...and each worker turned its share of the events into commands.
    events_in = [
        sum(
            _counter(ports[w.name], "engage_sync_events_in", topic=t)
            for t in (topics.calls.name, topics.emails.name)
        )
        for w in workers
    ]
    assert all(n > 0 for n in events_in), events_in
    assert sum(events_in) >= len(ids)
    written = [_counter(ports[n], "engage_sync_tasks_written") for n in ("ra", "rb")]
    assert all(n > 0 for n in written), written
    assert sum(written) >= len(ids)
    print(f"\ncalls split {shares}; events in {events_in}; Tasks written {written}")
