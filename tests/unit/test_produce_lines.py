"""Tests for turning JSON lines into keyed Avro events for `engage-sync produce`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.kafka.serde import Serde
from engage_sync.produce import encode_lines
from tests.factories import call_event, contact_ref, email_event

OCCURRED_AT = "2024-05-01T12:00:00Z"
KEY = "engage_contact_id"


@pytest.fixture(scope="module")
def serde() -> Serde:
    return Serde()


def _line(event: dict[str, Any]) -> str:
    """An event as a producer writes it: JSON with an ISO-8601 timestamp."""
    return json.dumps(event | {"occurred_at": OCCURRED_AT})


def test_valid_call_lines_encode_keyed_by_the_contact(serde: Serde) -> None:
    events = [
        call_event(contact=contact_ref(engage_contact_id="contact-a")),
        call_event(
            contact=contact_ref(engage_contact_id="contact-b"),
            sentiment="REQUEST_FOR_CALLBACK",
        ),
    ]

    encoded, errors = encode_lines(serde, "CallLogged", KEY, map(_line, events))

    assert errors == []
    assert [key for key, _ in encoded] == [b"contact-a", b"contact-b"]
    decoded = [serde.decode("CallLogged", value) for _, value in encoded]
    expected_at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert decoded == [e | {"occurred_at": expected_at} for e in events]


def test_valid_email_line_encodes_keyed_by_the_contact(serde: Serde) -> None:
    event = email_event(contact=contact_ref(engage_contact_id="contact-e"))

    encoded, errors = encode_lines(serde, "EmailEvent", KEY, [_line(event)])

    assert errors == []
    [(key, value)] = encoded
    assert key == b"contact-e"
    assert serde.decode("EmailEvent", value)["event_id"] == event["event_id"]


def test_timestamp_with_an_offset_is_converted_to_utc(serde: Serde) -> None:
    line = json.dumps(call_event() | {"occurred_at": "2024-05-01T14:00:00+02:00"})

    [(_, value)], errors = encode_lines(serde, "CallLogged", KEY, [line])

    assert errors == []
    assert serde.decode("CallLogged", value)["occurred_at"] == datetime(
        2024, 5, 1, 12, 0, tzinfo=UTC
    )


def test_lines_leaving_out_optional_fields_encode(serde: Serde) -> None:
    event = call_event()
    for optional in ("sentiment", "comments", "voicemail_title", "recording_url"):
        del event[optional]

    encoded, errors = encode_lines(serde, "CallLogged", KEY, [_line(event)])

    assert errors == []
    assert len(encoded) == 1


def test_blank_lines_are_ignored_without_shifting_line_numbers(serde: Serde) -> None:
    lines = ["", _line(call_event()), "   ", "\n", "{not json", ""]

    encoded, errors = encode_lines(serde, "CallLogged", KEY, lines)

    assert len(encoded) == 1
    assert [e.line for e in errors] == [5]


def _without(event: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != name}


BAD_LINES = {
    "invalid json": ("{'event_id': 'single quotes'}", "Expecting property name"),
    "json that is not an object": ("[1, 2, 3]", "JSON object"),
    "missing required field": (_line(_without(call_event(), "subject")), "subject"),
    "missing nested required field": (
        _line(call_event(contact=_without(contact_ref(), "engage_contact_id"))),
        "engage_contact_id",
    ),
    "wrong enum symbol": (_line(call_event(call_result="HUNG_UP")), "HUNG_UP"),
    "naive timestamp": (
        json.dumps(call_event() | {"occurred_at": "2024-05-01T12:00:00"}),
        "no time zone",
    ),
    "unparseable timestamp": (
        json.dumps(call_event() | {"occurred_at": "yesterday"}),
        "yesterday",
    ),
    "empty event id": (_line(call_event(event_id="")), "event_id is empty"),
    "blank event id": (_line(call_event(event_id="   ")), "event_id is empty"),
    "contact linked to an account id": (
        _line(call_event(contact=contact_ref(salesforce_id="001000000000001AAA"))),
        "not a Lead or Contact id",
    ),
    "negative duration": (
        _line(call_event(duration_seconds=-5)),
        "duration_seconds is negative",
    ),
    "duration longer than Salesforce stores": (
        _line(call_event(duration_seconds=100_000_000)),
        "above Salesforce's 99999999",
    ),
}


@pytest.mark.parametrize(("bad", "fragment"), BAD_LINES.values(), ids=BAD_LINES.keys())
def test_bad_line_is_reported_with_its_line_number_and_not_encoded(
    serde: Serde, bad: str, fragment: str
) -> None:
    good = [_line(call_event(event_id=f"evt-{n}")) for n in range(3)]
    lines = [good[0], good[1], bad, good[2]]

    encoded, errors = encode_lines(serde, "CallLogged", KEY, lines)

    assert [e.line for e in errors] == [3]
    assert fragment in errors[0].message
    assert len(errors[0].message) <= 300
    event_ids = [serde.decode("CallLogged", value)["event_id"] for _, value in encoded]
    assert event_ids == ["evt-0", "evt-1", "evt-2"]


def test_every_bad_line_is_reported_not_only_the_first(serde: Serde) -> None:
    lines = [
        _line(call_event(event_id="")),
        _line(call_event()),
        "not json",
        _line(call_event(call_result="HUNG_UP")),
    ]

    encoded, errors = encode_lines(serde, "CallLogged", KEY, lines)

    assert [e.line for e in errors] == [1, 3, 4]
    assert len(encoded) == 1


def test_contact_and_user_events_are_accepted_and_keyed_by_contact_and_user() -> None:
    import json

    from connectors.kafka.serde import Serde
    from engage_sync.produce import encode_lines

    contact = json.dumps(
        {
            "event_id": "c1",
            "occurred_at": "2024-05-01T12:00:00Z",
            "user_id": "u1",
            "contact": {"engage_contact_id": "ec-9", "email": "a@b.example"},
            "action": "ADDED",
        }
    )
    user = json.dumps({
        "event_id": "u1", "occurred_at": "2024-05-01T12:00:00Z", "user_id": "u3",
        "action": "CONNECTED", "salesforce_user_id": "005000000000001AAA",
    })
    serde = Serde()
    contacts, errors = encode_lines(
        serde, "ContactEvent", "engage_contact_id", [contact]
    )
    users, user_errors = encode_lines(serde, "UserEvent", "user_id", [user])
    assert (errors, user_errors) == ([], [])
    assert contacts[0][0] == b"ec-9" and users[0][0] == b"u3"
    assert serde.decode("ContactEvent", contacts[0][1])["action"] == "ADDED"
