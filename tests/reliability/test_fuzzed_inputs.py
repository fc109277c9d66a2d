"""Fuzzed inputs on every input topic: no crash, bad ones dead-lettered, good kept."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.kafka_helpers import Record, read_topic
from tests.reliability.checker import ScenarioCounts, audit_tasks
from tests.reliability.conftest import FULL, Sizes
from tests.reliability.fuzz import Fuzzer, Input
from tests.reliability.pipeline import Pipeline
from tests.reliability.scenario import CI_ENV, wait_for_tasks
from tests.reliability.traffic import Coordinates, Publisher

SERDE = Serde()
CONNECT_HEADERS = (
    "__connect.errors.topic",
    "__connect.errors.partition",
    "__connect.errors.offset",
    "__connect.errors.exception.class.name",
    "__connect.errors.exception.message",
    "engage.errors.reason",
)


def _origin(record: Record) -> Coordinates:
    h = record.headers
    return Coordinates(
        h.get("__connect.errors.topic", b"").decode(errors="replace"),
        int(h.get("__connect.errors.partition", b"-1") or -1),
        int(h.get("__connect.errors.offset", b"-1") or -1),
    )


def _command_id(record: Record) -> str | None:
    try:
        return str(SERDE.decode("SalesforceCommand", record.value)["command_id"])
    except DecodeError:
        return None


def _by_command_id(records: list[Record]) -> dict[str, list[Record]]:
    found: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        found[_command_id(record) or ""].append(record)
    return found


def _problem(inp: Input, found: list[Record]) -> str | None:
    """Why the dead letters for one bad input are not exactly its one dead letter."""
    if len(found) != 1:
        return f"{len(found)} dead letters"
    record = found[0]
    missing = [h for h in CONNECT_HEADERS if not record.headers.get(h)]
    if missing:
        return f"headers missing: {missing}"
    if inp.command_id is not None and _command_id(record) == inp.command_id:
        return None  # the writer's dead letter: it keeps the command, not the event
    if (record.value or b"") != inp.value or (record.key or b"") != (inp.key or b""):
        return "original key/value not kept"
    return None


def _messages(records: list[Record]) -> Counter[str]:
    return Counter(
        f"{r.headers.get('engage.errors.reason', b'?').decode(errors='replace')}: "
        f"{r.headers.get('__connect.errors.exception.message', b'').decode()[:160]}"
        for r in records
    )


@pytest.mark.timeout(1200 if FULL else 300)
def test_fuzzed_inputs_crash_nothing_dead_letter_every_bad_one_and_write_every_good_one(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
    sizes: Sizes,
    report: Callable[[ScenarioCounts], None],
) -> None:
    started = time.monotonic()
    topics = Topics(kafka_settings)
    inputs = Fuzzer(topics, people, seed=41).inputs(sizes.fuzzed, 40 if FULL else 10)
    bad = [i for i in inputs if i.bad]
    tasks = {i.task_id: i.task for i in inputs if i.task_id is not None}
    pipeline = Pipeline(
        processes, kafka_env(kafka_settings) | salesforce_env(sandbox_org) | CI_ENV
    )
    pipeline.start_all()
    publisher = Publisher(kafka_settings)
    for inp in inputs:
        publisher.send(inp.topic, inp.value, inp.key, inp.tag)
    publisher.flush()

    wait_for_tasks(admin, pipeline, len(tasks), 120 + len(inputs) / 20, stall=20)
    dlq = read_topic(kafka_settings, topics.dlq.name, expect=len(bad), timeout=15)
    alive_at_end = pipeline.alive() and pipeline.watch()
    exit_codes = pipeline.stop()
    audit = audit_tasks(admin.records("Task"), tasks, sample=len(tasks))

    by_origin: dict[Coordinates, list[Record]] = defaultdict(list)
    for record in dlq:
        by_origin[_origin(record)].append(record)
    placed = publisher.placed
    short = {spec.name: spec.name.removeprefix(topics.prefix) for spec in topics.all()}
    ours = {placed[i.tag] for i in inputs}
    by_command = _by_command_id([r for r in dlq if _origin(r) not in ours])
    writer_side = {i.command_id for i in bad if i.command_id in by_command}
    unexpected = [
        r for r in dlq if _origin(r) not in ours and _command_id(r) not in writer_side
    ]
    problems: Counter[str] = Counter()
    for inp in bad:
        found = by_origin.get(placed[inp.tag], [])
        found = found + by_command.get(inp.command_id or "", [])
        why = _problem(inp, found)
        if why is not None:
            problems[f"{short[inp.topic]} {inp.kind}: {why}"] += 1
    good_dead = Counter(
        f"{short[i.topic]} {i.kind}"
        for i in inputs
        if not i.bad and placed[i.tag] in by_origin
    )
    counts = ScenarioCounts(
        events_sent=len(inputs),
        crashes=len(pipeline.crashes),
        dead_letters=len(dlq),
        seconds=time.monotonic() - started,
        faults_injected=dict(admin.stats()["faults_injected"]),
        api_calls=admin.api_calls(),
        extra={
            "bad_inputs": len(bad),
            "bad_not_dead_lettered_once": sum(problems.values()),
            "good_dead_lettered": sum(good_dead.values()),
            "unexpected_dead_letters": len(unexpected),
            "dead_lettered_by_the_writer": len(writer_side),
            "kinds": dict(Counter(i.kind.split("-")[0] for i in inputs)),
        },
    )
    counts.take_audit(audit)
    counts.events_sent = len(inputs)  # every input, not only those that become Tasks
    counts.extra["tasks_expected"] = len(tasks)
    report(counts)

    # Every failure at once: a run is slow, and one finding must not hide another.
    failures = []
    if pipeline.crashes or not alive_at_end:
        failures.append(f"crashes: {pipeline.crash_report()}")
    if set(exit_codes.values()) != {0}:
        failures.append(f"exit codes: {exit_codes}")
    failures += [
        f"bad input not dead-lettered once: {n} x {p}"
        for p, n in problems.most_common()
    ]
    if good_dead:
        failures.append(f"good inputs dead-lettered: {good_dead}")
    failures += [
        f"dead letter of a record never sent: {n} x {m}"
        for m, n in _messages(unexpected).most_common(10)
    ]
    if audit.lost or audit.duplicated or audit.mismatched or audit.unexpected:
        failures.append(audit.summary())
    assert not failures, "\n".join(failures)
