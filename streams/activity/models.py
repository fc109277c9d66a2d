"""Value objects for Salesforce Tasks built from Engage call and email events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from domain.commands import TASK_EXTERNAL_ID, FieldValue
from ground.frozen import fast_init

TaskKind = Literal["call", "email"]
TaskSubtype = Literal["Call", "Email"]

TASK_EXTERNAL_ID_FIELD: Final = TASK_EXTERNAL_ID

CALL_RESULT_LABELS: Final[dict[str, str]] = {
    "CONNECTED_DIRECT_LINE": "Connected via direct line",
    "CONNECTED_SWITCHBOARD": "Connected via switchboard",
    "REFERRED_TO_COLLEAGUE": "Referred to colleague",
    "LEFT_MESSAGE": "Left message",
    "NO_ANSWER": "No answer",
    "WRONG_NUMBER": "Wrong number",
    "GATEKEEPER_BLOCKED": "Gatekeeper - blocked",
}

CONVERSATION_RESULTS: Final[frozenset[str]] = frozenset(
    {"CONNECTED_DIRECT_LINE", "CONNECTED_SWITCHBOARD", "REFERRED_TO_COLLEAGUE"}
)

SENTIMENT_LABELS: Final[dict[str, str]] = {
    "BAD_TIMING": "Bad timing",
    "NO_FIT": "No fit",
    "NOT_INTERESTED": "Not interested",
    "REQUEST_FOR_CALLBACK": "Request for callback",
    "MORE_INFORMATION_REQUESTED": "More information requested",
    "NEXT_STEP_BOOKED": "Next step booked",
}

EMAIL_EVENT_LABELS: Final[dict[str, str]] = {
    "SENT": "Sent Email",
    "OPENED": "Email opened",
    "FAILED": "Email failed",
    "UNSUBSCRIBED": "Contact unsubscribed",
    "CONTENT_VIEWED": "Content viewed",
    "CONTENT_DOWNLOADED": "Content downloaded",
    "LINK_CLICKED": "A link clicked",
    "REPLIED": "Email reply",
}


@fast_init  # built once per activity
@dataclass(frozen=True, slots=True)
class TaskDraft:
    """A completed Salesforce Task, described in domain terms."""

    event_id: str
    kind: TaskKind
    subject: str
    description: str | None
    activity_date: date
    who_id: str | None
    owner_id: str | None
    task_subtype: TaskSubtype
    call_disposition: str | None
    call_type: str | None
    call_duration_seconds: int | None
    call_duration_minutes: float | None
    status: str = "Completed"

    def to_sobject(self) -> dict[str, FieldValue]:
        """Return the Task's Salesforce fields, leaving out those without a value."""
        # Built in place, in this order (the command's bytes follow it): on every
        # activity's path, where a full dict filtered afterwards cost twice as much.
        fields: dict[str, FieldValue] = {"Subject": self.subject}
        if self.description is not None:
            fields["Description"] = self.description
        fields["Status"] = self.status
        fields["ActivityDate"] = self.activity_date.isoformat()
        if self.who_id is not None:
            fields["WhoId"] = self.who_id
        if self.owner_id is not None:
            fields["OwnerId"] = self.owner_id
        fields["TaskSubtype"] = self.task_subtype
        if self.call_disposition is not None:
            fields["CallDisposition"] = self.call_disposition
        if self.call_type is not None:
            fields["CallType"] = self.call_type
        if self.call_duration_seconds is not None:
            fields["CallDurationInSeconds"] = self.call_duration_seconds
        if self.call_duration_minutes is not None:
            fields["Engage_Call_Duration_Minutes__c"] = self.call_duration_minutes
        fields[TASK_EXTERNAL_ID_FIELD] = self.event_id
        return fields


@fast_init  # built once per activity
@dataclass(frozen=True, slots=True)
class FormattedTask:
    """A Task draft and whether a sentiment was left out of it."""

    draft: TaskDraft
    sentiment_dropped: bool = False
