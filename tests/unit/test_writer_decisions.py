"""The writer's decisions, in process: planning, answers, Account creates (fakes)."""

from __future__ import annotations

from typing import Any

from connectors.kafka.deadletter import Origin
from connectors.salesforce.batch import BatchWriter
from connectors.salesforce.contract import TaskContract
from connectors.salesforce.errors import ErrorKind, Problem, SkippableRecordError
from connectors.salesforce.outcomes import Pending
from connectors.salesforce.plan import judge_answers, plan_batch
from domain.commands import LeadStatus, TaskUpsert
from domain.crm_settings.models import CrmSettings
from tests.factories import link_command
from tests.ports import FakeSalesforce, InstantPacing, MemoryPublisher

CONTRACT = TaskContract(absent=frozenset(), create_only=frozenset({"TaskSubtype"}))
LOCKED = {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain access"}


def _task(event_id: str, who: str = "003000000000001AAA", **fields: Any) -> Pending:
    task = {"Engage_Activity_Id__c": event_id, "WhoId": who, "Subject": "Hi"} | fields
    command = TaskUpsert(command_id=event_id, fields=task).to_avro()
    return Pending(Origin("commands", 0, len(event_id), b"k", b"v"), command)


def _link(ecid: str, company: str | None = None) -> Pending:
    return Pending(
        Origin("commands", 1, 7, b"k", b"v"), link_command(ecid, None, company)
    )


def _writer(
    sf: FakeSalesforce, crm: CrmSettings | None = None, attempts: int = 3
) -> tuple[BatchWriter, MemoryPublisher, InstantPacing]:
    publisher, pace = MemoryPublisher(), InstantPacing()
    writer = BatchWriter(sf, publisher, pace, lambda: crm, attempts)
    writer.contract = CONTRACT
    return writer, publisher, pace


def _accounts(on_refused: str | None = None) -> CrmSettings:
    sync: dict[str, Any] = {
        "engage_created_contacts": "create_contact",
        "engage_created_accounts": "create",
    }
    if on_refused:
        sync["on_account_refused"] = on_refused
    return CrmSettings.model_validate({"objects": {}, "sync_settings": sync})


def _refusing_accounts(sf: FakeSalesforce, problem: Problem) -> None:
    def post(path: str, body: dict[str, Any]) -> Any:
        if path.startswith("sobjects/Account"):
            raise SkippableRecordError(problem)
        return None

    sf.on_post = post


# -- planning ------------------------------------------------------------------------


def test_upserts_are_grouped_by_object_and_key_and_sorted_by_parent() -> None:
    items = [_task("e1", "003B"), _task("e2", "003A"), _task("e3", "003B")]
    plan = plan_batch(items)
    (chunk,) = plan.upserts
    assert (chunk.sobject, chunk.external_id_field) == ("Task", "Engage_Activity_Id__c")
    # Siblings of one parent side by side, so one request serializes their locks.
    assert [i.command["command_id"] for i in chunk.items] == ["e2", "e1", "e3"]


def test_more_than_a_composite_call_of_upserts_is_split_into_chunks_of_1000() -> None:
    plan = plan_batch([_task(f"e{i}") for i in range(2100)])
    assert [len(c.items) for c in plan.upserts] == [1000, 1000, 100]


def test_links_and_status_updates_are_planned_apart_from_upserts() -> None:
    update = Pending(
        Origin("commands", 0, 9, b"k", b"v"),
        LeadStatus(
            command_id="status-1",
            record_id="00Q000000000001AAA",
            status="Working",
            engage_contact_id="ann",
        ).to_avro(),
    )
    plan = plan_batch([_task("e1"), _link("ann"), update])
    assert [len(c.items) for c in plan.upserts] == [1]
    assert [i.command["command_id"] for i in plan.links] == ["link-ann"]
    assert [i.command["command_id"] for i in plan.updates] == ["status-1"]


def test_policy_refused_command_is_never_sent_and_gets_a_result_and_dead_letter() -> (
    None
):
    forged = _task("e1", Description="x", OwnerId="005A")
    forged.command["fields"]["IsDeleted"] = True
    plan = plan_batch([forged])
    assert plan.upserts == [] and len(plan.refused) == 1
    sf = FakeSalesforce()
    writer, publisher, _ = _writer(sf)
    writer.write([forged])
    assert sf.calls == []
    (result,) = publisher.results
    assert (result["success"], result["status_code"]) == (False, "policy-refused")
    assert "IsDeleted" in result["message"]
    assert [reason for _, _, reason in publisher.dead_letters] == ["policy-refused"]


def test_a_key_twice_in_a_batch_is_sent_once_and_both_commands_get_its_result() -> None:
    first, again = _task("e1", Subject="old"), _task("e1", Subject="new")
    again.command["command_id"] = "e1-again"
    sf = FakeSalesforce()
    writer, publisher, _ = _writer(sf)
    writer.write([first, again])
    (request,) = sf.upserts()
    assert [r["Subject"] for r in request] == ["new"]  # the later command wins
    twin, sent = publisher.results
    assert (twin["event_id"], sent["event_id"]) == ("e1", "e1-again")
    assert twin["salesforce_id"] == sent["salesforce_id"] is not None
    assert twin["success"] and sent["success"]


# -- Salesforce's answers ---------------------------------------------------------


def test_create_only_refusal_is_resent_at_once_without_the_create_only_fields() -> None:
    refused = {
        "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "message": "Unable to create/update fields: TaskSubtype.",
        "fields": ["TaskSubtype"],
    }
    sf = FakeSalesforce()
    sf.upsert_answers = [
        [{"success": False, "errors": [refused]}],
        [{"id": "00T1", "success": True, "created": False}],
    ]
    writer, publisher, pace = _writer(sf)
    writer.write([_task("e1", TaskSubtype="Call")])
    first, resent = sf.upserts()
    assert first[0]["TaskSubtype"] == "Call" and "TaskSubtype" not in resent[0]
    assert pace.waits == []  # no backoff: the org is fine
    assert [(r["success"], r["status_code"]) for r in publisher.results] == [
        (True, "OK")
    ]
    assert publisher.dead_letters == []


def test_row_locked_records_are_retried_together_after_one_wait() -> None:
    sf = FakeSalesforce()
    sf.upsert_answers = [
        [
            {"success": False, "errors": [LOCKED]},
            {"id": "00T2", "success": True, "created": True},
            {"success": False, "errors": [LOCKED]},
        ],
        [{"id": "00T1", "success": True}, {"id": "00T3", "success": True}],
    ]
    writer, publisher, pace = _writer(sf)
    writer.write([_task("e1", "003A"), _task("e2", "003B"), _task("e3", "003C")])
    first, retry = sf.upserts()
    assert [r["Engage_Activity_Id__c"] for r in retry] == ["e1", "e3"]
    assert pace.waits == ["UNABLE_TO_LOCK_ROW"]
    assert all(r["success"] for r in publisher.results)


def test_a_record_still_locked_after_max_attempts_is_given_up_and_dead_lettered() -> (
    None
):
    sf = FakeSalesforce()
    sf.upsert_answers = [[{"success": False, "errors": [LOCKED]}]] * 3
    writer, publisher, pace = _writer(sf, attempts=3)
    writer.write([_task("e1")])
    assert len(sf.upserts()) == 3 and len(pace.waits) == 2
    (result,) = publisher.results
    assert result["status_code"] == "RETRIES_EXHAUSTED"
    assert result["message"].startswith("UNABLE_TO_LOCK_ROW after 3 attempts")
    assert [reason for _, _, reason in publisher.dead_letters] == ["retries-exhausted"]
    assert writer.stats.gave_up == 1


def test_judging_answers_sorts_records_into_each_verdict() -> None:
    items = [_task(f"e{i}") for i in range(4)]
    items[3].attempts = 2
    validation = {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "no"}
    answers = [
        {"id": "00T1", "success": True},
        {"success": False, "errors": [LOCKED]},
        {"success": False, "errors": [validation]},
        {"success": False, "errors": [LOCKED]},
    ]
    decisions = judge_answers(
        [(i, dict(i.command["fields"])) for i in items], answers, CONTRACT, 3
    )
    assert [d.verdict for d in decisions] == ["written", "retry", "rejected", "give_up"]
    assert [d.attempts for d in decisions] == [0, 1, 0, 3]


def test_a_validation_refusal_is_reported_with_salesforces_message_not_retried() -> (
    None
):
    validation = {
        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Subject must not be Hi",
        "fields": ["Subject"],
    }
    sf = FakeSalesforce()
    sf.upsert_answers = [[{"success": False, "errors": [validation]}]]
    writer, publisher, pace = _writer(sf)
    writer.write([_task("e1")])
    assert len(sf.upserts()) == 1 and pace.waits == []
    (result,) = publisher.results
    assert (result["status_code"], result["message"], result["fields"]) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Subject must not be Hi",
        ["Subject"],
    )
    (letter,) = publisher.dead_letters
    assert letter[1:] == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: Subject must not be Hi",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    )


