"""Inbound: salesforce.records into Engage's copy vs a raw consume; RSS per 100k."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer

from bench.activity import REPO
from connectors.kafka import config as kafka_config
from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from engage_sync.supervisor import Supervisor, cli_argv
from ground.settings import KafkaSettings


def publish_records(settings: KafkaSettings, n: int) -> None:
    serde, producer = Serde(), AckingProducer(settings, **{"linger.ms": 20})
    topic = Topics(settings).records.name
    now = datetime.now(UTC)
    for i in range(n):
        sf_id = f"00Q{i:015d}"
        record = {
            "salesforce_id": sf_id, "object": "Lead", "system_modstamp": now,
            "last_modified": now, "in_scope": True, "poll_kind": "history",
            "polled_at": now,
            "fields": {
                "FirstName": f"F{i}", "LastName": f"L{i}", "Email": f"p{i}@example.org",
                "Phone": f"+1415555{i % 10000:04d}", "Company": "Acme",
                "Title": "VP Sales",
            },
        }
        producer.produce(
            topic, serde.encode("SalesforceRecord", record), sf_id.encode()
        )
    producer.flush()


def raw_consume(settings: KafkaSettings, n: int) -> float:
    """A plain confluent-kafka loop that reads and decodes the same records."""
    serde = Serde()
    consumer = Consumer({
        **kafka_config.librdkafka(settings),
        "group.id": f"{settings.group_prefix}.raw-in",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
        "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
    })
    consumer.subscribe([Topics(settings).records.name])
    done, started = 0, None
    while done < n:
        for msg in consumer.consume(1000, 1.0):
            if msg.error():
                continue
            started = started or time.perf_counter()
            serde.decode("SalesforceRecord", msg.value())
            done += 1
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return n / elapsed


def agent(settings: KafkaSettings, n: int) -> float:
    """The real worker: rate from the first to the last EngageContact it published."""
    from bench.activity import _consumer

    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
        "KAFKA_TOPIC_PREFIX": settings.topic_prefix,
        "KAFKA_GROUP_PREFIX": settings.group_prefix,
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
    }
    supervisor = Supervisor(cwd=REPO)
    supervisor.start("worker", cli_argv("worker"), env)
    try:
        consumer = _consumer(settings, f"{settings.group_prefix}.reader-in")
        consumer.subscribe([Topics(settings).contacts.name])
        seen, first, last = 0, None, 0.0
        deadline = time.monotonic() + 900
        while seen < n and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                if msg.error() or msg.value() is None:
                    continue
                ts = msg.timestamp()[1] / 1000
                first = ts if first is None else min(first, ts)
                last, seen = max(last, ts), seen + 1
        consumer.close()
        if seen < n or first is None:
            raise RuntimeError(f"worker published {seen}/{n} contacts in time")
        return n / max(1e-6, last - first)
    finally:
        supervisor.close()


_RSS_PROBE = """
import sys, os
from domain.contacts.models import EngageContact
from streams.contacts.store import ContactStore
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
n = int(sys.argv[1]); store = ContactStore(sys.argv[2])
base = rss()
for i in range(n):
    store.put(EngageContact(f'sf-00Q{i:015d}', f'00Q{i:015d}', 'Lead',""" \
""" f'p{i}@example.org',
              f'F{i}', f'L{i}', f'+1415555{i % 10000:04d}', 'Acme', 'VP Sales',
              fields={'salutation': 'Ms.'}, updated_at_ms=i,""" \
""" field_times={'first_name': i}))
assert store.by_email(f'p{n-1}@example.org') is not None
print(base, rss())
"""


def rss_per_100k(n: int) -> tuple[float, float]:
    """(MB of RSS added per 100k contacts, MB of process RSS) in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE, str(n), str(Path(tmp) / "c.sqlite3")],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=1800,
        ).stdout.split()
    base, after = int(out[0]), int(out[1])
    return (after - base) / 1e6 * 100_000 / n, after / 1e6
