"""Turn decoded Engage call and email events into Salesforce Task drafts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from streams.activity.models import (
    CALL_RESULT_LABELS,
    CONVERSATION_RESULTS,
    EMAIL_EVENT_LABELS,
    SENTIMENT_LABELS,
    FormattedTask,
    TaskDraft,
)

SUBJECT_MAX_LENGTH: Final = 255
DESCRIPTION_MAX_LENGTH: Final = 32_000
ELLIPSIS: Final = "\u2026"

CALL_SUBJECT_PREFIX: Final = "Engage Call:"
EMAIL_SUBJECT_PREFIX: Final = "Engage:"
CALL_TYPE: Final = "Outbound"

LINK_TEXT_EVENTS: Final[frozenset[str]] = frozenset(
    {"LINK_CLICKED", "CONTENT_VIEWED", "CONTENT_DOWNLOADED"}
)


def truncate(text: str, limit: int) -> str:
    """Return text unchanged if it fits in limit characters, else cut to end in '…'."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def call_to_task(
    event: Mapping[str, Any], owner_id: str | None = None
) -> FormattedTask:
    """Build the completed Task for a logged Engage dialer call."""
    result = event["call_result"]
    result_label = CALL_RESULT_LABELS.get(result) or _label(
        CALL_RESULT_LABELS, result, "call_result"
    )
    sentiment = event.get("sentiment")
    sentiment_label = (
        None
        if sentiment is None
        else SENTIMENT_LABELS.get(sentiment)
        or _label(SENTIMENT_LABELS, sentiment, "sentiment")
    )
    is_conversation = result in CONVERSATION_RESULTS
    lines = []  # the guide's order; a line only where there is a value
    if is_conversation and sentiment_label:
        lines.append(f"Sentiment: {sentiment_label}")
    if comments := _present(event.get("comments")):
        lines.append(f"Comments: {comments}")
    if voicemail := _present(event.get("voicemail_title")):
        lines.append(f"VoiceMail Left: {voicemail}")
    if recording := _present(event.get("recording_url")):
        lines.append(f"Call Recording URL: {recording}")
    description = "\n".join(lines)
    duration_seconds = int(event["duration_seconds"])
    draft = TaskDraft(
        event_id=event["event_id"],
        kind="call",
        subject=_subject(CALL_SUBJECT_PREFIX, _present(event["subject"])),
        description=_description(description),
        activity_date=_activity_date(event["occurred_at"]),
        who_id=_who_id(event),
        owner_id=owner_id,
        task_subtype="Call",
        call_disposition=result_label,
        call_type=CALL_TYPE,
        call_duration_seconds=duration_seconds,
        call_duration_minutes=round(duration_seconds / 60, 2),
    )
    return FormattedTask(
        draft=draft,
        sentiment_dropped=sentiment_label is not None and not is_conversation,
    )


def email_to_task(
    event: Mapping[str, Any], owner_id: str | None = None
) -> FormattedTask:
    """Build the completed Task for an event on an email sent from Engage."""
    event_type = event["event_type"]
    label = EMAIL_EVENT_LABELS.get(event_type) or _label(
        EMAIL_EVENT_LABELS, event_type, "event_type"
    )
    link_text = _present(event.get("link_text"))
    if event_type in LINK_TEXT_EVENTS and link_text is not None:
        text: str | None = link_text
    else:
        text = _present(event["email_subject"])
    body = event.get("body")
    draft = TaskDraft(
        event_id=event["event_id"],
        kind="email",
        subject=_subject(f"{EMAIL_SUBJECT_PREFIX} {label}", text),
        description=_description(body if _present(body) is not None else None),
        activity_date=_activity_date(event["occurred_at"]),
        who_id=_who_id(event),
        owner_id=owner_id,
        task_subtype="Email",
        call_disposition=None,
        call_type=None,
        call_duration_seconds=None,
        call_duration_minutes=None,
    )
    return FormattedTask(draft=draft)


def _present(value: str | None) -> str | None:
    """Return value without surrounding whitespace, or None if it is blank."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _label(labels: Mapping[str, str], symbol: str, field: str) -> str:
    # Called where `.get` found nothing (or to say so): the labels are never empty.
    try:
        return labels[symbol]
    except KeyError:
        raise ValueError(f"unknown {field} symbol: {symbol!r}") from None


def _subject(prefix: str, text: str | None) -> str:
    return truncate(prefix if text is None else f"{prefix} {text}", SUBJECT_MAX_LENGTH)


def _description(text: str | None) -> str | None:
    return truncate(text, DESCRIPTION_MAX_LENGTH) if text else None


def _activity_date(occurred_at: datetime) -> date:
    if occurred_at.tzinfo is UTC:  # as the serde decodes every timestamp
        return occurred_at.date()
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        raise ValueError("occurred_at must be timezone-aware")
    return occurred_at.astimezone(UTC).date()


def _who_id(event: Mapping[str, Any]) -> str | None:
    contact = event.get("contact") or {}
    return _present(contact.get("salesforce_id"))
