"""Sync health against a real broker, the sandbox org and real worker and writer
processes: a Task the org's validation rule refused shows with Salesforce's message,
is resubmitted after the rule is fixed and shows "resubmitted, written"; resubmit-all
of a reason; an ambiguous match is picked and the contact linked to the choice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from engage_sync.console.app import create_app
from engage_sync.console.crm import Crm
from ground.settings import KafkaSettings, SalesforceSettings, load
from sandbox.admin import SandboxAdmin
from tests.conftest import fresh_namespace, kafka_env, org_and_processes, salesforce_env
from tests.factories import contact_event
from tests.inbound_harness import engage_copy
from tests.integration.test_contact_linking import _settings as publish_settings
from tests.integration.test_dlq_cli import BLOCKED, REASON, RULE, _task_command
from tests.unit.test_console_security import _csrf, _login, _settings, _status
from tests.waiting import wait_until


@dataclass
class Org:
    kafka: KafkaSettings
    admin: SandboxAdmin
    client: TestClient
    who: str  # the Contact the Tasks are about


@pytest.fixture(scope="module")
def org(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Org]:
    """One org, worker and writer for the module; the console app in-process."""
    kafka = fresh_namespace(kafka_bootstrap)
    with org_and_processes(tmp_path_factory.mktemp("health")) as (sandbox, procs):
        admin = SandboxAdmin(sandbox.url, sandbox.ca_path)
        who = admin.put_records("Contact", [{"LastName": "Health"}])["ids"][0]
        admin.set_rules(validation_rules=[RULE])
        publish_settings(kafka, "create_contact", "  match_order: [Contact, Lead]")
        env = kafka_env(kafka) | salesforce_env(sandbox)
        procs.start("worker", env)
        procs.start("writer", env)
        salesforce = load(SalesforceSettings, **salesforce_env(sandbox))
        app = create_app(_settings(), _status, Crm(kafka, salesforce))
        client = TestClient(app, follow_redirects=False)
        assert _login(client).status_code == 303  # type: ignore[attr-defined]
        yield Org(kafka, admin, client, who)


def _send(kafka: KafkaSettings, topic: str, schema: str, values: list[Any]) -> None:
    serde, producer = Serde(), AckingProducer(kafka)
    for key, value in values:
        producer.produce(topic, serde.encode(schema, value), key=key.encode())
    producer.flush()


def _letters(page: str) -> dict[str, dict[str, str]]:
    """Each letter of the page: its state, outcome, message and decoded event."""
    out = {}
    for lid, outcome, body in re.findall(
        r'data-letter="([^"]+)" data-reason="[^"]*" data-outcome="([^"]+)">(.*?)'
        r"</article>",
        page,
        re.S,
    ):
        state = re.search(r'data-field="state">(.*?)</dd>', body, re.S)
        message = re.search(r'data-field="message">(.*?)</dd>', body, re.S)
        out[lid] = {
            "outcome": outcome,
            "state": state.group(1) if state else "",
            "message": message.group(1) if message else "",
            "body": body,
        }
    return out


def _page(o: Org) -> str:
    answer = o.client.get(f"/sync-health?reason={REASON}")
    assert answer.status_code == 200
    return answer.text


def _with_ids(o: Org, ids: set[str]) -> dict[str, dict[str, str]]:
    """The letters of the page whose decoded command is one of `ids`."""
    return {
        lid: row
        for lid, row in _letters(_page(o)).items()
        if any(f"&#34;{cid}&#34;" in row["body"] for cid in ids)
    }


def _post(o: Org, **form: str) -> str:
    token = _csrf(o.client.get("/sync-health").text)
    done = o.client.post("/sync-health/resubmit", data={"csrf_token": token} | form)
    assert done.status_code == 303, done.text[-2000:]
    return str(done.headers["location"])


def _tasks(o: Org) -> Counter[str]:
    return Counter(t["Engage_Activity_Id__c"] for t in o.admin.records("Task"))


def test_a_refused_task_is_resubmitted_after_the_fix_and_shows_written(
    org: Org,
) -> None:
    commands = [_task_command(BLOCKED, org.who) for _ in range(3)]
    ids = {c["command_id"] for c in commands}
    topic = Topics(org.kafka).commands.name
    _send(org.kafka, topic, "SalesforceCommand", [(org.who, c) for c in commands])
    shown = wait_until(
        lambda: (rows := _with_ids(org, ids)) and len(rows) == 3 and rows,
        90,
        what="3 refused Tasks on Sync health",
    )
    assert all("This subject is blocked" in r["message"] for r in shown.values())
    assert all(r["outcome"] == "open" for r in shown.values())
    first = sorted(shown)[0]
    first_id = next(c for c in ids if f"&#34;{c}&#34;" in shown[first]["body"])

    # Before the fix: resubmitted, refused again, and its new letter is the open one.
    _post(org, letter=first, reason=REASON)
    again = wait_until(
        lambda: (r := _with_ids(org, {first_id})) and len(r) == 2 and r,
        90,
        what="the first resubmit refused again",
    )
    assert again[first]["outcome"] == "failed"
    assert "resubmitted, failed again" in again[first]["state"]
    (retry,) = set(again) - {first}

    org.admin.set_rules()  # the admin fixed the rule in the org
    assert "sent=1" in _post(org, letter=retry, reason=REASON)
    written = wait_until(
        lambda: (
            _with_ids(org, {first_id})[retry]["outcome"] == "written"
            and _with_ids(org, {first_id})[retry]
        ),
        90,
        what="resubmitted, written",
    )
    assert "resubmitted, written" in written["state"]
    assert "by admin at" in written["state"]
    assert _tasks(org)[first_id] == 1
    # A second resubmit of a written letter sends nothing.
    assert "sent=0&skipped=1" in _post(org, letter=retry, reason=REASON)

    # Every letter of the reason not yet resubmitted: the two others, only.
    location = _post(org, reason=REASON)
    assert "sent=2&skipped=2" in location  # the first and its retry: done
    rest = ids - {first_id}
    wait_until(lambda: rest <= set(_tasks(org)), 90, what="the other two Tasks")
    wait_until(
        lambda: all(
            r["outcome"] == "written"
            for lid, r in _with_ids(org, rest).items()
        ),
        60,
        what="both shown written",
    )  # fmt: skip
    tasks = _tasks(org)
    assert all(tasks[c] == 1 for c in ids), tasks


def test_an_ambiguous_match_is_picked_and_the_contact_linked_to_the_choice(
    org: Org,
) -> None:
    older, newer = org.admin.put_records("Contact", [
        {"LastName": "Twin", "Email": "twin@health.example",
         "SystemModstamp": "2024-01-01T00:00:00.000+0000"},
        {"LastName": "Twin", "Email": "twin@health.example",
         "SystemModstamp": "2024-06-01T00:00:00.000+0000"},
    ])["ids"]  # fmt: skip
    event = contact_event("ADDED", "amb-1", email="twin@health.example", last_name="T")
    topic = Topics(org.kafka).contact_actions.name
    _send(org.kafka, topic, "ContactEvent", [("amb-1", event)])

    def queued() -> str | None:
        html = org.client.get("/sync-health").text
        return html if 'data-contact="amb-1"' in html else None

    linked = wait_until(
        lambda: engage_copy(org.kafka).get("amb-1", {}).get("salesforce_id"),
        90,
        what="the add linked",
    )
    assert linked == newer  # meanwhile: the most recently modified
    html = wait_until(queued, 30, what="the ambiguous match in the queue")
    assert older in html and newer in html and "Twin" in html
    done = org.client.post(
        "/sync-health/pick",
        data={"csrf_token": _csrf(html), "engage_contact_id": "amb-1",
              "salesforce_id": older},
    )  # fmt: skip
    assert done.status_code == 303, done.text[-2000:]
    wait_until(
        lambda: engage_copy(org.kafka)["amb-1"]["salesforce_id"] == older,
        90,
        what="Engage's copy linked to the chosen record",
    )
    wait_until(lambda: queued() is None, 30, what="the queue settled")
