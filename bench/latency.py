"""Latency at load: event → Task confirmed by the sandbox at 1,000 events/s, as a
curve over the writer's linger (WRITER_LINGER_MS), with API calls per 1,000 Tasks
at each setting (issue 14, item 4). Apache Kafka, the sandbox over HTTPS."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Any

from bench import economy, headline, pipeline, spy
from bench.apache import quick
from bench.procs import machine_load, proc_status
from engage_sync.supervisor import cli_argv
from sandbox.admin import SandboxAdmin
from sandbox.org import SandboxOrg

RATE = 1000  # events/s
LINGERS_MS = (250, 500, 1000, 2000)
P99_TARGET_MS = 2000.0
CALLS_TARGET = 1.05  # API calls per 1,000 Tasks
SETTINGS_FILE = headline.REPO + "/engage_sync/examples/crm-settings.example.yaml"


def curve(
    bootstrap: str,
    org: Any,
    admin: SandboxAdmin,
    logs: Path,
    seconds: float,
    lingers: tuple[int, ...] = LINGERS_MS,
) -> list[dict[str, Any]]:
    """Per linger a fresh worker and writer, a warm-up, then `seconds` at RATE.

    Fresh processes and topics per setting: a backlog one setting leaves behind
    must not be drained by the next one's writer.

    Returns:
        Per linger: p50/p99 in ms, Tasks confirmed, API calls per 1,000 Tasks,
        CPU seconds per 1,000 Tasks of each process.
    """
    people = pipeline.seed_people(admin)
    points = [
        point(bootstrap, org, admin, logs, seconds, linger, people)
        for linger in lingers
    ]
    return points


def point(
    bootstrap: str,
    org: Any,
    admin: SandboxAdmin,
    logs: Path,
    seconds: float,
    linger: int,
    people: list[str],
) -> dict[str, Any]:
    """One setting of the curve (see `curve`)."""
    ns = headline.namespace(bootstrap)
    pipe = pipeline.Pipeline(ns, org, logs, {"WRITER_LINGER_MS": str(linger)})
    try:
        worker = pipe.supervisor.start("worker", cli_argv("worker"), pipe.env)
        writer = pipe.supervisor.start(f"writer-{linger}", cli_argv("writer"), pipe.env)
        economy.warm_up(ns, admin, people)  # group joins, start-up describe
        before, cpu = admin.api_calls(), _cpu(worker.pid, writer.pid)
        spies = _spy(worker.pid, writer.pid, logs, seconds)
        try:
            lat: dict[str, Any] = pipeline.latency(
                ns, admin, people, rate=RATE, seconds=seconds
            )
        except IndexError:  # no Task confirmed before latency()'s deadline
            lat = {
                "events": int(RATE * seconds),
                "rate": RATE,
                "received": 0,
                "p50_ms": float("inf"),
                "p99_ms": float("inf"),
            }
        used = admin.api_calls() - before
        after = _cpu(worker.pid, writer.pid)
        profiles = _profiles(spies, seconds)
        libraries = {
            rec.name: spy.libraries(rec.out) for rec in spies if rec.name != "bench"
        }
    finally:
        pipe.stop()
    tasks = max(1, int(lat["received"]))
    spent = [b - a for a, b in zip(cpu, after, strict=True)]
    names = ("worker", "writer", "bench")
    found = (
        lat
        | {
            "linger_ms": linger,
            "calls_per_1000": used * 1000 / tasks,
            "load": machine_load(),
            "profiles": profiles,
            "libraries": libraries,
        }
        | {f"cpu_{n}": 1000 * s / tasks for n, s in zip(names, spent, strict=True)}
    )
    print(
        f"  linger {linger} ms: p50 {lat['p50_ms']:.0f} ms, "
        f"p99 {lat['p99_ms']:.0f} ms, {found['calls_per_1000']:.2f} calls/1,000",
        flush=True,
    )
    return found


def _spy(worker: int, writer: int, logs: Path, seconds: float) -> list[spy.Recording]:
    """py-spy (unless BENCH_PYSPY=0) on the worker, the writer and this process
    (the sandbox's threads and the load generator) through the timed window."""
    if not spy.ENABLED:
        return []
    pids = {"worker": worker, "writer": writer, "bench": os.getpid()}
    return [spy.record(name, pid, seconds, logs) for name, pid in pids.items()]


def _sandbox_or_load(frames: list[str]) -> str:
    """This process's stacks: the sandbox's request threads, or the load generator."""
    ours = any("(sandbox/" in f or "(socketserver.py)" in f for f in frames)
    return "sandbox" if ours else "load generator + results reader"


def _profiles(spies: list[spy.Recording], seconds: float) -> list[spy.Profile]:
    found: list[spy.Profile] = []
    for rec in spies:
        rec.wait(timeout=seconds + 30)
        split = _sandbox_or_load if rec.name == "bench" else (lambda _, n=rec.name: n)
        found += sorted(spy.parse(rec.out, split).values(), key=lambda p: p.name)
    return found


def _cpu(worker: int, writer: int) -> tuple[float, float, float]:
    """CPU seconds so far: worker, writer, and this process (sandbox + load)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return (
        proc_status(worker)["cpu_s"],
        proc_status(writer)["cpu_s"],
        me.ru_utime + me.ru_stime,
    )


def economical(points: list[dict[str, float]]) -> dict[str, float] | None:
    """The shortest linger that keeps ≤ CALLS_TARGET calls per 1,000 Tasks."""
    fits = [p for p in points if p["calls_per_1000"] <= CALLS_TARGET]
    return min(fits, key=lambda p: p["linger_ms"]) if fits else None


def _verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**MISS**"


def section(
    points: list[dict[str, float]], seconds: float, idle: dict[str, int]
) -> list[str]:
    """The markdown of this part: the curve, then the figure judged."""
    lines = [
        f"### Latency at load: event → Task confirmed, {RATE:,} events/s for "
        f"{seconds:.0f} s per setting (Apache Kafka)",
        "",
        "| WRITER_LINGER_MS | p50 | p99 | Tasks confirmed "
        "| API calls per 1,000 Tasks | CPU s per 1,000: worker / writer / sandbox "
        "+ load |",
        "|---|---|---|---|---|---|",
    ]
    for p in points:
        lines.append(
            f"| {p['linger_ms']:.0f} | {p['p50_ms']:,.0f} ms | {p['p99_ms']:,.0f} ms "
            f"| {p['received']:,.0f}/{p['events']:,.0f} "
            f"| {p['calls_per_1000']:.2f} | {p['cpu_worker']:.2f} / "
            f"{p['cpu_writer']:.2f} / {p['cpu_bench']:.2f} |"
        )
    best = economical(points)
    lines += ["", "| figure | value | target | verdict |", "|---|---|---|---|"]
    if best is None:
        lines.append(
            f"| p99 at the shortest linger with ≤ {CALLS_TARGET} calls per 1,000 "
            f"| no setting kept ≤ {CALLS_TARGET} | ≤ {P99_TARGET_MS:,.0f} ms "
            "| **MISS** |"
        )
    else:
        lines.append(
            f"| p99 at the shortest linger with ≤ {CALLS_TARGET} calls per 1,000 "
            f"Tasks ({best['linger_ms']:.0f} ms; {best['calls_per_1000']:.2f} calls) "
            f"| {best['p99_ms']:,.0f} ms | ≤ {P99_TARGET_MS:,.0f} ms "
            f"| {_verdict(best['p99_ms'] <= P99_TARGET_MS)} |"
        )
        lines.append(
            f"| API calls per 1,000 Tasks at that linger, steady 1,000 events/s "
            f"| {best['calls_per_1000']:.2f} | ≤ {CALLS_TARGET} | **PASS** |"
        )
    per_object = ", ".join(f"{obj} {n}" for obj, n in idle.items())
    lines.append(
        f"| API calls of a poll with no changes, per object | {per_object} "
        f"| 1 each | {_verdict(all(n <= 1 for n in idle.values()))} |"
    )
    lines += [
        "",
        "How measured: per setting a fresh worker, writer and topics, a 500-event "
        "warm-up, "
        f"then {RATE:,} calls/s for {seconds:.0f} s (published by this process); "
        "latency is `WriteResult.written_at` (the sandbox answered) minus the "
        "event's `occurred_at` (set as it is published); API calls from the "
        "sandbox's counter over the window. The writer closes a batch at 1,000 "
        "commands or WRITER_LINGER_MS after its first, whichever comes first, so "
        "at 1,000 events/s its share of the latency is at most the linger plus one "
        "Composite write, and calls per 1,000 Tasks fall as the linger grows until "
        "batches fill (one call of 5 collections of 200). The CPU columns say what "
        "1,000 events/s costs: their sum is the cores it needs. Where that is more "
        "than this shared machine gave the run "
        f"({'; '.join(str(p.get('load', '')) for p in points)} after each "
        "setting), a backlog grows through the window and the percentiles "
        "measure that queue, not the linger; batches are then full whatever the "
        "linger, so the calls per 1,000 do not show the linger's cost either.",
        "",
        "Where the worker's CPU goes (measured 2026-12-02, worker and writer on "
        "this traffic, 20 s at 1,000 calls/s, back to back): 0.52 / 0.53 and "
        "0.42 / 0.47 s per 1,000 events at WORKER_BATCH_WITHIN_MS 50 / 500, and "
        "0.50-0.52 s with 20,000 calls published at once, so on this traffic its "
        "cost is per event, not per batch. Since 2026-12-03 its links agent reads "
        "only the link reports (`salesforce.links`), not every Task's "
        "`WriteResult` (0.60 → 0.50 s per 1,000 in four A/B quick runs); what "
        "is left above the headline's backlog figure is Faust's and the event "
        "loop's cost per message when messages come a few at a time (the "
        "by-library shares below).",
        "",
    ]
    judged = best or (points[0] if points else {})
    profiles: Any = judged.get("profiles")
    if profiles:
        libraries: Any = judged.get("libraries") or {}
        lines += [
            "py-spy (GIL-holding samples at 50/s; BENCH_PYSPY=0 turns it off) at "
            f"WRITER_LINGER_MS {judged['linger_ms']:.0f}, the setting judged above. "
            "By library (a sample counts for the library whose code was innermost; "
            "asyncio is the event loop's own work): "
            + "; ".join(spy.by_library(n, f) for n, f in libraries.items())
            + ".",
            "",
            *spy.lines(profiles),
            "",
        ]
    lines.append("")
    return lines


def part(bootstrap: str, workdir: Path) -> list[str]:
    """Item 4 and the idle-poll economy figure, on their own sandbox org."""
    seconds = 10.0 if quick() else 60.0
    lingers = (500, 2000) if quick() else LINGERS_MS
    org = SandboxOrg(workdir / "latency-org").start()
    try:
        admin = SandboxAdmin(org.url, org.ca_path)
        print(
            f"latency: {RATE:,} events/s x {seconds:.0f} s per linger {lingers}",
            flush=True,
        )
        points = curve(bootstrap, org, admin, workdir, seconds, lingers)
        idle = economy.idle_poll(bootstrap, org, SETTINGS_FILE)
    finally:
        org.stop()
    return section(points, seconds, idle)
