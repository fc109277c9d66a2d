"""`engage-sync dlq` over dead letters the real writer made: count, show, resubmit."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message, Producer

from connectors.kafka import config as kafka_config
from connectors.kafka.dlq_reader import DeadLetter, parse_offsets, select
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.commands import TaskUpsert
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from streams.activity.formatting import call_to_task
from tests.conftest import (
    REPO,
    fresh_namespace,
    kafka_env,
    org_and_processes,
    salesforce_env,
)
from tests.factories import call_event, contact_ref
from tests.kafka_helpers import Record, read_topic
from tests.waiting import wait_until

REASON = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
BLOCKED = "blocked by rule"  # the call subject the validation rule refuses
RULE = {
    "object": "Task",
    "name": "No_Blocked_Subject",
    "condition": {
        "kind": "equals",
        "field": "Subject",
        "value": f"Engage Call: {BLOCKED}",
    },
    "message": "This subject is blocked",
    "error_field": "Subject",
}
# Every command goes to partition 0, so a source offset names one record.
PLAN = ["ok", "reject", "reject", "forged", "ok", "reject", "garbage", "reject",
        "forged", "ok", "reject", "garbage", "forged", "ok"]  # fmt: skip
DEAD = {"reject": REASON, "forged": "policy-refused", "garbage": "undecodable-command"}


@dataclass
class Scenario:
    settings: KafkaSettings
    admin: SandboxAdmin
    env: dict[str, str]
    sent: dict[int, tuple[str, bytes, bytes]]  # source offset -> (kind, key, value)
    ids: dict[int, str]  # source offset -> command_id (Task commands only)
    stamps: dict[int, int]  # source offset -> the record's timestamp (ms)

    def offsets(self, kind: str) -> list[int]:
        return sorted(o for o, (k, _, _) in self.sent.items() if k == kind)

    @property
    def commands(self) -> str:
        return Topics(self.settings).commands.name


def _task_command(subject: str, who: str) -> dict[str, Any]:
    """A Task command as the activity agent emits it."""
    event = call_event(subject=subject, contact=contact_ref(salesforce_id=who))
    draft = call_to_task(event).draft
    return TaskUpsert.for_activity(
        draft.event_id, draft.to_sobject(), event["occurred_at"]
    ).to_avro()


def _forged() -> dict[str, Any]:
    return {
        "command_id": f"forged-{uuid.uuid4()}",
        "issued_at": datetime.now(UTC),
        "operation": "DELETE",
        "sobject": "Task",
        "external_id_field": None,
        "record_id": "00T5e00000AbCdEEAV",
        "fields": {},
        "source_event_id": None,
        "source_occurred_at": None,
    }


def _publish(settings: KafkaSettings, who: str) -> tuple[dict, dict, dict]:
    serde, topic = Serde(), Topics(settings).commands.name
    producer = Producer({**kafka_config.librdkafka(settings)})
    sent: dict[int, tuple[str, bytes, bytes]] = {}
    ids: dict[int, str] = {}
    stamps: dict[int, int] = {}
    for kind in PLAN:
        if kind == "garbage":
            command_id, value = "", b"not avro " + uuid.uuid4().bytes
        else:
            cmd = _task_command(BLOCKED if kind == "reject" else "fine", who)
            cmd = _forged() if kind == "forged" else cmd
            command_id, value = (
                cmd["command_id"],
                serde.encode("SalesforceCommand", cmd),
            )
        key = who.encode()

        def delivered(err: KafkaError | None, msg: Message, kind: str = kind,
                      cid: str = command_id) -> None:  # fmt: skip
            assert err is None, err
            sent[msg.offset()] = (kind, msg.key(), msg.value())
            stamps[msg.offset()] = msg.timestamp()[1]
            if kind in ("ok", "reject"):
                ids[msg.offset()] = cid

        # One record per flush: a known order, so offsets are known before reading.
        producer.produce(topic, value, key, partition=0, on_delivery=delivered)
        assert producer.flush(30) == 0
    return sent, ids, stamps


def _task_ids(admin: SandboxAdmin) -> Counter[str]:
    return Counter(t["Engage_Activity_Id__c"] for t in admin.records("Task"))


@pytest.fixture(scope="module")
def scenario(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    """One writer and org for the module: 14 commands, 10 of them dead letters."""
    settings = fresh_namespace(kafka_bootstrap)
    with org_and_processes(tmp_path_factory.mktemp("dlq")) as (org, procs):
        admin = SandboxAdmin(org.url, org.ca_path)
        who = admin.put_records("Contact", [{"LastName": "Dlq"}])["ids"][0]
        admin.set_rules(validation_rules=[RULE])
        env = kafka_env(settings) | salesforce_env(org)
        writer = procs.start("writer", env)
        sent, ids, stamps = _publish(settings, who)
        dlq = Topics(settings).dlq.name
        dead = read_topic(settings, dlq, expect=10, timeout=90)
        assert len(dead) == 10, writer.output()[-3000:]
        wait_until(lambda: len(_task_ids(admin)) == PLAN.count("ok"), 60, what="Tasks")
        yield Scenario(settings, admin, env | {"COLUMNS": "200"}, sent, ids, stamps)


def _cli(env: dict[str, str], *args: str, ok: bool = True) -> str:
    done = subprocess.run(
        cli_argv("dlq", *args),
        env=os.environ | env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    return done.stdout


def _resubmitted(s: Scenario) -> list[Record]:
    return [
        r
        for r in read_topic(s.settings, s.commands, idle=1.0)
        if "engage.resubmitted-from" in r.headers
    ]


@pytest.mark.tansu  # dead letters are read to the end by fetching (Tansu ListOffsets)
def test_list_counts_dead_letters_by_reason_and_source_topic(
    scenario: Scenario,
) -> None:
    listed = json.loads(_cli(scenario.env, "list", "--json"))
    expected = Counter(DEAD[k] for k in PLAN if k in DEAD)
    assert listed["total"] == 10
    assert listed["by_reason"] == dict(expected)
    assert listed["by_topic"] == {scenario.commands: 10}
    assert {(g["reason"], g["count"]) for g in listed["groups"]} == set(
        expected.items()
    )
    assert all(g["first_seen"] <= g["last_seen"] for g in listed["groups"])
    table = _cli(scenario.env, "list")
    assert all(reason in table for reason in expected)


@pytest.mark.tansu  # dead letters are read to the end by fetching (Tansu ListOffsets)
def test_show_returns_exactly_one_reasons_records_with_source_offsets(
    scenario: Scenario,
) -> None:
    rows = json.loads(_cli(scenario.env, "show", "--reason", REASON, "--json"))
    rejected = scenario.offsets("reject")
    assert sorted(r["source_offset"] for r in rows) == rejected
    for row in rows:
        kind, key, value = scenario.sent[row["source_offset"]]
        assert (row["source_topic"], row["source_partition"]) == (scenario.commands, 0)
        assert row["reason"] == REASON and "This subject is blocked" in row["message"]
        assert row["key"] == key.decode()
        decoded = row["value"]["decoded"]
        assert decoded["command_id"] == scenario.ids[row["source_offset"]]
        assert decoded["fields"]["Subject"] == f"Engage Call: {BLOCKED}"
    limited = json.loads(
        _cli(scenario.env, "show", "--reason", REASON, "--limit", "2", "--json")
    )
    assert [r["source_offset"] for r in limited] == [
        r["source_offset"] for r in rows[:2]
    ]


def test_show_previews_undecodable_bytes_without_crashing(scenario: Scenario) -> None:
    rows = json.loads(
        _cli(scenario.env, "show", "--reason", "undecodable-command", "--json")
    )
    assert sorted(r["source_offset"] for r in rows) == scenario.offsets("garbage")
    for row in rows:
        value = scenario.sent[row["source_offset"]][2]
        assert row["value"]["bytes"] == len(value)
        assert row["value"]["hex"] == value.hex()
        assert row["value"]["not_decoded"]
    table = _cli(scenario.env, "show", "--reason", "undecodable-command")
    assert all(scenario.sent[o][2].hex() in table for o in scenario.offsets("garbage"))


def test_dry_run_prints_the_selection_and_sends_nothing(scenario: Scenario) -> None:
    before = len(read_topic(scenario.settings, scenario.commands, idle=1.0))
    out = _cli(scenario.env, "resubmit", "--reason", REASON, "--dry-run")
    assert f"would resubmit {len(scenario.offsets('reject'))} dead letter(s)" in out
    assert out.count("would send") == len(scenario.offsets("reject"))
    assert len(read_topic(scenario.settings, scenario.commands, idle=1.0)) == before


def test_resubmit_by_topic_and_source_offsets_sends_exactly_those(
    scenario: Scenario,
) -> None:
    scenario.admin.set_rules()  # the admin fixed the rule
    first, second, *_, last = scenario.offsets("reject")
    assert second == first + 1  # so a range can select them with an "ok" before
    wanted = [first, second, last]
    before = _resubmitted(scenario)
    out = _cli(
        scenario.env, "resubmit", "--topic", "salesforce.commands",
        "--offsets", f"{first - 1}-{second},{last}",
    )  # fmt: skip
    assert "resubmitted 3 dead letter(s)" in out
    new = [r for r in _resubmitted(scenario) if r not in before]
    assert sorted((r.key, r.value) for r in new) == sorted(
        scenario.sent[o][1:] for o in wanted
    )
    assert {r.partition for r in new} == {0}
    by_value = {scenario.sent[o][2]: scenario.stamps[o] for o in wanted}
    assert all(r.timestamp_ms == by_value[r.value] for r in new)
    dlq = Topics(scenario.settings).dlq.name
    assert all(
        r.headers["engage.resubmitted-from"].decode().startswith(f"{dlq}/") for r in new
    )
    want_ids = {scenario.ids[o] for o in wanted}
    wait_until(lambda: want_ids <= set(_task_ids(scenario.admin)), 60, what="Tasks")


def test_resubmit_by_reason_writes_the_fixed_records_and_twice_makes_no_duplicate(
    scenario: Scenario,
) -> None:
    scenario.admin.set_rules()
    rejected = {scenario.ids[o] for o in scenario.offsets("reject")}
    serde, results = Serde(), Topics(scenario.settings).results.name

    def outcomes() -> list[dict[str, Any]]:
        decoded = (
            serde.decode("WriteResult", r.value)
            for r in read_topic(scenario.settings, results, idle=1.0)
        )
        return [d for d in decoded if d["event_id"] in rejected]

    out = _cli(scenario.env, "resubmit", "--reason", REASON)
    assert f"resubmitted {len(rejected)} dead letter(s)" in out
    wait_until(lambda: rejected <= set(_task_ids(scenario.admin)), 60, what="Tasks")
    tasks = _task_ids(scenario.admin)
    seen = len(outcomes())

    out = _cli(scenario.env, "resubmit", "--reason", REASON)
    assert f"resubmitted {len(rejected)} dead letter(s)" in out
    wait_until(
        lambda: len(outcomes()) >= seen + len(rejected), 60, what="second results"
    )
    assert _task_ids(scenario.admin) == tasks
    assert max(tasks.values()) == 1
    # Only the first attempts (under the rule) failed; every resubmission succeeded.
    assert Counter(r["success"] for r in outcomes())[False] == len(rejected)


def _letter(offset: int, partition: int, reason: str = "r") -> DeadLetter:
    return DeadLetter(
        0, offset, 0, None, None, "src", partition, offset, reason, "", ""
    )


def test_offset_selection_takes_ranges_and_an_optional_source_partition() -> None:
    assert parse_offsets("12,15,20-30") == [(12, 12), (15, 15), (20, 30)]
    for bad in ("", "3-1", "a", "1-", "-2"):
        with pytest.raises(ValueError):
            parse_offsets(bad)
    letters = [_letter(o, p) for p in (0, 1) for o in (11, 12, 15, 25, 31)]
    chosen = select(letters, topic="src", offsets=parse_offsets("12,15,20-30"))
    assert sorted((d.source_partition, d.source_offset) for d in chosen) == [
        (0, 12), (0, 15), (0, 25), (1, 12), (1, 15), (1, 25),
    ]  # fmt: skip
    in_one = select(letters, partition=1, offsets=[(12, 12)])
    assert [(d.source_partition, d.source_offset) for d in in_one] == [(1, 12)]
