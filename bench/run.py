"""`make bench`: runs every benchmark in one process and writes docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import activity, inbound, pipeline
from connectors.kafka.embedded import EmbeddedBroker
from sandbox.admin import SandboxAdmin
from sandbox.org import SandboxOrg

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
N_EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
N_TASKS = int(os.environ.get("BENCH_TASKS", "5000"))
N_RECORDS = int(os.environ.get("BENCH_RECORDS", "10000"))
N_RSS = int(os.environ.get("BENCH_RSS_CONTACTS", "300000"))


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    env_bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None if env_bootstrap else EmbeddedBroker().start()
    bootstrap = env_bootstrap or broker.bootstrap  # type: ignore[union-attr]
    broker_name = (
        f"Kafka at {env_bootstrap}"
        if env_bootstrap
        else "embedded Tansu 0.6.0 (memory)"
    )
    try:
        print(f"activity: {N_EVENTS} events, raw loop then agent …", flush=True)
        ns = activity.namespace(bootstrap)
        activity.publish_calls(ns, N_EVENTS)
        raw = activity.raw_loop(ns, N_EVENTS)
        agent = activity.agent(ns, N_EVENTS)
        print(f"inbound: {N_RECORDS} records, raw loop then agent …", flush=True)
        ns3 = activity.namespace(bootstrap)
        inbound.publish_records(ns3, N_RECORDS)
        raw_in = inbound.raw_consume(ns3, N_RECORDS)
        agent_in = inbound.agent(ns3, N_RECORDS)
        with tempfile.TemporaryDirectory() as tmp:
            org = SandboxOrg(Path(tmp) / "org").start()
            try:
                admin = SandboxAdmin(org.url, org.ca_path)
                people = pipeline.seed_people(admin)
                ns2 = activity.namespace(bootstrap)
                pipe = pipeline.Pipeline(ns2, org, Path(tmp)).start()
                try:
                    print(
                        f"pipeline: {N_TASKS} Tasks for API calls, then latency …",
                        flush=True,
                    )
                    calls = pipeline.api_calls_per_1000(ns2, admin, people, N_TASKS)
                    lat = pipeline.latency(ns2, admin, people, rate=100, seconds=20)
                finally:
                    pipe.stop()
            finally:
                org.stop()
    finally:
        if broker is not None:
            broker.stop()
    ratio = agent / raw
    print(f"RSS: {N_RSS} contacts in the store …", flush=True)
    rss_100k, rss_total = inbound.rss_per_100k(N_RSS)
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {os.cpu_count()} cores, {_cpu()}, "
        f"Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Broker: {broker_name}. "
        "Salesforce: the project's sandbox org over HTTPS (in the benchmark process).",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        "| (a) raw confluent-kafka loop: consume → decode → format Task → encode "
        f"→ produce | {raw:,.0f} events/s | baseline |",
        "| (b) activity agent (`engage-sync worker`, Faust), same events and broker "
        f"| {agent:,.0f} events/s | |",
        f"| (b)/(a) | **{ratio:.2f}** | ≥ 0.25 |",
        f"| (c) Salesforce API calls for {calls['tasks']:,} Tasks "
        f"| {calls['api_calls']:.0f} "
        f"(**{calls['per_1000']:.2f} per 1,000**), "
        "plus 1 describe at writer start | ≤ 5.1 |",
        f"| (d) event → Task confirmed, {lat['rate']:.0f} events/s for 20 s "
        f"| p50 {lat['p50_ms']:.0f} ms, "
        f"p99 {lat['p99_ms']:.0f} ms ({lat['received']}/{lat['events']} seen) | |",
        "| (e) inbound: raw consume + decode of `salesforce.records` "
        f"| {raw_in:,.0f} records/s "
        "| baseline |",
        "| (f) inbound agent (`engage-sync worker`) into Engage's copy, "
        "same records | "
        f"{agent_in:,.0f} records/s | |",
        f"| (f)/(e) | **{agent_in / raw_in:.3f}** | |",
        f"| (g) RSS added per 100k contacts in the store ({N_RSS:,} stored; process "
        f"{rss_total:.0f} MB) | **{rss_100k:.1f} MB** | 1M in ≤ 1 GB |",
        "",
        "(f) is bounded by per-record Python work, not Kafka: each new contact is "
        "normalized (email, name, E.164 phone via phonenumbers, ~50 µs per new "
        "number), mapped, indexed in SQLite and Avro-encoded; a raw loop only decodes. "
        "The store keeps Engage's copy in an on-disk SQLite file rebuilt from "
        "`engage.contacts` at start, so memory does not grow with the copy.",
        "",
        "How each is measured: (a) and (b) read the same pre-published events "
        f"({N_EVENTS:,} calls, 4 partitions); (b) is timed from the first to the last "
        "command's broker timestamp, so start-up and group join are excluded, and (a) "
        "from its first consumed message. Both do the same per-event work (fastavro "
        "decode, the guide's Task format, Avro encode of the command) and wait for "
        "Kafka's acknowledgement per batch before committing. (c) counts the sandbox's "
        "API counter (collection upserts of up to 200) from publishing to the last "
        "Task, after the writer's start-up describe. (d) uses `WriteResult.written_at` "
        "(Salesforce answered) minus the event's `occurred_at` (set when published); "
        "the writer "
        "lingers up to 250 ms to fill a batch and the worker up to 50 ms.",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
