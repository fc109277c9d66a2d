"""Headline throughput (issue 14 items 1-3, 7): the activity agent on realistic
traffic against the minimal loop, the same-work loop and a bare Faust agent, with
CPU per 1,000 events of each process; one broker per call."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import spy
from bench import traffic as traffic_mod
from bench.clock import OutputClock, Rate, cpu_seconds
from bench.profile import profile
from connectors.kafka.clients import AckingProducer, ensure_topics
from connectors.kafka.topics import Topics, TopicSpec
from engage_sync.supervisor import Supervisor, cli_argv
from ground.settings import KafkaSettings
from tests.conftest import fresh_namespace as namespace

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARM_UP_SHARE = 0.02  # outputs skipped before timing (start-up, group join)
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "900"))
LOGS = Path(tempfile.mkdtemp(prefix="engage-bench-"))


def env_of(settings: KafkaSettings, **extra: str) -> dict[str, str]:
    """The environment a child process reads its Kafka settings from."""
    return (
        os.environ
        | {
            "PYTHONPATH": REPO,
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
            "KAFKA_TOPIC_PREFIX": settings.topic_prefix,
            "KAFKA_GROUP_PREFIX": settings.group_prefix,
            "KAFKA_TOPIC_PARTITIONS": str(settings.partitions),
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "METRICS_PORT": "0",
        }
        | extra
    )


@dataclass(frozen=True)
class Runner:
    """One process to time: its command line and where its outputs go."""

    name: str
    argv: list[str]
    outputs: list[str]
    expected: int
    events_per_output: float = 1.0
    env: dict[str, str] | None = None


# Runners sampled by py-spy while timed (when the venv has it): where the CPU of
# the framework's ceiling and of the agent goes, by library.
PROFILED = ("bare", "worker")


@dataclass
class Sampled:
    """A timed run's py-spy samples: by library and by top frame."""

    samples: int
    by_library: dict[str, int]
    top: str


def timed(
    settings: KafkaSettings, runner: Runner, profiles: dict[str, Sampled] | None = None
) -> Rate:
    """Start the process on the backlog, time its outputs, stop it; with
    `profiles`, sample it with py-spy over the timed span."""
    supervisor = Supervisor(LOGS, cwd=REPO)
    recordings: list[spy.Recording] = []
    try:
        child = supervisor.start(
            runner.name, runner.argv, runner.env or env_of(settings)
        )
        on_timing = None
        if profiles is not None and runner.name in PROFILED and spy.ENABLED:

            def on_timing() -> None:
                recordings.append(spy.record(runner.name, child.pid, None, LOGS))

        clock = OutputClock(
            settings,
            runner.outputs,
            runner.expected,
            int(runner.expected * WARM_UP_SHARE),
            cpu=lambda: cpu_seconds(child.pid),
            on_timing=on_timing,
        ).start()
        rate = clock.wait(TIMEOUT, runner.events_per_output)
        for rec in recordings:
            rec.stop()
            if profiles is not None:
                profiles[runner.name] = _sampled(rec)
        return rate
    finally:
        for rec in recordings:
            rec.stop()
        supervisor.close()


def _sampled(rec: spy.Recording) -> Sampled:
    total, libs = spy.libraries(rec.out)
    parsed = spy.parse(rec.out).get("")
    top = parsed.top(parsed.leaf, 6) if parsed else ""
    return Sampled(total, dict(libs), top)


def _output_topic(settings: KafkaSettings, name: str) -> str:
    topic = f"{settings.topic_prefix}bench.{name}"
    ensure_topics(settings, [TopicSpec(topic, settings.partitions, None, "-")])
    return topic


def _runners(settings: KafkaSettings, t: traffic_mod.Traffic) -> list[Runner]:
    good = t.events - t.expected_bad
    py = [sys.executable]
    loops = [
        Runner(
            kind,
            [*py, "-m", "bench.loops", kind, _output_topic(settings, kind)],
            [f"{settings.topic_prefix}bench.{kind}"],
            good,
        )
        for kind in ("minimal", "same-work")
    ]
    bare_out = _output_topic(settings, "bare")
    bare = Runner(
        "bare",
        [*py, "-m", "bench.bare_agent"],
        [bare_out],
        good,
        env=env_of(settings, BARE_OUTPUT_TOPIC=bare_out),
    )
    return [*loops, bare, _worker(settings, t)]


def _worker(settings: KafkaSettings, t: traffic_mod.Traffic) -> Runner:
    topics = Topics(settings)
    return Runner(
        "worker",
        cli_argv("worker"),
        [topics.commands.name, topics.parked.name, topics.dlq.name],
        t.outputs,
        events_per_output=t.events / t.outputs,
    )


