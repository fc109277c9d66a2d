"""The contact actions on their ports (a memory store, a recording producer, no
broker): a batch of Engage actions is one transaction flushed inside it, bad input is
dead-lettered, an add asks the writer for the object the settings name, and a link
the writer reports reaches Engage's copy before parked activities are released."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.kafka.clients import DeliveryFailed
from connectors.kafka.deadletter import Origin
from domain.contacts.models import EngageContact
from domain.crm_settings.models import CrmSettings
from streams.contacts.actions import ContactActions
from tests.factories import contact_event
from tests.ports import MemoryContactStore, RecordingProducer, contacts_on_fakes

LEAD = "00Q5e00000AbCdEEAV"


def _crm(created: str = "create_lead") -> CrmSettings:
    return CrmSettings.model_validate(
        {"objects": {}, "sync_settings": {"engage_created_contacts": created}}
    )


def _actions(
    crm: CrmSettings | None = None, release: Any = None
) -> tuple[ContactActions, MemoryContactStore, RecordingProducer]:
    contacts, store, producer = contacts_on_fakes(crm or _crm())
    return ContactActions(contacts, release=release), store, producer


def _origins(actions: ContactActions, *events: dict[str, Any]) -> list[Origin]:
    topic = actions.c.topics.contact_actions.name
    return [
        Origin(topic, 0, n, b"k", actions.c.serde.encode("ContactEvent", event))
        for n, event in enumerate(events)
    ]


def _commands(actions: ContactActions, producer: RecordingProducer) -> list[dict]:
    return producer.decoded(actions.c.topics.commands.name, "SalesforceCommand")


def _copies(actions: ContactActions, producer: RecordingProducer) -> list[dict]:
    return producer.decoded(actions.c.topics.contacts.name, "EngageContact")


def _added(ecid: str, **ref: Any) -> dict[str, Any]:
    return contact_event("ADDED", ecid, last_name="Lovelace", **ref)


def _link(ecid: str, success: bool = True, status: str = "LINKED") -> dict[str, Any]:
    return {
        "event_id": f"link-{ecid}",
        "object": "Lead",
        "success": success,
        "salesforce_id": LEAD,
        "status_code": status,
        "written_at": 1_700_000_000_000,
        "engage_contact_id": ecid,
        "record": {"Id": LEAD, "LastName": "Lovelace", "Company": "Engines"},
    }


def test_a_batch_of_adds_is_copied_asked_for_and_flushed_in_one_go() -> None:
    actions, store, producer = _actions()

    actions.handle(_origins(actions, _added("ec-1", email="ada@x.example")))

    copy = store.get("ec-1")
    assert copy is not None and copy.email == "ada@x.example"
    assert [c["engage_contact_id"] for c in _copies(actions, producer)] == ["ec-1"]
    assert [c["engage_contact_id"] for c in _commands(actions, producer)] == ["ec-1"]
    assert producer.flushes == 1


def test_an_undecodable_action_is_dead_lettered_and_the_rest_of_the_batch_goes_on() -> (
    None
):
    actions, store, producer = _actions()
    good = _origins(actions, _added("ec-2", email="b@x.example"))
    garbage = Origin(actions.c.topics.contact_actions.name, 0, 9, b"k", b"\x00junk")

    actions.handle([garbage, *good])

    assert producer.reasons(actions.c.topics.dlq.name) == ["undecodable"]
    assert store.get("ec-2") is not None
    assert actions.c.stats.dead_letters == 1


def test_a_batch_kafka_did_not_acknowledge_is_undone_and_redoing_it_emits_again() -> (
    None
):
    actions, store, producer = _actions()
    batch = _origins(actions, _added("ec-3", email="c@x.example"))
    producer.fail_flushes = 1

    with pytest.raises(DeliveryFailed):
        actions.handle(batch)
    assert store.get("ec-3") is None  # rolled back with the unacknowledged outputs

    actions.handle(batch)
    assert store.get("ec-3") is not None
    assert len(_commands(actions, producer)) == 2  # asked again: keyed, so no twin


@pytest.mark.parametrize(
    ("created", "operation", "sobject"),
    [
        ("create_lead", "MATCH_OR_CREATE", "Lead"),
        ("create_contact", "MATCH_OR_CREATE", "Contact"),
        ("none", "MATCH", "Lead"),
    ],
)
def test_an_add_asks_to_match_then_create_what_the_setting_names(
    created: str, operation: str, sobject: str
) -> None:
    actions, _, producer = _actions(_crm(created))

    actions.handle(_origins(actions, _added("ec-4", email="d@x.example", company="Co")))

    (command,) = _commands(actions, producer)
    assert (command["operation"], command["sobject"]) == (operation, sobject)
    assert command["fields"]["Email"] == "d@x.example"
    # A new Contact's company is its Account: asked for by name.
    assert ("Account.Name" in command["fields"]) == (created == "create_contact")


def test_two_adds_of_one_person_are_keyed_alike_so_one_writer_links_both() -> None:
    actions, _, producer = _actions()

    actions.handle(
        _origins(
            actions,
            _added("ec-5a", email="Twin@X.example"),
            _added("ec-5b", email=" twin@x.example "),
        )
    )

    keys = {key for topic, _, key in producer.sent if "commands" in topic}
    assert keys == {b"twin@x.example"}


def test_an_add_of_a_contact_the_copy_already_links_asks_salesforce_nothing() -> None:
    actions, store, producer = _actions()
    store.put(
        EngageContact(
            engage_contact_id="ec-6", salesforce_id=LEAD, salesforce_object="Lead"
        )
    )

    actions.handle(_origins(actions, _added("ec-6", email="e@x.example")))

    assert _commands(actions, producer) == []


def test_an_edit_changes_the_copy_and_writes_nothing_back() -> None:
    actions, store, producer = _actions()
    store.put(
        EngageContact(
            engage_contact_id="ec-7",
            salesforce_id=LEAD,
            salesforce_object="Lead",
            first_name="Ada",
        )
    )

    edit = contact_event("UPDATED", "ec-7", first_name="Augusta")
    actions.handle(_origins(actions, edit))

    copy = store.get("ec-7")
    assert copy is not None and copy.first_name == "Augusta"
    assert _commands(actions, producer) == []


def test_a_link_reaches_the_copy_before_the_contacts_parked_activities_are_released() -> (  # noqa: E501
    None
):
    released: list[tuple[str, str, str | None]] = []

    def release(ecid: str, salesforce_id: str) -> int:
        copy = store.get(ecid)
        released.append((ecid, salesforce_id, copy.salesforce_id if copy else None))
        return 3

    actions, store, _ = _actions(release=release)
    store.put(EngageContact(engage_contact_id="ec-8", email="f@x.example"))

    actions.on_result(_link("ec-8"))

    assert released == [("ec-8", LEAD, LEAD)]
    copy = store.get("ec-8")
    assert copy is not None and copy.last_name == "Lovelace"  # Salesforce's values
    assert actions.stats.released == 3


@pytest.mark.parametrize(
    "result",
    [_link("ec-9", success=False, status="FIELD_CUSTOM_VALIDATION_EXCEPTION"),
     _link("ec-9", status="NO_MATCH")],
)
def test_a_failed_or_matchless_result_links_nothing(result: dict[str, Any]) -> None:
    released: list[str] = []
    actions, store, producer = _actions(release=lambda e, s: released.append(e) or 0)
    store.put(EngageContact(engage_contact_id="ec-9", email="g@x.example"))

    actions.on_result(result)

    copy = store.get("ec-9")
    assert copy is not None and copy.salesforce_id is None
    assert released == [] and producer.sent == []


def test_an_undecodable_result_is_passed_over() -> None:
    actions, _, producer = _actions()
    garbage = Origin(actions.c.topics.results.name, 0, 1, b"k", b"\x00junk")

    actions.handle_results([garbage])

    assert producer.sent == [] and producer.flushes == 1


class _OnlyThePort:
    """Engage's copy showing nothing but the `EngageCopy` port's members, so a reach
    into the inbound processor's private state (`_lock`, `_emit`) fails."""

    MEMBERS = frozenset(
        {"loaded", "store", "producer", "topics", "serde", "lock"}
        | {"load", "settings", "emit", "dead_letter"}
    )

    def __init__(self, inner: object) -> None:
        object.__setattr__(self, "inner", inner)

    def __getattr__(self, name: str) -> Any:
        if name not in self.MEMBERS:
            raise AttributeError(f"{name} is not part of the EngageCopy port")
        return getattr(object.__getattribute__(self, "inner"), name)


def test_the_actions_use_engage_copy_through_its_port_alone() -> None:
    contacts, store, producer = contacts_on_fakes(_crm())
    actions = ContactActions(_OnlyThePort(contacts))
    store.put(EngageContact(engage_contact_id="ec-10", email="h@x.example"))

    actions.handle(_origins(actions, _added("ec-11", email="i@x.example")))
    actions.on_result(_link("ec-10"))
    edit = contact_event("UPDATED", "ec-11", first_name="Ida")
    status = contact_event("STATUS_CHANGED", "ec-10", status="Working")
    actions.handle(_origins(actions, edit, status))

    linked, edited = store.get("ec-10"), store.get("ec-11")
    assert linked is not None and linked.salesforce_id == LEAD
    assert edited is not None and edited.first_name == "Ida"
    assert [c["operation"] for c in _commands(actions, producer)] == [
        "MATCH_OR_CREATE"  # the add; the status waits: Status is not written back here
    ]
