"""Scale-out: 2 workers against 1 on the same backlog of calls, as total events/s
and CPU seconds per 1,000 events (issue 14, item 6). Apache Kafka."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from bench import headline
from bench.apache import quick
from bench.headline import env_of as kafka_env
from bench.procs import machine_load, proc_status
from connectors.kafka import config as kafka_config
from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from engage_sync.supervisor import Supervisor, cli_argv
from ground.settings import KafkaSettings
from tests.factories import call_event, contact_ref

CONTACTS = 5000


def _payloads(n: int, tag: str) -> list[tuple[bytes, bytes]]:
    """n encoded calls for CONTACTS linked contacts, encoded before the clock runs."""
    serde, now = Serde(), datetime.now(UTC)
    out = []
    for i in range(n):
        c = i % CONTACTS
        ev = call_event(
            event_id=f"{tag}-{i}",
            occurred_at=now,
            sentiment="MORE_INFORMATION_REQUESTED",
            comments="Asked for pricing; follow up next week.",
            contact=contact_ref(
                engage_contact_id=f"ec-{c}", salesforce_id=f"003{c:012d}AAA"
            ),
        )
        out.append((serde.encode("CallLogged", ev), f"ec-{c}".encode()))
    return out


def _wait_members(settings: KafkaSettings, k: int, limit: float = 180) -> None:
    """Until the workers' group is stable with k members (no rebalance mid-run)."""
    admin = AdminClient(kafka_config.librdkafka(settings))
    group = settings.group("worker")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        desc = admin.describe_consumer_groups([group])[group].result(timeout=10)
        if len(desc.members) == k and str(desc.state).endswith("STABLE"):
            # Each member holds some of the 4 call partitions.
            held = [m.assignment.topic_partitions for m in desc.members]
            if all(any(tp.topic.endswith("calls") for tp in h) for h in held):
                return
        time.sleep(0.5)
    raise RuntimeError(f"worker group not stable with {k} members in time")


def run(bootstrap: str, workers: int, n: int, logs: Path) -> dict[str, float]:
    """`workers` workers, joined and idle; then a backlog of n calls published at once.

    Returns:
        events/s from the first to the last command's broker timestamp, and the
        workers' CPU seconds per 1,000 events over that span.
    """
    ns = headline.namespace(bootstrap)
    payloads = _payloads(n, f"so{workers}")
    supervisor = Supervisor(logs, cwd=headline.REPO)
    try:
        children = [
            supervisor.start(f"worker-{workers}-{i}", cli_argv("worker"), kafka_env(ns))
            for i in range(workers)
        ]
        _wait_members(ns, workers)
        reader = headline.consumer(ns, f"{ns.group_prefix}.scale-reader")
        reader.subscribe([Topics(ns).commands.name])
        reader.consume(1, 5.0)  # joined before the backlog arrives
        producer = AckingProducer(ns, **{"linger.ms": 20})
        topic = Topics(ns).calls.name
        for value, key in payloads:
            producer.produce(topic, value, key)
        producer.flush()
        seen, first, last = 0, None, 0.0
        cpu_first: float | None = None
        seen_first = 0
        deadline = time.monotonic() + 900
        while seen < n and time.monotonic() < deadline:
            for msg in reader.consume(1000, 0.5):
                if msg.error() is None:
                    ts = msg.timestamp()[1] / 1000
                    first = ts if first is None else min(first, ts)
                    last, seen = max(last, ts), seen + 1
            if cpu_first is None and seen:
                cpu_first, seen_first = _cpu(children), seen
        cpu_last = _cpu(children)
        reader.close()
    finally:
        supervisor.close()
    if seen < n or first is None or cpu_first is None:
        raise RuntimeError(f"{workers} worker(s) produced {seen}/{n} commands in time")
    return {
        "workers": workers,
        "events": n,
        "events_per_s": n / max(1e-6, last - first),
        "cpu_per_1000": (cpu_last - cpu_first) * 1000 / max(1, n - seen_first),
    }


def _cpu(children: list[Any]) -> float:
    return sum(proc_status(c.pid)["cpu_s"] for c in children)


def section(one: dict[str, float], two: dict[str, float]) -> list[str]:
    """The markdown of this part."""
    return [
        f"### Scale-out: 1 and 2 workers on the same backlog of {one['events']:,.0f} "
        "calls (Apache Kafka)",
        "",
        "| workers | total events/s | worker CPU s per 1,000 events |",
        "|---|---|---|",
        f"| 1 | {one['events_per_s']:,.0f} | {one['cpu_per_1000']:.3f} |",
        f"| 2 | {two['events_per_s']:,.0f} | {two['cpu_per_1000']:.3f} |",
        f"| 2 / 1 | **{two['events_per_s'] / one['events_per_s']:.2f}** "
        f"| {two['cpu_per_1000'] / one['cpu_per_1000']:.2f} |",
        "",
        "How measured: calls with sentiment and comments for 5,000 linked contacts, "
        "encoded before the clock runs; the workers start on a fresh namespace and "
        "the backlog is published only once their group is stable with every "
        "worker holding call partitions (4 in all), so no rebalance falls in the "
        "window. Events/s from the first to the last Task command's broker "
        "timestamp; CPU from /proc, summed over the workers, over the same span. "
        f"Both cores of this machine are shared with the broker, this process and "
        f"other sessions ({machine_load()} at the end), so 2 workers can gain at "
        "most what is left of the second core; CPU per event is the figure that "
        "holds, and shows what a second worker adds to the cost of an event.",
        "",
    ]


def part(bootstrap: str, workdir: Path) -> list[str]:
    """100,000 calls (quick: 10,000) through 1, then 2 workers."""
    n = 10_000 if quick() else 100_000
    print(f"scale-out: {n:,} calls, 1 then 2 workers …", flush=True)
    return section(run(bootstrap, 1, n, workdir), run(bootstrap, 2, n, workdir))
