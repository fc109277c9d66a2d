"""Accounts Engage creates for new Contacts: the org decides, the writer goes on."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from prometheus_client import REGISTRY

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.writer import SalesforceWriter
from domain.crm_settings.models import CrmSettings
from ground.settings import KafkaSettings, SalesforceSettings, WriterSettings
from sandbox.admin import SandboxAdmin
from sandbox.rules import company_key
from sandbox.seed import standard_account_duplicate_rule
from tests.conftest import salesforce_env
from tests.factories import link_command
from tests.kafka_helpers import Record, read_topic
from tests.waiting import wait_until

ACCOUNT_NEEDS_WEBSITE = {
    "object": "Account",
    "name": "Website_Required",
    "active": True,
    "condition": {"kind": "required", "field": "Website"},
    "message": "Every Account needs a Website",
    "error_field": "Website",
}


class WriterThread:
    """One writer of the group, in this process (its loop on a thread of its own)."""

    def __init__(self, kafka: KafkaSettings, org: Any, crm: CrmSettings) -> None:
        client = SalesforceClient(SalesforceSettings(**salesforce_env(org)))  # type: ignore[arg-type]
        self.writer = SalesforceWriter(
            kafka, WriterSettings(), client, settings_provider=lambda: crm
        )
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.writer.run()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.error = exc

    def start(self) -> WriterThread:
        self.writer.start()
        self._thread.start()
        return self

    def partitions(self) -> set[int]:
        return self.writer.assignment()

    def alive(self) -> bool:
        return self._thread.is_alive() and self.error is None

    def stop(self) -> None:
        self.writer.stop_event.set()
        self._thread.join(30)


def _crm(on_refused: str | None = None) -> CrmSettings:
    sync: dict[str, Any] = {
        "engage_created_contacts": "create_contact",
        "engage_created_accounts": "create",
        "auto_associate_accounts": True,
    }
    if on_refused is not None:
        sync["on_account_refused"] = on_refused
    return CrmSettings.model_validate({"objects": {}, "sync_settings": sync})


def _send(kafka: KafkaSettings, commands: list[tuple[int, dict[str, Any]]]) -> None:
    """Commands onto chosen partitions of salesforce.commands, in one flush."""
    serde, topic, producer = Serde(), Topics(kafka).commands.name, AckingProducer(kafka)
    for partition, command in commands:
        value = serde.encode("SalesforceCommand", command)
        producer.produce(
            topic, value, command["fields"]["Email"].encode(), partition=partition
        )
    producer.flush()


def _results(kafka: KafkaSettings) -> list[dict[str, Any]]:
    serde = Serde()
    records = read_topic(kafka, Topics(kafka).results.name, idle=0.5)
    return [serde.decode("WriteResult", r.value) for r in records]


def _dead_letters(kafka: KafkaSettings) -> list[Record]:
    return read_topic(kafka, Topics(kafka).dlq.name, idle=0.5)


def _rejected(code: str) -> float:
    labels = {"object": "Account", "code": code}
    return (
        REGISTRY.get_sample_value("engage_sync_salesforce_rejected_total", labels)
        or 0.0
    )


@pytest.fixture
def writers() -> Any:
    running: list[WriterThread] = []
    yield running
    for w in running:
        w.stop()


def test_two_writers_seeing_one_new_company_at_once_create_one_account(
    kafka_settings: KafkaSettings, sandbox_org: Any, writers: list[WriterThread]
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.set_rules(duplicate_rules=[standard_account_duplicate_rule(active=True)])
    crm = _crm()
    writers += [WriterThread(kafka_settings, sandbox_org, crm).start() for _ in "ab"]
    shares = wait_until(
        lambda: (
            (s := [w.partitions() for w in writers])
            and all(s)
            and set().union(*s) == {0, 1, 2, 3}
            and sum(map(len, s)) == 4
            and s
        ),
        60,
        what="the commands topic split between the two writers",
    )
    # Each Salesforce answer takes 0.3 s, so both writers query for the company
    # before either has created it: the race the org's duplicate rule must close.
    admin.set_faults({"latency_ms": 300})
    companies = {"Hooli": "Hooli", "Globex": "Globex", "Initech": "INITECH, Inc."}
    commands = []
    for name, other_spelling in companies.items():
        for p in range(4):  # one colleague per partition: both writers see the company
            spelling = name if p % 2 == 0 else other_spelling
            ecid = f"{name.lower()}-{p}"
            commands.append(
                (p, link_command(ecid, f"{ecid}@{name.lower()}.example", spelling))
            )
    _send(kafka_settings, commands)
    ecids = {c["engage_contact_id"] for _, c in commands}
    results = wait_until(
        lambda: (
            (rs := _results(kafka_settings))
            and {r["engage_contact_id"] for r in rs} >= ecids
            and rs
        ),
        90,
        0.5,
        what=f"a result for each of {len(ecids)} link commands",
    )
    admin.set_faults({})
    assert all(w.alive() for w in writers), [w.error for w in writers]
    failed = [r for r in results if not r["success"]]
    assert failed == []
    accounts = {r["Id"]: r["Name"] for r in admin.records("Account")}
    # One Account per company, named as whichever colleague's create won.
    assert sorted(company_key(n) for n in accounts.values()) == [
        "globex",
        "hooli",
        "initech",
    ], accounts
    contacts = admin.records("Contact")
    by_company = Counter(
        (c["Email"].split("@")[1], c.get("AccountId")) for c in contacts
    )
    # Every colleague of one company sits on the same Account.
    assert len(by_company) == 3 and set(by_company.values()) == {4}, by_company
    assert None not in {c.get("AccountId") for c in contacts}
    # Complete, not "quiet": a batch's dead letters are acknowledged with its results.
    assert _dead_letters(kafka_settings) == []
    print(
        f"\n[two writers] partitions {shares}: 12 colleagues of 3 new companies -> "
        f"{len(accounts)} Accounts {sorted(accounts.values())}"
    )


@pytest.mark.parametrize(
    "on_refused", ["create_contact_without_account", "skip_contact"]
)
def test_refused_account_is_reported_and_the_contact_follows_the_setting(
    on_refused: str,
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    writers: list[WriterThread],
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.set_rules(validation_rules=[ACCOUNT_NEEDS_WEBSITE])
    code = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    before = _rejected(code)
    setting = None if on_refused == "create_contact_without_account" else on_refused
    writers.append(WriterThread(kafka_settings, sandbox_org, _crm(setting)).start())
    _send(
        kafka_settings, [(0, link_command("ann", "ann@umbrella.example", "Umbrella"))]
    )
    # The writer goes on: a later command on the same partition is written.
    _send(kafka_settings, [(0, link_command("bob", "bob@nowhere.example", None))])
    results = wait_until(
        lambda: (
            (rs := _results(kafka_settings))
            and {r["engage_contact_id"] for r in rs} >= {"ann", "bob"}
            and rs
        ),
        60,
        0.5,
        what="results for ann and bob",
    )
    assert writers[0].alive(), writers[0].error
    refusal = [r for r in results if r["object"] == "Account"]
    assert len(refusal) == 1
    assert refusal[0]["event_id"] == "link-ann"
    assert refusal[0]["success"] is False
    assert refusal[0]["status_code"] == code
    assert refusal[0]["message"] == "Every Account needs a Website"
    (letter,) = _dead_letters(kafka_settings)
    assert letter.headers["engage.errors.reason"] == code.encode()
    assert (
        b"Every Account needs a Website"
        in letter.headers["__connect.errors.exception.message"]
    )
    assert _rejected(code) == before + 1
    assert admin.records("Account") == []
    contacts = {c["Email"]: c for c in admin.records("Contact")}
    assert "bob@nowhere.example" in contacts
    ann = [
        r for r in results if r["engage_contact_id"] == "ann" and r is not refusal[0]
    ]
    if on_refused == "create_contact_without_account":
        assert contacts["ann@umbrella.example"].get("AccountId") is None
        assert [(r["object"], r["status_code"]) for r in ann] == [
            ("Contact", "CREATED")
        ]
    else:
        assert "ann@umbrella.example" not in contacts
        assert ann == []