def worker_before_backlog(bootstrap: str, t: traffic_mod.Traffic) -> Rate:
    """The worker running and idle, then the whole backlog published at once."""
    settings = namespace(bootstrap)
    traffic_mod.publish_copy(settings, t)
    runner = _worker(settings, t)
    supervisor = Supervisor(LOGS, cwd=REPO)
    try:
        child = supervisor.start("worker", runner.argv, env_of(settings))
        clock = OutputClock(
            settings,
            runner.outputs,
            runner.expected + 1,
            int(runner.expected * WARM_UP_SHARE),
            cpu=lambda: cpu_seconds(child.pid),
        ).start()
        # A bad event first: its dead letter proves the worker is consuming.
        probe = AckingProducer(settings)
        probe.produce(Topics(settings).calls.name, b"probe", b"probe")
        probe.flush()
        deadline = time.monotonic() + 120
        while not clock.stamps and time.monotonic() < deadline:
            time.sleep(0.1)
        traffic_mod.publish(settings, t)
        return clock.wait(TIMEOUT, runner.events_per_output)
    finally:
        supervisor.close()


def measure(bootstrap: str, t: traffic_mod.Traffic) -> dict[str, Any]:
    """Every runner on one backlog (worker after it), then the worker before one;
    `rates["profiles"]` holds the py-spy samples of the bare agent and the worker."""
    settings = namespace(bootstrap)
    traffic_mod.publish_copy(settings, t)
    traffic_mod.publish(settings, t)
    profiles: dict[str, Sampled] = {}
    rates: dict[str, Any] = {"profiles": profiles}
    for runner in _runners(settings, t):
        print(f"  {runner.name} …", flush=True)
        rates[runner.name] = timed(settings, runner, profiles)
    print("  worker started before the backlog …", flush=True)
    rates["worker-before"] = worker_before_backlog(bootstrap, t)
    return rates


def _judge(value: float, target: float) -> str:
    return f"**{value:.2f}** {'PASS' if value >= target else 'MISS'} (≥ {target})"


def _cpu(rate: Rate) -> str:
    return "n/a" if rate.cpu_per_1000 is None else f"{rate.cpu_per_1000:.3f} s"


def _table(broker: str, n: int, rates: dict[str, Any]) -> list[str]:
    mini, same, bare = rates["minimal"], rates["same-work"], rates["bare"]
    after, before = rates["worker"], rates["worker-before"]
    rows = [
        (
            "minimal loop: consume, fastavro decode, small JSON out, "
            "1,000 a batch, flush + commit",
            mini,
            "baseline",
        ),
        (
            "same-work loop: + the guide's Task format, TaskUpsert Avro-encoded "
            "through the serde",
            same,
            "",
        ),
        (
            "bare Faust agent: worker's App settings, batch loop, serde; decode and "
            "small output only",
            bare,
            "framework ceiling",
        ),
        ("activity agent (`engage-sync worker`), started after the backlog", after, ""),
        (
            "activity agent, started before the backlog (published while it runs)",
            before,
            "",
        ),
    ]
    lines = [
        f"### {BROKER_NAMES_SHORT[broker]}: {n:,} activities",
        "",
        "| figure | events/s | CPU per 1,000 events | target |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {label} | {r.events_per_s:,.0f} | {_cpu(r)} | {t} |" for label, r, t in rows
    ]
    lines += [
        "| **headline**: agent / minimal loop (after backlog) | "
        f"{_judge(after.events_per_s / mini.events_per_s, 0.5)} | | ≥ 0.5 |",
        "| agent / bare Faust agent | "
        f"{_judge(after.events_per_s / bare.events_per_s, 0.9)} | | ≥ 0.9 |",
        "| agent / same-work loop | "
        f"{after.events_per_s / same.events_per_s:.2f} | | |",
    ]
    if after.cpu_per_1000 and mini.cpu_per_1000 and bare.cpu_per_1000:
        lines += [
            "| the same two targets in CPU per event (minimal's CPU / agent's; "
            "bare's / agent's) | "
            f"{_judge(mini.cpu_per_1000 / after.cpu_per_1000, 0.5)}; "
            f"{_judge(bare.cpu_per_1000 / after.cpu_per_1000, 0.9)} | | |",
            "| share of a core each used while timed (minimal; bare; agent) | "
            + "; ".join(
                f"{r.events_per_s * (r.cpu_per_1000 or 0) / 1000:.0%}"
                for r in (mini, bare, after)
            )
            + " | | |",
        ]
    return [*lines, "", *profile_lines(rates["profiles"])]


LIBRARY_ORDER = ("aiokafka", "faust + mode", "asyncio", "stdlib", "ours")


