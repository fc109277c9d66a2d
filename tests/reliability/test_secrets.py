"""Secrets (private key, password, client secret, tokens) never reach logs or topics."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.kafka.serde import Serde
from connectors.salesforce import policy
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.reliability.checker import ScenarioCounts, audit_tasks, count_log_lines
from tests.reliability.conftest import FULL, Sizes
from tests.reliability.pipeline import Pipeline
from tests.reliability.scenario import (
    CI_ENV,
    dead_letters,
    expected,
    reasons,
    wait_for_tasks,
)
from tests.reliability.secrets_scan import (
    credential_secrets,
    file_blobs,
    issued_tokens,
    scan,
    topic_blobs,
)
from tests.reliability.traffic import Publisher, activity_events

SERDE = Serde()
WRONG_PASSWORD = "Wr0ng-but-still-a-secret-42!"  # noqa: S105 - a planted test secret
# Faults that make the writer talk about sessions and errors, where leaks happen:
# the first request finds its session revoked, three records fail validation.
PLAN = {
    "seed": 51,
    "rates": {
        "UNABLE_TO_LOCK_ROW": 0.1,
        "SERVER_UNAVAILABLE": 0.05,
        "DROP_CONNECTION": 0.01,
    },
    "next": [
        {"fault": "INVALID_SESSION_ID", "count": 1},
        {"fault": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "count": 3},
    ],
}


def _password_env(org: Any, password: str) -> dict[str, str]:
    creds = org.credentials
    return {
        "SALESFORCE_LOGIN_URL": org.url,
        "SALESFORCE_CLIENT_ID": creds.client_id,
        "SALESFORCE_CLIENT_SECRET": creds.client_secret,
        "SALESFORCE_USERNAME": creds.username,
        "SALESFORCE_PASSWORD": password,
        "SALESFORCE_CA_BUNDLE": str(org.ca_path),
    }


def _bad_inputs(publisher: Publisher, people: list[str]) -> int:
    """Dead letters carry messages; these make some (undecodable, refused)."""
    t, serde = publisher.topics, SERDE
    forged = {
        "command_id": "forged-1",
        "issued_at": 0,
        "operation": "DELETE",
        "sobject": "Task",
        "external_id_field": policy.TASK_EXTERNAL_ID,
        "fields": {policy.TASK_EXTERNAL_ID: "forged-1", "WhoId": people[0]},
    }
    publisher.send(t.calls.name, b"\xc3\x01not avro at all", b"k", "bad-1")
    publisher.send(t.emails.name, b"\x00\x00\x00\x00\x07", b"k", "bad-2")
    publisher.send(t.contact_actions.name, b"{}", b"k", "bad-3")
    publisher.send(
        t.commands.name, serde.encode("SalesforceCommand", forged), b"k", "bad-4"
    )
    return 4


@pytest.mark.timeout(900 if FULL else 300)
def test_secrets_never_appear_in_logs_dead_letters_or_any_topic(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
    sizes: Sizes,
    report: Callable[[ScenarioCounts], None],
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    n = sizes.secrets_events
    events = activity_events(people, n + 50, seed=51)
    first, second = events[:n], events[n:]
    admin.set_faults(PLAN)
    kafka = kafka_env(kafka_settings) | CI_ENV
    pipeline = Pipeline(processes, kafka | salesforce_env(sandbox_org))
    pipeline.start_all()
    publisher = Publisher(kafka_settings)
    bad = _bad_inputs(publisher, people)
    for schema, event in first:
        publisher.send_event(schema, event)
    publisher.flush()
    assert wait_for_tasks(admin, pipeline, n // 2, 120), pipeline.crash_report()
    admin.expire_tokens()
    wait_for_tasks(admin, pipeline, n - 3, 120, stall=20)

    # The same writer role on the password flow: first refused, then working.
    processes.stop(pipeline.current.pop("writer"))
    refused = processes.start(
        "writer", kafka | _password_env(sandbox_org, WRONG_PASSWORD), "writer-refused"
    )
    refused_code = refused.popen.wait(60)
    pipeline.env = kafka | _password_env(sandbox_org, sandbox_org.credentials.password)
    pipeline.start("writer")
    for schema, event in second:
        publisher.send_event(schema, event)
    publisher.flush()
    admin.expire_tokens(include_refresh=True)
    wait_for_tasks(admin, pipeline, n + 50 - 3, 120, stall=20)
    dlq = dead_letters(kafka_settings)
    exit_codes = pipeline.stop()

    secrets = credential_secrets(sandbox_org, [("wrong password", WRONG_PASSWORD)])
    tokens = issued_tokens(sandbox_org)
    logs = sorted(processes.tmp.glob("*.log"))
    blobs = list(file_blobs(logs)) + list(topic_blobs(kafka_settings))
    hits = scan(blobs, secrets + tokens)
    # The scan can fail: a token planted in a file is found.
    planted = tmp_path / "planted.log"
    planted.write_bytes(b"INFO session " + tokens[-1].value + b" refreshed\n")
    assert scan(file_blobs([planted]), tokens) == [f"planted.log: {tokens[-1].name}"]

    # The three records the org's (injected) validation rule refused are not lost:
    # they are dead letters, which carry the command and its id.
    refused_ids = {
        SERDE.decode("SalesforceCommand", r.value)["command_id"]
        for r in dlq
        if r.headers.get("engage.errors.reason") == b"FIELD_CUSTOM_VALIDATION_EXCEPTION"
    }
    want = {k: v for k, v in expected(events).items() if k not in refused_ids}
    audit = audit_tasks(admin.records("Task"), want, sample=0)
    counts = ScenarioCounts(
        events_sent=len(events) + bad,
        dead_letters=len(dlq),
        crashes=len(pipeline.crashes),
        api_calls=admin.api_calls(),
        seconds=time.monotonic() - started,
        faults_injected=dict(admin.stats()["faults_injected"]),
        extra={
            "secrets": len(secrets),
            "tokens_issued": len(tokens),
            "places_scanned": len(blobs),
            "logs": len(logs),
            "secret_hits": len(hits),
        },
    )
    counts.take_audit(audit)
    counts.take_logs(count_log_lines(pipeline.logs("writer")))
    counts.events_sent = len(events) + bad
    counts.extra["refused_by_validation_rule"] = len(refused_ids)
    report(counts)

    assert not hits, "secrets found:\n" + "\n".join(hits[:20])
    assert refused_code not in (0, None), refused.output()[-500:]
    assert "refused the password login" in refused.output()
    assert len(tokens) >= 4, "too few tokens issued for the scan to mean much"
    assert len(logs) >= 4 and reasons(dlq)["undecodable"] >= 2, reasons(dlq)
    assert len(refused_ids) == 3, reasons(dlq)
    assert not audit.lost and not audit.duplicated, audit.summary()
    assert not pipeline.crashes, pipeline.crash_report()
    assert set(exit_codes.values()) == {0}, exit_codes
