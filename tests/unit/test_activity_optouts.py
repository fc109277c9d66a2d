"""An unsubscribe writes HasOptedOutOfEmail back whenever it is mapped (a legal
obligation), whatever happens to its Task: written, skipped or held."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.crm_settings.document import parse_document
from ground.settings import KafkaSettings
from streams.activity.processor import ActivityProcessor, Context
from tests.factories import contact_ref, email_event
from tests.ports import MemoryParkedIndex, RecordingProducer

LEAD, CONTACT = "00Q5e00000AbCdEEAV", "0035e00000AbCdEEAV"


class Users:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def owner(self, user_id: str) -> tuple[str, str | None]:
        return self.kind, None


def _crm(history: str, opt_out: str = "bidirectional_most_recent") -> Any:
    rows = "".join(
        f"\n      - {{engage: {e}, salesforce: {f}{extra}}}"
        for e, f, extra in (
            ("first_name", "FirstName", ""),
            ("last_name", "LastName", ""),
            ("email", "Email", ""),
            ("email_opt_out", "HasOptedOutOfEmail", f", direction: {opt_out}"),
        )
    )
    return parse_document(
        f"""
objects:
  Lead:
    mapping:{rows}
      - {{engage: company, salesforce: Company, default: Unknown}}
  Contact:
    mapping:{rows}
sync_settings:
  write_activity_history: {history}
"""
    )


def _processor(crm: Any, users: str = "integration") -> tuple[ActivityProcessor, Any]:
    kafka = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
    producer = RecordingProducer()
    context = Context(users=Users(users), settings=lambda: crm)
    return ActivityProcessor(Topics(kafka), Serde(), producer, context), producer


def _commands(processor: ActivityProcessor, producer: RecordingProducer) -> list[dict]:
    serde, topic = Serde(), processor.topics.commands.name
    return [
        serde.decode("SalesforceCommand", v) for t, v, _ in producer.sent if t == topic
    ]


def _unsubscribe(who: str) -> dict[str, Any]:
    return email_event(
        event_type="UNSUBSCRIBED",
        contact=contact_ref(engage_contact_id=f"ec-{who}", salesforce_id=who),
    )


@pytest.mark.parametrize("who", [LEAD, CONTACT], ids=["lead", "contact"])
@pytest.mark.parametrize(
    ("history", "users", "tasks"),
    [
        ("true", "integration", 1),  # the Task is written
        ("false", "integration", 0),  # activity history off: the Task is skipped
        ("true", "hold", 0),  # the user is not connected: the Task is held
    ],
    ids=["task-written", "history-off", "user-held"],
)
def test_unsubscribe_writes_the_opt_out_back_whatever_happens_to_its_task(
    who: str, history: str, users: str, tasks: int
) -> None:
    processor, producer = _processor(_crm(history), users)
    event = _unsubscribe(who)

    processor.route(event, "EmailEvent", processor.topics.emails.name)

    commands = _commands(processor, producer)
    opt_outs = [c for c in commands if c["operation"] == "UPDATE"]
    assert [(c["sobject"], c["record_id"], c["fields"]) for c in opt_outs] == [
        ("Lead" if who == LEAD else "Contact", who, {"HasOptedOutOfEmail": True})
    ]
    assert opt_outs[0]["command_id"] == f"optout-{event['event_id']}"
    assert sum(c["sobject"] == "Task" for c in commands) == tasks


def test_unsubscribe_with_opt_out_mapped_one_way_writes_nothing_back() -> None:
    processor, producer = _processor(_crm("false", "salesforce_to_engage"))

    processor.route(_unsubscribe(LEAD), "EmailEvent", processor.topics.emails.name)

    assert _commands(processor, producer) == []


def test_unsubscribe_of_an_unlinked_contact_is_written_back_when_it_links() -> None:
    processor, producer = _processor(_crm("false"))
    processor.context.parked = MemoryParkedIndex()
    event = email_event(
        event_type="UNSUBSCRIBED",
        contact=contact_ref(engage_contact_id="ec-new", salesforce_id=None),
    )

    processor.route(event, "EmailEvent", processor.topics.emails.name)
    before_link = _commands(processor, producer)
    processor.release("ec-new", LEAD)

    assert before_link == []  # no Salesforce id yet: nothing to write to
    assert [(c["record_id"], c["fields"]) for c in _commands(processor, producer)] == [
        (LEAD, {"HasOptedOutOfEmail": True})
    ]