def profile_lines(
    profiles: dict[str, Sampled], worker: str = "activity agent (worker)"
) -> list[str]:
    """Where the bare agent's and the worker's CPU went while timed (py-spy)."""
    if not profiles:
        return []
    names = {"bare": "bare Faust agent", "worker": worker}
    libs = sorted(
        {k for p in profiles.values() for k in p.by_library},
        key=lambda k: (LIBRARY_ORDER.index(k) if k in LIBRARY_ORDER else 99, k),
    )
    lines = [
        "py-spy over the timed span (GIL-holding samples at 50/s; a sample counts "
        "for the library whose code was innermost on the stack; fastavro's and "
        "librdkafka's C work counts in its Python caller; asyncio is the event "
        "loop's own work, stdlib a stack of none of these):",
        "",
        "| process (samples) | " + " | ".join(libs) + " | top self time |",
        "|---|" + "---|" * (len(libs) + 1),
    ]
    for key, p in profiles.items():
        shares = " | ".join(
            f"{100 * p.by_library.get(k, 0) / max(1, p.samples):.0f}%" for k in libs
        )
        lines.append(f"| {names.get(key, key)} ({p.samples:,}) | {shares} | {p.top} |")
    return [*lines, ""]


BROKER_NAMES_SHORT = {"apache": "Apache Kafka 4.1.1", "tansu": "Tansu 0.6.0"}


def run(bench: Any) -> list[str]:
    """The headline part of `make bench` on both brokers."""
    n = bench.size(100_000)
    t = traffic_mod.build(n)
    lines = [
        "## Headline: activity agent on realistic traffic (issue 14 items 1-3, 7)",
        "",
        f"Traffic: {t.events:,} activities, 80% calls (sentiment, comments) and 20% "
        f"email events of all eight kinds, for 5,000 contacts (3,750 linked and in "
        f"Engage's copy, 1,250 linked but not in it: {t.expected_copies:,} copy "
        f"reads), every event with its Salesforce id; {t.expected_parked:,} for "
        f"unlinked contacts (parked) and {t.expected_bad:,} bad (dead letters). "
        "Every rate is timed the same way: first to last output's broker "
        f"timestamp, after a warm-up of the first {WARM_UP_SHARE:.0%} of outputs "
        "(start-up, group join). Each figure is one process of its own; its CPU "
        "is utime+stime from /proc over the same span. Targets are judged on "
        "events/s of this run; the CPU ratios beside them are steadier on this "
        "shared machine.",
        "",
    ]
    for broker in ("apache", "tansu"):
        print(f"  on {broker} …", flush=True)
        rates = measure(bench.bootstrap(broker), t)
        lines += _table(broker, n, rates)
    per_1000, rows = profile(t)
    lines += [
        "### Where the agent's own time goes",
        "",
        "The activity processor alone (this process, no Kafka, the same traffic): "
        f"**{per_1000:.3f} s CPU per 1,000 events**. Self time by function "
        "(cProfile; fastavro's C work counts in its caller):",
        "",
        *[f"- {share:.0%} {name}" for name, share in rows],
        "",
        BOUND_NOTE,
        "",
    ]
    return lines


BOUND_NOTE = (
    "What bounds the ratios: the minimal loop spends its CPU in librdkafka's C "
    "consumer and producer plus one fastavro decode; a Faust agent consumes through "
    "aiokafka in Python (fetch parsing, one Event object per message, per-message "
    "acks and offset tracking), so the bare Faust agent — the framework's ceiling, "
    "with no per-event work of ours — already costs several times the minimal "
    "loop's CPU per event and stays well below 0.5 of it. The 0.5 target is out of "
    "reach while the agents stay Faust agents; the 0.9-of-bare target is what our "
    "own per-event work decides. That work is now batched where it repeats (one "
    "SQLite query per batch for copy checks, one link-lock hold per batch, counter "
    "children bound once and advanced per batch, a decode that skips schema "
    "resolution when the writer schema is ours, one delivery callback per caller "
    "instead of a closure per record, the SalesforceCommand encode by a writer "
    "generated from its schema, about a third of fastavro's cost, since fastavro "
    "resolves the `fields` map's union value by value); what remains is the decode "
    "(fastavro's), the guide's Task format with its value objects, and that encode. "
    "Where the 0.9 target is missed, the processor's own work (the figure above) "
    "is what the agent adds to the bare agent's CPU per event, as the same-work "
    "loop minus the minimal loop shows without Faust; its largest shares are the "
    "decode (which the bare agent does too) and the encode. The py-spy table "
    "under each broker's figures shows where the bare agent's own CPU goes: "
    "faust + mode, the asyncio loop and aiokafka together, against ours (decode "
    "and produce), are what keeps the framework's ceiling below 0.5 of the "
    "minimal loop. Where a "
    "runner's share of a core is well below 100%, the machine's load, not its "
    "work, set its wall-clock rate: then judge by the CPU line."
)


def consumer(settings: KafkaSettings, group: str) -> Any:
    """A plain consumer in `group`, from the earliest offset, committing by hand."""
    from confluent_kafka import Consumer

    from connectors.kafka import config as kafka_config

    return Consumer(
        {
            **kafka_config.librdkafka(settings),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