# -- Account creates ----------------------------------------------------------------


def test_a_new_account_is_created_under_the_duplicate_rule_header() -> None:
    sf = FakeSalesforce()
    writer, publisher, _ = _writer(sf, _accounts())
    writer.write([_link("ann", "Initech")])
    posts = [(name, kw) for name, kw in sf.calls if name.startswith("POST")]
    assert [name for name, _ in posts] == [
        "POST sobjects/Account/",
        "POST sobjects/Contact/",
    ]
    account, contact = (kw for _, kw in posts)
    assert account["json"] == {"Name": "Initech"}
    assert account["headers"] == {"Sforce-Duplicate-Rule-Header": "allowSave=false"}
    assert contact["json"]["AccountId"].startswith("001")
    assert [r["status_code"] for r in publisher.results] == ["CREATED"]


def test_an_account_another_writer_just_created_is_used_via_the_duplicate_rule() -> (
    None
):
    existing = "001000000000042AAA"
    duplicate = Problem(
        ErrorKind.SKIPPABLE,
        "DUPLICATES_DETECTED",
        "You're creating a duplicate record.",
        details={
            "duplicateResult": {
                "matchResults": [{"matchRecords": [{"record": {"Id": existing}}]}]
            }
        },
    )
    sf = FakeSalesforce()
    _refusing_accounts(sf, duplicate)
    writer, publisher, _ = _writer(sf, _accounts())
    writer.write([_link("bob", "Initech")])
    contact = next(kw for n, kw in sf.calls if n == "POST sobjects/Contact/")
    assert contact["json"]["AccountId"] == existing
    assert [r["status_code"] for r in publisher.results] == ["CREATED"]
    assert publisher.dead_letters == []


