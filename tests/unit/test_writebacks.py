"""The two write-backs on their own (a fake org, no broker): Lead Status and Email Opt
Out are written by id, a converted Lead's Opt Out goes to its Contact, and nothing
else is ever written back."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.kafka.deadletter import Origin
from connectors.salesforce.batch import BatchWriter
from connectors.salesforce.errors import RetriableError
from connectors.salesforce.outcomes import Pending
from connectors.salesforce.writebacks import WriteBacks
from domain.commands import LeadStatus, OptOut
from domain.ids import PersonObject
from tests.ports import FakeSalesforce, InstantPacing, MemoryOutcomes, MemoryPublisher

LEAD, CONTACT = "00Q000000000001AAA", "003000000000001AAA"
CONVERTED = {"statusCode": "CANNOT_UPDATE_CONVERTED_LEAD", "message": "converted"}


def _pending(command: dict[str, Any]) -> Pending:
    return Pending(Origin("salesforce.commands", 0, 1, b"k", b"v"), command)


def _status(status: str, lead: str = LEAD, n: int = 1) -> Pending:
    command = LeadStatus(
        command_id=f"status-{n}", record_id=lead, status=status, engage_contact_id="e"
    )
    return _pending(command.to_avro())


def _opt_out(record_id: str, sobject: PersonObject = "Lead") -> Pending:
    command = OptOut(
        command_id=f"optout-{record_id}",
        sobject=sobject,
        record_id=record_id,
        engage_contact_id="e",
    )
    return _pending(command.to_avro())


def _writebacks() -> tuple[WriteBacks, FakeSalesforce, MemoryOutcomes]:
    sf, outcomes = FakeSalesforce(), MemoryOutcomes()
    sf.picklists["Status"] = ["Open", "Working - Contacted", "Qualified"]
    return WriteBacks(sf, outcomes), sf, outcomes


def test_lead_status_is_written_by_id_with_the_status_alone() -> None:
    writebacks, sf, outcomes = _writebacks()

    writebacks.apply([_status("Working - Contacted")])

    assert sf.updates() == [
        [{"attributes": {"type": "Lead"}, "id": LEAD, "Status": "Working - Contacted"}]
    ]
    assert outcomes.results["status-1"] == (True, "OK", None, LEAD)


def test_a_status_the_picklist_lacks_is_not_sent_and_is_dead_lettered() -> None:
    writebacks, sf, outcomes = _writebacks()

    writebacks.apply([_status("Working")])

    assert sf.updates() == []
    success, status, message, _ = outcomes.results["status-1"]
    assert (success, status) == (False, "invalid-status")
    assert "check status_values" in str(message)
    assert [reason for _, _, reason in outcomes.dead_letters] == ["invalid-status"]


def test_opt_out_of_a_converted_lead_is_written_to_its_contact() -> None:
    writebacks, sf, outcomes = _writebacks()
    sf.update_answers = [[{"success": False, "errors": [CONVERTED]}]]
    sf.rows = lambda soql: [{"Id": LEAD, "ConvertedContactId": CONTACT}]

    writebacks.apply([_opt_out(LEAD)])

    assert sf.updates()[-1] == [
        {"attributes": {"type": "Contact"}, "id": CONTACT, "HasOptedOutOfEmail": True}
    ]
    assert outcomes.results[f"optout-{LEAD}"] == (True, "OK", None, CONTACT)
    assert outcomes.dead_letters == []


def test_status_of_a_converted_lead_is_reported_not_written_elsewhere() -> None:
    writebacks, sf, outcomes = _writebacks()
    sf.update_answers = [[{"success": False, "errors": [CONVERTED]}]]
    sf.rows = lambda soql: [{"Id": LEAD, "ConvertedContactId": CONTACT}]

    writebacks.apply([_status("Qualified")])

    assert len(sf.updates()) == 1  # the Lead only; never the Contact
    assert [reason for _, _, reason in outcomes.dead_letters] == ["lead-converted"]


def test_a_locked_row_raises_so_the_whole_update_is_redone() -> None:
    writebacks, sf, outcomes = _writebacks()
    locked = {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}
    sf.update_answers = [[{"success": False, "errors": [locked]}]]

    with pytest.raises(RetriableError):
        writebacks.apply([_status("Open")])
    assert outcomes.dead_letters == []


def test_write_backs_go_in_collections_of_200() -> None:
    writebacks, sf, _ = _writebacks()

    writebacks.apply([_opt_out(f"003{i:012d}AAA", "Contact") for i in range(250)])

    assert [len(records) for records in sf.updates()] == [200, 50]


@pytest.mark.parametrize(
    "fields",
    [
        {"Status": "Open", "LastName": "Forged"},
        {"HasOptedOutOfEmail": False},
        {"Email": "forged@x.example"},
    ],
)
def test_an_update_of_anything_but_status_or_opt_out_is_never_sent(
    fields: dict[str, Any],
) -> None:
    sf, publisher = FakeSalesforce(), MemoryPublisher()
    writer = BatchWriter(sf, publisher, InstantPacing(), lambda: None, 3)
    forged = _status("Open")
    forged.command["fields"] = fields

    writer.write([forged])

    assert sf.updates() == []
    ((_, _, reason),) = publisher.dead_letters
    assert reason == "policy-refused"
