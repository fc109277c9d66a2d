"""`make bench`: runs every benchmark in one process and writes docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    activity,
    backfill_scale,
    economy,
    inbound,
    latency,
    pipeline,
    scale_out,
    state_scale,
)
from bench.apache import run_parts
from connectors.kafka.embedded import EmbeddedBroker
from engage_sync.supervisor import Supervisor
from sandbox.admin import SandboxAdmin
from sandbox.org import SandboxOrg

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
N_EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
N_RECORDS = int(os.environ.get("BENCH_RECORDS", "10000"))
N_RSS = int(os.environ.get("BENCH_RSS_CONTACTS", "300000"))
N_ECONOMY = int(os.environ.get("BENCH_ECONOMY_TASKS", "10000"))
# Parts on Apache Kafka: each takes (bootstrap, workdir) and returns its markdown.
APACHE_PARTS = [
    latency.part,
    state_scale.part,
    backfill_scale.part,
    scale_out.part,
]


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
    supervisor = Supervisor()  # the broker dies with the benchmark run
    broker = (
        None
        if env_bootstrap
        else EmbeddedBroker(
            spawn=lambda argv, log: supervisor.start("tansu", argv, log=log).popen
        ).start()
    )
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
                    print("pipeline: latency …", flush=True)
                    economy.warm_up(ns2, admin, people)
                    lat = pipeline.latency(ns2, admin, people, rate=100, seconds=20)
                finally:
                    pipe.stop()
                print(f"economy: {N_ECONOMY} Tasks x 3 runs …", flush=True)
                logs = Path(tmp)
                faulty = economy.run(
                    bootstrap, org, admin, people, logs, N_ECONOMY,
                    faults=economy.FAULT_PLAN,
                )
                governed = economy.run(bootstrap, org, admin, people, logs, N_ECONOMY)
                idle = economy.run(
                    bootstrap, org, admin, people, logs, N_ECONOMY,
                    env=economy.GOVERNOR_IDLE,
                )
            finally:
                org.stop()
    finally:
        if broker is not None:
            broker.stop()
        supervisor.close()
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
        "| (c) steady-state Salesforce API calls per 1,000 Tasks (between 20% and 80% "
        f"of {governed['tasks']:,} Tasks written) "
        f"| **{governed['steady_per_1000']:.2f}** | ≤ 1.05 |",
        f"| (c') the same over the whole run, ramp-up and last partial batch "
        f"included | {governed['per_1000']:.2f} ({governed['api_calls']:.0f} calls), "
        "plus 1 describe at writer start | |",
        f"| (h) the same under the fault plan (10% UNABLE_TO_LOCK_ROW per record, "
        f"5% 503, 1% dropped after write), {faulty['tasks']:,} Tasks "
        f"| **{faulty['steady_per_1000']:.2f} per 1,000** steady, "
        f"{faulty['per_1000']:.2f} whole run "
        f"({faulty['injected']:.0f} faults injected) | |",
        f"| (i) Tasks/s end to end, governor on (share 0.5) "
        f"| {governed['tasks_per_s']:,.0f} Tasks/s "
        f"({governed['per_1000']:.2f} calls per 1,000) | |",
        f"| (j) the same with a governor that can never block "
        f"| {idle['tasks_per_s']:,.0f} Tasks/s | baseline |",
        f"| (i)/(j) | **{governed['tasks_per_s'] / idle['tasks_per_s']:.2f}** | ≈ 1 |",
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
        "API counter (one Composite call carries 5 collection upserts of 200) from "
        "publishing to the last Task, after the writer's start-up describe. (h)-(j) "
        "each start a fresh worker and writer, publish their Tasks at once and time "
        "until the last one exists in the org; one run is ~6 s, so (i)/(j) varies by "
        "about ±20% between runs (1.12, 0.93 and 0.81 in three runs on this machine), "
        "while the governor's own work is one dictionary sum per API call. (d) uses "
        "`WriteResult.written_at` "
        "(Salesforce answered) minus the event's `occurred_at` (set when published); "
        "the writer "
        "lingers up to 250 ms to fill a batch and the worker up to 50 ms.",
        "",
    ]
    lines += run_parts(APACHE_PARTS)
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
