"""Inbound: salesforce.records into Engage's copy vs a raw consume; RSS per 100k."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.clock import Rate
from bench.headline import REPO, WARM_UP_SHARE, Runner, namespace, timed
from connectors.kafka.clients import AckingProducer, consumer
from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings


def _phone(i: int) -> str:
    """A distinct valid San Francisco number (NANPA exchanges start at 2)."""
    return f"+1415{200 + i // 10_000 % 800:03d}{i % 10_000:04d}"


def publish_records(settings: KafkaSettings, n: int) -> None:
    serde, producer = Serde(), AckingProducer(settings, **{"linger.ms": 20})
    topic = Topics(settings).records.name
    now = datetime.now(UTC)
    for i in range(n):
        sf_id = f"00Q{i:015d}"
        record = {
            "salesforce_id": sf_id,
            "object": "Lead",
            "system_modstamp": now,
            "last_modified": now,
            "in_scope": True,
            "poll_kind": "history",
            "polled_at": now,
            "fields": {
                "FirstName": f"F{i}",
                "LastName": f"L{i}",
                "Email": f"p{i}@example.org",
                "Phone": _phone(i),
                "Company": "Acme",
                "Title": "VP Sales",
            },
        }
        producer.produce(
            topic, serde.encode("SalesforceRecord", record), sf_id.encode()
        )
    producer.flush()


def raw_consume(settings: KafkaSettings, n: int) -> Rate:
    """A plain confluent-kafka loop that reads and decodes the same records; timed
    from the warm-up's end to the last record, CPU of this process over that span."""
    serde = Serde()
    reader = consumer(settings, f"{settings.group_prefix}.raw-in")
    reader.subscribe([Topics(settings).records.name])
    warm_up = int(n * WARM_UP_SHARE)
    done, started, cpu0 = 0, 0.0, 0.0
    while done < n:
        for msg in reader.consume(1000, 1.0):
            if msg.error():
                continue
            serde.decode("SalesforceRecord", msg.value())
            done += 1
            if done == warm_up:
                started, cpu0 = time.perf_counter(), time.process_time()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    reader.close()
    return Rate((n - warm_up) / elapsed, cpu * 1000 / (n - warm_up), n)


def agent(settings: KafkaSettings, n: int) -> Rate:
    """The real worker: rate from the first to the last EngageContact it published."""
    runner = Runner("worker", cli_argv("worker"), [Topics(settings).contacts.name], n)
    return timed(settings, runner)


def cache_hit_rate(settings: KafkaSettings, n: int) -> float:
    """The phone-normalization cache's hit rate on these records: the inbound
    processor's own code, run here on the decoded records (one process: the cache
    is per process, and the figure depends only on the records)."""
    from domain.contacts.normalize import _e164
    from streams.contacts.processor import ContactsProcessor
    from streams.contacts.store import ContactStore
    from tests.ports import RecordingProducer

    processor = ContactsProcessor(
        settings, ContactStore(), lambda: None, RecordingProducer()
    )
    processor.loaded = True
    reader = consumer(settings, f"{settings.group_prefix}.cache-in")
    reader.subscribe([Topics(settings).records.name])
    _e164.cache_clear()
    done = 0
    while done < n:
        batch = [m for m in reader.consume(1000, 1.0) if not m.error()]
        processor.handle(
            [
                Origin(
                    m.topic() or "",
                    m.partition() or 0,
                    m.offset() or 0,
                    m.key(),
                    m.value(),
                    0,
                )
                for m in batch
            ]
        )
        done += len(batch)
    reader.close()
    info = _e164.cache_info()
    return info.hits / max(1, info.hits + info.misses)


def run(bench: Any) -> list[str]:
    """The inbound part of `make bench`: all-distinct people, both brokers."""
    n = bench.size(50_000)
    lines = [
        "## Inbound agent into Engage's copy (issue 14 targets)",
        "",
        f"{n:,} `salesforce.records` of distinct people (distinct emails, names and "
        "phones), timed as the headline is; the raw loop only consumes and "
        "decodes.",
        "",
        "| broker | raw consume + decode | inbound agent | agent / raw | "
        "CPU per 1,000 (raw; agent) | phone cache hit rate |",
        "|---|---|---|---|---|---|",
    ]
    for broker in ("apache", "tansu"):
        print(f"  on {broker} …", flush=True)
        settings = namespace(bench.bootstrap(broker))
        publish_records(settings, n)
        raw = raw_consume(settings, n)
        worker = agent(settings, n)
        hits = cache_hit_rate(settings, n)
        ratio = worker.events_per_s / raw.events_per_s
        lines.append(
            f"| {broker} | {raw.events_per_s:,.0f}/s | {worker.events_per_s:,.0f}/s "
            f"| **{ratio:.3f}** {'PASS' if ratio >= 0.25 else 'MISS'} (≥ 0.25) "
            f"| {raw.cpu_per_1000:.3f} s; {worker.cpu_per_1000 or 0:.3f} s "
            f"| {hits:.0%} |"
        )
    return [*lines, "", INBOUND_NOTE, ""]


INBOUND_NOTE = (
    "The inbound agent is bounded by per-record Python work, not Kafka: each new "
    "contact is normalized (email, name, E.164 phone via phonenumbers: on "
    "all-distinct people the phone cache cannot hit, each number is parsed once, "
    "when the store indexes it; a number valid for the default region is no longer "
    "also matched against the rules of every NANPA region, which halved the "
    "processor's CPU per record), mapped (`dataclasses.replace` three times), "
    "looked up and indexed in SQLite and Avro-encoded; the raw loop only decodes. "
    "In the worker's CPU per record, besides that processor work (about 0.14 s per "
    "1,000 in-process on this machine): Faust's own consumption, which the bare "
    "agent of the headline shows alone costs several times the whole raw loop, "
    "and the follower thread reading every published contact back from "
    "`engage.contacts` (decode + one SQLite look-up each) to keep the global view. "
    "0.25 of the raw loop would need the whole agent under ~0.06 s per 1,000: "
    "below Faust's own floor, so this target is missed for the same reason as "
    "the headline's 0.5."
)


def run_rss(bench: Any) -> list[str]:
    """RSS of Engage's copy per 100k contacts, in a fresh process."""
    n = bench.size(300_000)
    per_100k, total = rss_per_100k(n)
    return [
        "## Engage's copy in memory",
        "",
        f"RSS added per 100k contacts in the store ({n:,} stored; process "
        f"{total:.0f} MB): **{per_100k:.1f} MB** (target: 1M in ≤ 1 GB). The store "
        "keeps the copy in an on-disk SQLite file rebuilt from `engage.contacts` "
        "at start, so memory does not grow with the copy.",
        "",
    ]


_RSS_PROBE = (
    """
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
    store.put(EngageContact(f'sf-00Q{i:015d}', f'00Q{i:015d}', 'Lead',"""
    """ f'p{i}@example.org',
              f'F{i}', f'L{i}', f'+1415555{i % 10000:04d}', 'Acme', 'VP Sales',
              fields={'salutation': 'Ms.'}, updated_at_ms=i,"""
    """ field_times={'first_name': i}))
assert store.by_email(f'p{n-1}@example.org') is not None
print(base, rss())
"""
)


def rss_per_100k(n: int) -> tuple[float, float]:
    """(MB of RSS added per 100k contacts, MB of process RSS) in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE, str(n), str(Path(tmp) / "c.sqlite3")],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        ).stdout.split()
    base, after = int(out[0]), int(out[1])
    return (after - base) / 1e6 * 100_000 / n, after / 1e6
