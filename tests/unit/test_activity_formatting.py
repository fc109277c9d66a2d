"""Tests for turning Engage call and email events into Salesforce Task drafts."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.schema import parse_schema

from streams.activity.formatting import (
    DESCRIPTION_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    call_to_task,
    email_to_task,
    truncate,
)
from streams.activity.models import (
    CALL_RESULT_LABELS,
    CONVERSATION_RESULTS,
    EMAIL_EVENT_LABELS,
    SENTIMENT_LABELS,
    TASK_EXTERNAL_ID_FIELD,
    FormattedTask,
    TaskDraft,
)
from tests.factories import (
    DEFAULT_SALESFORCE_ID,
    call_event,
    contact_ref,
    email_event,
)

ELLIPSIS = "\u2026"
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "engage.events"

EXPECTED_CALL_RESULT_LABELS = {
    "CONNECTED_DIRECT_LINE": "Connected via direct line",
    "CONNECTED_SWITCHBOARD": "Connected via switchboard",
    "REFERRED_TO_COLLEAGUE": "Referred to colleague",
    "LEFT_MESSAGE": "Left message",
    "NO_ANSWER": "No answer",
    "WRONG_NUMBER": "Wrong number",
    "GATEKEEPER_BLOCKED": "Gatekeeper - blocked",
}
CONVERSATIONS = [
    "CONNECTED_DIRECT_LINE",
    "CONNECTED_SWITCHBOARD",
    "REFERRED_TO_COLLEAGUE",
]
NON_CONVERSATIONS = ["LEFT_MESSAGE", "NO_ANSWER", "WRONG_NUMBER", "GATEKEEPER_BLOCKED"]
EXPECTED_SENTIMENT_LABELS = {
    "BAD_TIMING": "Bad timing",
    "NO_FIT": "No fit",
    "NOT_INTERESTED": "Not interested",
    "REQUEST_FOR_CALLBACK": "Request for callback",
    "MORE_INFORMATION_REQUESTED": "More information requested",
    "NEXT_STEP_BOOKED": "Next step booked",
}
EXPECTED_EMAIL_EVENT_LABELS = {
    "SENT": "Sent Email",
    "OPENED": "Email opened",
    "FAILED": "Email failed",
    "UNSUBSCRIBED": "Contact unsubscribed",
    "CONTENT_VIEWED": "Content viewed",
    "CONTENT_DOWNLOADED": "Content downloaded",
    "LINK_CLICKED": "A link clicked",
    "REPLIED": "Email reply",
}
LINK_TEXT_EVENTS = ["LINK_CLICKED", "CONTENT_VIEWED", "CONTENT_DOWNLOADED"]
NON_LINK_TEXT_EVENTS = ["SENT", "OPENED", "FAILED", "UNSUBSCRIBED", "REPLIED"]

BLANKS = ["", " ", "   ", "\t", "\n", " \r\n\t "]

COMMENTS = "Wants pricing for 40 seats"
VOICEMAIL = "Intro voicemail v2"
RECORDING = "https://recordings.example.com/calls/8812.mp3"
OPTIONAL_CALL_LINES = [
    ("sentiment", "NEXT_STEP_BOOKED", "Sentiment: Next step booked"),
    ("comments", COMMENTS, f"Comments: {COMMENTS}"),
    ("voicemail_title", VOICEMAIL, f"VoiceMail Left: {VOICEMAIL}"),
    ("recording_url", RECORDING, f"Call Recording URL: {RECORDING}"),
]

CALL_SUBJECT_PREFIX = "Engage Call: "
FIXED_EVENT_ID = "6f1c2a3e-8f7b-4d1e-9a0c-1b2c3d4e5f60"
OWNER_ID = "005000000000042AAA"


def _call(owner_id: str | None = None, **fields: Any) -> FormattedTask:
    return call_to_task(call_event(**fields), owner_id=owner_id)


def _email(owner_id: str | None = None, **fields: Any) -> FormattedTask:
    return email_to_task(email_event(**fields), owner_id=owner_id)


def _assert_cut(value: str, limit: int, original: str) -> None:
    assert len(value) == limit
    assert value.endswith(ELLIPSIS)
    assert value[:-1] == original[: limit - 1]


# Label maps


def test_call_result_labels_match_the_guide_picklist_exactly() -> None:
    assert CALL_RESULT_LABELS == EXPECTED_CALL_RESULT_LABELS


def test_only_connected_and_referred_results_count_as_conversations() -> None:
    assert set(CONVERSATION_RESULTS) == set(CONVERSATIONS)


def test_sentiment_labels_match_the_guide_picklist_exactly() -> None:
    assert SENTIMENT_LABELS == EXPECTED_SENTIMENT_LABELS


def test_email_event_labels_match_the_guide_exactly() -> None:
    assert EMAIL_EVENT_LABELS == EXPECTED_EMAIL_EVENT_LABELS


@pytest.mark.parametrize(
    ("schema_file", "enum_field", "labels"),
    [
        ("CallLogged.avsc", "call_result", EXPECTED_CALL_RESULT_LABELS),
        ("CallLogged.avsc", "sentiment", EXPECTED_SENTIMENT_LABELS),
        ("EmailEvent.avsc", "event_type", EXPECTED_EMAIL_EVENT_LABELS),
    ],
)
def test_label_maps_cover_every_avro_enum_symbol(
    schema_file: str, enum_field: str, labels: dict[str, str]
) -> None:
    schema = json.loads((SCHEMA_DIR / schema_file).read_text())
    field_type = next(f["type"] for f in schema["fields"] if f["name"] == enum_field)
    enum = (
        next(t for t in field_type if t != "null")
        if isinstance(field_type, list)
        else field_type
    )
    assert list(labels) == enum["symbols"]


# Call: result, disposition and sentiment


@pytest.mark.parametrize(("result", "label"), EXPECTED_CALL_RESULT_LABELS.items())
def test_call_disposition_is_the_call_result_label(result: str, label: str) -> None:
    assert _call(call_result=result).draft.call_disposition == label


@pytest.mark.parametrize(("sentiment", "label"), EXPECTED_SENTIMENT_LABELS.items())
@pytest.mark.parametrize("result", CONVERSATIONS)
def test_conversation_with_sentiment_writes_sentiment_line(
    result: str, sentiment: str, label: str
) -> None:
    formatted = _call(call_result=result, sentiment=sentiment)
    assert formatted.draft.description == f"Sentiment: {label}"
    assert formatted.sentiment_dropped is False


@pytest.mark.parametrize("sentiment", EXPECTED_SENTIMENT_LABELS)
@pytest.mark.parametrize("result", NON_CONVERSATIONS)
def test_non_conversation_with_sentiment_leaves_it_out_and_reports_it_dropped(
    result: str, sentiment: str
) -> None:
    formatted = _call(call_result=result, sentiment=sentiment)
    assert formatted.draft.description is None
    assert formatted.sentiment_dropped is True


@pytest.mark.parametrize("result", EXPECTED_CALL_RESULT_LABELS)
def test_call_without_sentiment_has_no_description_and_drops_nothing(
    result: str,
) -> None:
    formatted = _call(call_result=result, sentiment=None)
    assert formatted.draft.description is None
    assert formatted.sentiment_dropped is False


@pytest.mark.parametrize("result", NON_CONVERSATIONS)
def test_non_conversation_sentiment_is_dropped_but_other_lines_stay(
    result: str,
) -> None:
    formatted = _call(
        call_result=result,
        sentiment="NO_FIT",
        comments=COMMENTS,
        voicemail_title=VOICEMAIL,
    )
    assert formatted.draft.description == (
        f"Comments: {COMMENTS}\nVoiceMail Left: {VOICEMAIL}"
    )
    assert formatted.sentiment_dropped is True


def test_unknown_call_result_is_rejected() -> None:
    with pytest.raises(ValueError, match="call_result"):
        _call(call_result="HUNG_UP")


def test_unknown_sentiment_is_rejected() -> None:
    with pytest.raises(ValueError, match="sentiment"):
        _call(sentiment="DELIGHTED")


# Call: description lines


def test_call_with_voicemail_writes_voicemail_line_in_comments() -> None:
    draft = _call(call_result="LEFT_MESSAGE", voicemail_title=VOICEMAIL).draft
    assert draft.description == f"VoiceMail Left: {VOICEMAIL}"


def test_call_with_comments_writes_comments_line() -> None:
    assert _call(comments=COMMENTS).draft.description == f"Comments: {COMMENTS}"


def test_call_with_recording_writes_recording_url_line() -> None:
    draft = _call(recording_url=RECORDING).draft
    assert draft.description == f"Call Recording URL: {RECORDING}"


def test_call_with_every_line_lists_them_in_guide_order() -> None:
    draft = _call(
        call_result="CONNECTED_SWITCHBOARD",
        sentiment="REQUEST_FOR_CALLBACK",
        comments=COMMENTS,
        voicemail_title=VOICEMAIL,
        recording_url=RECORDING,
    ).draft
    assert draft.description == (
        "Sentiment: Request for callback\n"
        f"Comments: {COMMENTS}\n"
        f"VoiceMail Left: {VOICEMAIL}\n"
        f"Call Recording URL: {RECORDING}"
    )


@pytest.mark.parametrize(
    "present",
    list(itertools.product([False, True], repeat=len(OPTIONAL_CALL_LINES))),
    ids=lambda flags: (
        "+".join(
            name
            for (name, _, _), on in zip(OPTIONAL_CALL_LINES, flags, strict=True)
            if on
        )
        or "none"
    ),
)
@pytest.mark.parametrize("result", EXPECTED_CALL_RESULT_LABELS)
def test_call_description_lists_only_present_fields_in_guide_order(
    result: str, present: tuple[bool, ...]
) -> None:
    fields = {
        name: value
        for (name, value, _), on in zip(OPTIONAL_CALL_LINES, present, strict=True)
        if on
    }
    expected_lines = [
        line
        for (name, _, line), on in zip(OPTIONAL_CALL_LINES, present, strict=True)
        if on and (name != "sentiment" or result in CONVERSATIONS)
    ]

    formatted = _call(call_result=result, **fields)

    assert formatted.draft.description == ("\n".join(expected_lines) or None)
    assert formatted.sentiment_dropped is (
        "sentiment" in fields and result not in CONVERSATIONS
    )


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("field", ["comments", "voicemail_title", "recording_url"])
def test_call_blank_optional_field_counts_as_absent(field: str, blank: str) -> None:
    fields = {"comments": COMMENTS, "voicemail_title": VOICEMAIL} | {field: blank}
    draft = _call(call_result="LEFT_MESSAGE", **fields).draft
    expected = {
        "comments": f"VoiceMail Left: {VOICEMAIL}",
        "voicemail_title": f"Comments: {COMMENTS}",
        "recording_url": f"Comments: {COMMENTS}\nVoiceMail Left: {VOICEMAIL}",
    }[field]
    assert draft.description == expected


def test_call_line_values_lose_surrounding_whitespace() -> None:
    draft = _call(
        comments="  Call back Tuesday \n",
        voicemail_title="\tIntro ",
        recording_url=" https://r.example.com/1 ",
    ).draft
    assert draft.description == (
        "Comments: Call back Tuesday\nVoiceMail Left: Intro\n"
        "Call Recording URL: https://r.example.com/1"
    )


def test_call_multi_line_comments_keep_inner_line_breaks() -> None:
    draft = _call(comments="First point\nSecond point", voicemail_title=VOICEMAIL).draft
    assert draft.description == (
        f"Comments: First point\nSecond point\nVoiceMail Left: {VOICEMAIL}"
    )


# Call: subject, duration and fixed fields


def test_call_subject_is_prefixed_with_engage_call() -> None:
    assert (
        _call(subject="Discovery call").draft.subject == "Engage Call: Discovery call"
    )


@pytest.mark.parametrize("blank", BLANKS)
def test_call_with_blank_subject_keeps_only_the_prefix(blank: str) -> None:
    assert _call(subject=blank).draft.subject == "Engage Call:"


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [
        (0, 0.0),
        (1, 0.02),
        (30, 0.5),
        (59, 0.98),
        (60, 1.0),
        (125, 2.08),
        (3601, 60.02),
        (5400, 90.0),
    ],
)
def test_call_duration_is_given_in_seconds_and_in_minutes_to_two_places(
    seconds: int, minutes: float
) -> None:
    draft = _call(duration_seconds=seconds).draft
    assert draft.call_duration_seconds == seconds
    assert draft.call_duration_minutes == minutes


def test_zero_second_call_still_sends_its_duration() -> None:
    sobject = _call(duration_seconds=0).draft.to_sobject()
    assert sobject["CallDurationInSeconds"] == 0
    assert sobject["Engage_Call_Duration_Minutes__c"] == 0.0


def test_call_task_is_a_completed_outbound_call() -> None:
    draft = _call().draft
    assert draft.kind == "call"
    assert draft.task_subtype == "Call"
    assert draft.call_type == "Outbound"
    assert draft.status == "Completed"


# Email: subject text rule


@pytest.mark.parametrize(("event_type", "label"), EXPECTED_EMAIL_EVENT_LABELS.items())
def test_email_without_link_text_uses_email_subject(
    event_type: str, label: str
) -> None:
    draft = _email(event_type=event_type, email_subject="Your Q3 plans").draft
    assert draft.subject == f"Engage: {label} Your Q3 plans"


@pytest.mark.parametrize("event_type", LINK_TEXT_EVENTS)
def test_link_and_content_events_with_link_text_use_link_text(event_type: str) -> None:
    draft = _email(
        event_type=event_type, email_subject="Your Q3 plans", link_text="Pricing sheet"
    ).draft
    label = EXPECTED_EMAIL_EVENT_LABELS[event_type]
    assert draft.subject == f"Engage: {label} Pricing sheet"


@pytest.mark.parametrize("event_type", NON_LINK_TEXT_EVENTS)
def test_other_email_events_ignore_link_text(event_type: str) -> None:
    draft = _email(
        event_type=event_type, email_subject="Your Q3 plans", link_text="Pricing sheet"
    ).draft
    label = EXPECTED_EMAIL_EVENT_LABELS[event_type]
    assert draft.subject == f"Engage: {label} Your Q3 plans"


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("event_type", LINK_TEXT_EVENTS)
def test_link_and_content_events_with_blank_link_text_use_email_subject(
    event_type: str, blank: str
) -> None:
    draft = _email(
        event_type=event_type, email_subject="Your Q3 plans", link_text=blank
    ).draft
    label = EXPECTED_EMAIL_EVENT_LABELS[event_type]
    assert draft.subject == f"Engage: {label} Your Q3 plans"


@pytest.mark.parametrize("blank", BLANKS)
def test_email_with_blank_subject_keeps_only_the_event_label(blank: str) -> None:
    assert _email(event_type="OPENED", email_subject=blank).draft.subject == (
        "Engage: Email opened"
    )


def test_email_subject_text_loses_surrounding_whitespace() -> None:
    draft = _email(event_type="LINK_CLICKED", link_text="  Pricing sheet\n").draft
    assert draft.subject == "Engage: A link clicked Pricing sheet"


def test_unknown_email_event_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="event_type"):
        _email(event_type="BOUNCED")


# Email: body


@pytest.mark.parametrize("event_type", EXPECTED_EMAIL_EVENT_LABELS)
def test_email_with_body_puts_body_in_description(event_type: str) -> None:
    body = "Hi Ada,\n\nCould we talk on Tuesday?\n\nGrace"
    assert _email(event_type=event_type, body=body).draft.description == body


@pytest.mark.parametrize("event_type", EXPECTED_EMAIL_EVENT_LABELS)
def test_email_without_body_has_no_description(event_type: str) -> None:
    assert _email(event_type=event_type, body=None).draft.description is None


@pytest.mark.parametrize("blank", BLANKS)
def test_email_with_blank_body_has_no_description(blank: str) -> None:
    assert _email(event_type="SENT", body=blank).draft.description is None


def test_sent_email_body_is_kept_verbatim() -> None:
    body = "  Indented greeting\n\n  - item one\n  - item two\n"
    assert _email(event_type="SENT", body=body).draft.description == body


@pytest.mark.parametrize(
    ("link_text", "body"),
    list(itertools.product([None, "Pricing sheet"], [None, "Original message"])),
)
@pytest.mark.parametrize("event_type", EXPECTED_EMAIL_EVENT_LABELS)
def test_email_subject_and_description_for_every_link_text_and_body_combination(
    event_type: str, link_text: str | None, body: str | None
) -> None:
    draft = _email(
        event_type=event_type,
        email_subject="Your Q3 plans",
        link_text=link_text,
        body=body,
    ).draft
    text = (
        link_text
        if link_text is not None and event_type in LINK_TEXT_EVENTS
        else "Your Q3 plans"
    )
    assert draft.subject == f"Engage: {EXPECTED_EMAIL_EVENT_LABELS[event_type]} {text}"
    assert draft.description == body


def test_email_task_is_a_completed_email_without_call_fields() -> None:
    draft = _email().draft
    assert draft.kind == "email"
    assert draft.task_subtype == "Email"
    assert draft.status == "Completed"
    assert draft.call_disposition is None
    assert draft.call_type is None
    assert draft.call_duration_seconds is None
    assert draft.call_duration_minutes is None


def test_email_never_reports_a_dropped_sentiment() -> None:
    assert _email().sentiment_dropped is False


# Both: activity date, who, owner, external id

TO_TASK = [
    pytest.param(call_to_task, call_event, id="call"),
    pytest.param(email_to_task, email_event, id="email"),
]


@pytest.mark.parametrize(("to_task", "make_event"), TO_TASK)
@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        (datetime(2024, 5, 14, 23, 59, 59, 999000, tzinfo=UTC), date(2024, 5, 14)),
        (datetime(2024, 5, 14, 22, 15, tzinfo=UTC), date(2024, 5, 14)),
        (datetime(2024, 5, 15, 0, 0, tzinfo=UTC), date(2024, 5, 15)),
        (datetime(2024, 12, 31, 23, 30, tzinfo=UTC), date(2024, 12, 31)),
        (
            datetime(2024, 5, 14, 20, 0, tzinfo=timezone(timedelta(hours=-5))),
            date(2024, 5, 15),
        ),
        (
            datetime(2024, 5, 15, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            date(2024, 5, 14),
        ),
    ],
)
def test_activity_date_is_the_utc_date_of_the_event(
    to_task: Any, make_event: Any, occurred_at: datetime, expected: date
) -> None:
    draft = to_task(make_event(occurred_at=occurred_at)).draft
    assert draft.activity_date == expected


@pytest.mark.parametrize(("to_task", "make_event"), TO_TASK)
def test_late_evening_utc_event_is_dated_that_utc_day_in_the_sobject(
    to_task: Any, make_event: Any
) -> None:
    event = make_event(occurred_at=datetime(2024, 3, 9, 23, 45, 12, tzinfo=UTC))
    assert to_task(event).draft.to_sobject()["ActivityDate"] == "2024-03-09"


@pytest.mark.parametrize(("to_task", "make_event"), TO_TASK)
def test_naive_occurred_at_is_rejected(to_task: Any, make_event: Any) -> None:
    naive = datetime(2024, 5, 14, 23, 30)  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        to_task(make_event(occurred_at=naive))


@pytest.mark.parametrize(("to_task", "make_event"), TO_TASK)
def test_who_id_is_the_linked_salesforce_record(to_task: Any, make_event: Any) -> None:
    event = make_event(contact=contact_ref(salesforce_id="00Q000000000777AAA"))
    assert to_task(event).draft.who_id == "00Q000000000777AAA"


@pytest.mark.parametrize("salesforce_id", [None, *BLANKS])
@pytest.mark.parametrize(("to_task", "make_event"), TO_TASK)
def test_unlinked_contact_leaves_who_id_out(
    to_task: Any, make_event: Any, salesforce_id: str | None
) -> None:
    draft = to_task(make_event(contact=contact_ref(salesforce_id=salesforce_id))).draft
    assert draft.who_id is None
    assert "WhoId" not in draft.to_sobject()


@pytest.mark.parametrize(("to_task", "make_event"), TO_TASK)
def test_owner_id_is_set_when_given(to_task: Any, make_event: Any) -> None:
    draft = to_task(make_event(), owner_id=OWNER_ID).draft
    assert draft.owner_id == OWNER_ID
    assert draft.to_sobject()["OwnerId"] == OWNER_ID


@pytest.mark.parametrize(("to_task", "make_event"), TO_TASK)
def test_owner_id_is_left_out_when_not_given(to_task: Any, make_event: Any) -> None:
    draft = to_task(make_event()).draft
    assert draft.owner_id is None
    assert "OwnerId" not in draft.to_sobject()


@pytest.mark.parametrize(("to_task", "make_event"), TO_TASK)
def test_event_id_becomes_the_engage_activity_external_id(
    to_task: Any, make_event: Any
) -> None:
    draft = to_task(make_event(event_id=FIXED_EVENT_ID)).draft
    assert draft.event_id == FIXED_EVENT_ID
    assert draft.to_sobject()["Engage_Activity_Id__c"] == FIXED_EVENT_ID


def test_task_external_id_field_is_engage_activity_id() -> None:
    assert TASK_EXTERNAL_ID_FIELD == "Engage_Activity_Id__c"


# Limits


@pytest.mark.parametrize("limit", [1, 2, 10, 255, 32_000])
def test_truncate_leaves_text_at_the_limit_untouched(limit: int) -> None:
    text = "x" * limit
    assert truncate(text, limit) == text


@pytest.mark.parametrize("text", ["", "short", "ends with an ellipsis…"])
def test_truncate_leaves_text_under_the_limit_untouched(text: str) -> None:
    assert truncate(text, 255) == text


@pytest.mark.parametrize("overshoot", [1, 2, 1000])
@pytest.mark.parametrize("limit", [2, 10, 255, 32_000])
def test_truncate_cuts_text_over_the_limit_to_end_in_ellipsis(
    limit: int, overshoot: int
) -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(limit + overshoot))
    _assert_cut(truncate(text, limit), limit, text)


def test_truncate_to_one_character_is_just_the_ellipsis() -> None:
    assert truncate("ab", 1) == ELLIPSIS


@pytest.mark.parametrize("limit", [0, -1])
def test_truncate_rejects_a_limit_below_one(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        truncate("abc", limit)


@pytest.mark.parametrize("char", ["é", "日", "😀", "\U0001f468\u200d\U0001f469"])
def test_truncate_counts_characters_not_bytes(char: str) -> None:
    text = char * 300
    cut = truncate(text, 255)
    assert len(cut) == 255
    assert cut == text[:254] + ELLIPSIS
    assert truncate(text[:255], 255) == text[:255]


def test_call_subject_at_255_characters_is_untouched() -> None:
    subject = "s" * (SUBJECT_MAX_LENGTH - len(CALL_SUBJECT_PREFIX))
    draft = _call(subject=subject).draft
    assert draft.subject == CALL_SUBJECT_PREFIX + subject
    assert len(draft.subject) == 255


@pytest.mark.parametrize("overshoot", [1, 5000])
def test_call_subject_over_255_characters_is_cut_with_ellipsis(overshoot: int) -> None:
    subject = "s" * (SUBJECT_MAX_LENGTH - len(CALL_SUBJECT_PREFIX) + overshoot)
    draft = _call(subject=subject).draft
    _assert_cut(draft.subject, 255, CALL_SUBJECT_PREFIX + subject)


def test_call_subject_with_multi_byte_text_is_cut_by_characters() -> None:
    draft = _call(subject="Überprüfung 日本 😀" * 30).draft
    _assert_cut(draft.subject, 255, CALL_SUBJECT_PREFIX + "Überprüfung 日本 😀" * 30)


@pytest.mark.parametrize(
    ("event_type", "field"),
    [("OPENED", "email_subject"), ("LINK_CLICKED", "link_text")],
)
def test_email_subject_at_255_characters_is_untouched(
    event_type: str, field: str
) -> None:
    prefix = f"Engage: {EXPECTED_EMAIL_EVENT_LABELS[event_type]} "
    text = "t" * (SUBJECT_MAX_LENGTH - len(prefix))
    draft = _email(event_type=event_type, **{field: text}).draft
    assert draft.subject == prefix + text


@pytest.mark.parametrize("overshoot", [1, 5000])
@pytest.mark.parametrize(
    ("event_type", "field"),
    [("OPENED", "email_subject"), ("LINK_CLICKED", "link_text")],
)
def test_email_subject_over_255_characters_is_cut_with_ellipsis(
    event_type: str, field: str, overshoot: int
) -> None:
    prefix = f"Engage: {EXPECTED_EMAIL_EVENT_LABELS[event_type]} "
    text = "t" * (SUBJECT_MAX_LENGTH - len(prefix) + overshoot)
    draft = _email(event_type=event_type, **{field: text}).draft
    _assert_cut(draft.subject, 255, prefix + text)


def test_email_body_at_32000_characters_is_untouched() -> None:
    body = "b" * DESCRIPTION_MAX_LENGTH
    assert _email(event_type="SENT", body=body).draft.description == body


@pytest.mark.parametrize("overshoot", [1, 100_000])
def test_email_body_over_32000_characters_is_cut_with_ellipsis(overshoot: int) -> None:
    body = "b" * (DESCRIPTION_MAX_LENGTH + overshoot)
    draft = _email(event_type="SENT", body=body).draft
    _assert_cut(draft.description or "", 32_000, body)


def test_email_body_with_multi_byte_text_is_cut_by_characters() -> None:
    body = "Grüße 😀 " * 5000
    draft = _email(event_type="REPLIED", body=body).draft
    _assert_cut(draft.description or "", 32_000, body)


def test_call_description_at_32000_characters_is_untouched() -> None:
    comments = "c" * (DESCRIPTION_MAX_LENGTH - len("Comments: "))
    draft = _call(comments=comments).draft
    assert draft.description == f"Comments: {comments}"


@pytest.mark.parametrize("overshoot", [1, 100_000])
def test_call_description_over_32000_characters_is_cut_with_ellipsis(
    overshoot: int,
) -> None:
    comments = "c" * (DESCRIPTION_MAX_LENGTH - len("Comments: ") + overshoot)
    draft = _call(comments=comments, recording_url=RECORDING).draft
    _assert_cut(
        draft.description or "",
        32_000,
        f"Comments: {comments}\nCall Recording URL: {RECORDING}",
    )


# to_sobject


def test_full_call_sobject_has_exactly_the_call_task_fields() -> None:
    event = call_event(
        event_id=FIXED_EVENT_ID,
        occurred_at=datetime(2024, 5, 14, 23, 10, tzinfo=UTC),
        subject="Discovery call",
        call_result="REFERRED_TO_COLLEAGUE",
        sentiment="MORE_INFORMATION_REQUESTED",
        comments=COMMENTS,
        voicemail_title=VOICEMAIL,
        recording_url=RECORDING,
        duration_seconds=125,
    )
    assert call_to_task(event, owner_id=OWNER_ID).draft.to_sobject() == {
        "Subject": "Engage Call: Discovery call",
        "Description": (
            "Sentiment: More information requested\n"
            f"Comments: {COMMENTS}\n"
            f"VoiceMail Left: {VOICEMAIL}\n"
            f"Call Recording URL: {RECORDING}"
        ),
        "Status": "Completed",
        "ActivityDate": "2024-05-14",
        "WhoId": DEFAULT_SALESFORCE_ID,
        "OwnerId": OWNER_ID,
        "TaskSubtype": "Call",
        "CallDisposition": "Referred to colleague",
        "CallType": "Outbound",
        "CallDurationInSeconds": 125,
        "Engage_Call_Duration_Minutes__c": 2.08,
        "Engage_Activity_Id__c": FIXED_EVENT_ID,
    }


def test_bare_call_sobject_leaves_out_description_who_and_owner() -> None:
    event = call_event(
        event_id=FIXED_EVENT_ID,
        contact=contact_ref(salesforce_id=None),
        call_result="NO_ANSWER",
        duration_seconds=0,
    )
    assert call_to_task(event).draft.to_sobject() == {
        "Subject": "Engage Call: Discovery call",
        "Status": "Completed",
        "ActivityDate": "2024-05-14",
        "TaskSubtype": "Call",
        "CallDisposition": "No answer",
        "CallType": "Outbound",
        "CallDurationInSeconds": 0,
        "Engage_Call_Duration_Minutes__c": 0.0,
        "Engage_Activity_Id__c": FIXED_EVENT_ID,
    }


def test_full_email_sobject_has_exactly_the_email_task_fields() -> None:
    event = email_event(
        event_id=FIXED_EVENT_ID,
        occurred_at=datetime(2024, 5, 14, 8, 0, tzinfo=UTC),
        event_type="SENT",
        email_subject="Your Q3 plans",
        body="Hi Ada,\nShall we talk?",
    )
    assert email_to_task(event, owner_id=OWNER_ID).draft.to_sobject() == {
        "Subject": "Engage: Sent Email Your Q3 plans",
        "Description": "Hi Ada,\nShall we talk?",
        "Status": "Completed",
        "ActivityDate": "2024-05-14",
        "WhoId": DEFAULT_SALESFORCE_ID,
        "OwnerId": OWNER_ID,
        "TaskSubtype": "Email",
        "Engage_Activity_Id__c": FIXED_EVENT_ID,
    }


def test_bare_email_sobject_leaves_out_description_who_owner_and_call_fields() -> None:
    event = email_event(
        event_id=FIXED_EVENT_ID,
        contact=contact_ref(salesforce_id=None),
        event_type="OPENED",
        email_subject="Your Q3 plans",
    )
    assert email_to_task(event).draft.to_sobject() == {
        "Subject": "Engage: Email opened Your Q3 plans",
        "Status": "Completed",
        "ActivityDate": "2024-05-14",
        "TaskSubtype": "Email",
        "Engage_Activity_Id__c": FIXED_EVENT_ID,
    }


def test_sobject_uses_the_draft_status() -> None:
    draft = dataclasses.replace(_call().draft, status="Not Started")
    assert draft.to_sobject()["Status"] == "Not Started"


def test_task_draft_and_formatted_task_are_immutable() -> None:
    formatted = _call()
    with pytest.raises(dataclasses.FrozenInstanceError):
        formatted.draft.subject = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        formatted.sentiment_dropped = True  # type: ignore[misc]
    assert not hasattr(formatted.draft, "__dict__")
    assert not hasattr(formatted, "__dict__")


def test_formatting_does_not_modify_the_event() -> None:
    event = call_event(sentiment="NO_FIT", call_result="NO_ANSWER", comments=" x ")
    snapshot = json.loads(json.dumps(event, default=str))
    call_to_task(event)
    assert json.loads(json.dumps(event, default=str)) == snapshot


def test_task_draft_builds_directly_from_domain_values() -> None:
    draft = TaskDraft(
        event_id="e-1",
        kind="email",
        subject="Engage: Email opened Hello",
        description=None,
        activity_date=date(2024, 1, 2),
        who_id=None,
        owner_id=None,
        task_subtype="Email",
        call_disposition=None,
        call_type=None,
        call_duration_seconds=None,
        call_duration_minutes=None,
    )
    assert draft.to_sobject() == {
        "Subject": "Engage: Email opened Hello",
        "Status": "Completed",
        "ActivityDate": "2024-01-02",
        "TaskSubtype": "Email",
        "Engage_Activity_Id__c": "e-1",
    }


# Factories


def _schema(name: str) -> Any:
    named: dict[str, Any] = {}
    parse_schema(
        json.loads((SCHEMA_DIR / "ContactRef.avsc").read_text()), named_schemas=named
    )
    return parse_schema(
        json.loads((SCHEMA_DIR / f"{name}.avsc").read_text()), named_schemas=named
    )


@pytest.mark.parametrize(
    ("schema_name", "event"),
    [
        ("CallLogged", call_event()),
        (
            "CallLogged",
            call_event(
                sentiment="NO_FIT",
                comments=COMMENTS,
                voicemail_title=VOICEMAIL,
                recording_url=RECORDING,
                contact=contact_ref(salesforce_id=None),
            ),
        ),
        ("EmailEvent", email_event()),
        ("EmailEvent", email_event(event_type="LINK_CLICKED", link_text="x", body="y")),
    ],
)
def test_factory_events_are_what_fastavro_decodes(
    schema_name: str, event: dict[str, Any]
) -> None:
    schema = _schema(schema_name)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, event)
    buffer.seek(0)
    assert fastavro.schemaless_reader(buffer, schema) == event


@pytest.mark.parametrize("make_event", [call_event, email_event])
def test_factories_give_each_event_a_new_id(make_event: Any) -> None:
    assert make_event()["event_id"] != make_event()["event_id"]


@pytest.mark.parametrize("make_event", [call_event, email_event])
def test_factory_defaults_are_tz_aware_and_linked(make_event: Any) -> None:
    event = make_event()
    assert event["occurred_at"].utcoffset() == timedelta(0)
    assert event["contact"]["salesforce_id"] == "003000000000001AAA"
    assert len(event["contact"]["salesforce_id"]) == 18


@pytest.mark.parametrize("make", [contact_ref, call_event, email_event])
def test_factories_reject_fields_the_schema_does_not_have(make: Any) -> None:
    with pytest.raises(TypeError, match="no_such_field"):
        make(no_such_field=1)