VALIDATION = Problem(
    ErrorKind.SKIPPABLE,
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "Every Account needs a Website",
    ("Website",),
)


def test_a_refused_account_is_reported_and_the_contact_created_without_it() -> None:
    sf = FakeSalesforce()
    _refusing_accounts(sf, VALIDATION)
    writer, publisher, _ = _writer(sf, _accounts())  # the default setting
    writer.write([_link("ann", "Umbrella")])
    contact = next(kw for n, kw in sf.calls if n == "POST sobjects/Contact/")
    assert "AccountId" not in contact["json"]
    refusal, created = publisher.results
    assert (refusal["object"], refusal["success"], refusal["status_code"]) == (
        "Account",
        False,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    )
    assert refusal["message"] == "Every Account needs a Website"
    assert refusal["event_id"] == created["event_id"] == "link-ann"
    assert (created["object"], created["status_code"]) == ("Contact", "CREATED")
    (letter,) = publisher.dead_letters
    assert letter[1] == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: Account refused: "
        "Every Account needs a Website"
    )


def test_a_refused_account_with_skip_contact_leaves_the_person_unlinked() -> None:
    sf = FakeSalesforce()
    _refusing_accounts(sf, VALIDATION)
    writer, publisher, _ = _writer(sf, _accounts("skip_contact"))
    writer.write([_link("ann", "Umbrella"), _link("bob")])
    posts = [n for n, _ in sf.calls if n.startswith("POST")]
    assert posts == ["POST sobjects/Account/", "POST sobjects/Contact/"]  # bob's only
    ann, bob = publisher.results
    assert (ann["object"], ann["success"], ann["status_code"], ann["message"]) == (
        "Account",
        False,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Every Account needs a Website",
    )
    assert ann["engage_contact_id"] == "ann"
    assert (bob["engage_contact_id"], bob["status_code"]) == ("bob", "CREATED")
    assert [reason for _, _, reason in publisher.dead_letters] == [
        "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    ]
