"""The one classifier of Salesforce answers: retriable, throttled, fatal, skippable."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests


class ErrorKind(enum.Enum):
    RETRIABLE = "retriable"  # try the same request again after a backoff
    THROTTLED = "throttled"  # the org's API budget is spent: pause, do not spin
    FATAL = "fatal"  # configuration, credentials or permissions: stop the process
    SKIPPABLE = (
        "skippable"  # this record cannot be written as it is: report and move on
    )


@dataclass(frozen=True)
class Problem:
    """A classified Salesforce error."""

    kind: ErrorKind
    code: str
    message: str
    fields: tuple[str, ...] = ()
    status: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class SalesforceError(Exception):
    """Base of the typed errors raised at the Salesforce edge."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.code}: {problem.message}")
        self.problem = problem


class RetriableError(SalesforceError):
    pass


class ThrottledError(SalesforceError):
    pass


class FatalError(SalesforceError):
    pass


class SkippableRecordError(SalesforceError):
    pass


_RAISE = {
    ErrorKind.RETRIABLE: RetriableError,
    ErrorKind.THROTTLED: ThrottledError,
    ErrorKind.FATAL: FatalError,
    ErrorKind.SKIPPABLE: SkippableRecordError,
}

# Codes whose kind does not follow from the HTTP status alone.
_CODE_KINDS: dict[str, ErrorKind] = {
    # Row locks clear once the other transaction ends (child inserts lock the parent).
    "UNABLE_TO_LOCK_ROW": ErrorKind.RETRIABLE,
    "SERVER_UNAVAILABLE": ErrorKind.RETRIABLE,
    "UNKNOWN_EXCEPTION": ErrorKind.RETRIABLE,
    # With allOrNone the sibling of a failed record is rolled back, not wrong itself.
    "ALL_OR_NONE_OPERATION_ROLLED_BACK": ErrorKind.RETRIABLE,
    "PROCESSING_HALTED": ErrorKind.RETRIABLE,
    # Also the "ConcurrentPerOrgLongTxn" variant: both clear with time, not retries.
    "REQUEST_LIMIT_EXCEEDED": ErrorKind.THROTTLED,
    "INVALID_SESSION_ID": ErrorKind.FATAL,
    "API_DISABLED_FOR_ORG": ErrorKind.FATAL,
    "API_CURRENTLY_DISABLED": ErrorKind.FATAL,
    "INSUFFICIENT_ACCESS_OR_READONLY": ErrorKind.FATAL,
    "INVALID_TYPE": ErrorKind.FATAL,
    "MALFORMED_QUERY": ErrorKind.FATAL,
    "JSON_PARSER_ERROR": ErrorKind.FATAL,
    "NOT_FOUND": ErrorKind.FATAL,
}

# Per-record errors in collection answers are about that record, except these: transient
# ones, and a missing permission: it fails every record alike and must stop the writer.
_RECORD_NOT_SKIPPABLE = {
    code for code, kind in _CODE_KINDS.items() if kind is not ErrorKind.FATAL
} | {"INVALID_SESSION_ID", "INSUFFICIENT_ACCESS_OR_READONLY", "API_DISABLED_FOR_ORG"}


def _first_error(body: Any) -> Mapping[str, Any]:
    if isinstance(body, list) and body and isinstance(body[0], Mapping):
        return body[0]
    if isinstance(body, Mapping):
        return body
    return {}


def classify_response(status: int, body: Any) -> Problem:
    """Classify a whole-request failure (HTTP status >= 300) from its parsed body."""
    first = _first_error(body)
    code = str(first.get("errorCode") or first.get("error") or f"HTTP_{status}")
    message = str(first.get("message") or first.get("error_description") or body)[:1000]
    fields = tuple(first.get("fields") or ())
    kind = _CODE_KINDS.get(code)
    if kind is None:
        if status >= 500 or status in (408, 429):
            kind = ErrorKind.RETRIABLE
        elif status == 300:
            kind = ErrorKind.SKIPPABLE  # an upsert key matched several records
        elif status in (400, 404) and code in _record_codes():
            # Single-record calls report record errors as 400 (404 if deleted).
            kind = ErrorKind.SKIPPABLE
        else:
            kind = ErrorKind.FATAL
    return Problem(kind, code, message, fields, status, dict(first))


def classify_record_error(error: Mapping[str, Any]) -> Problem:
    """Classify one collection-answer item's error (`statusCode`, not `errorCode`)."""
    code = str(error.get("statusCode") or error.get("errorCode") or "UNKNOWN")
    message = str(error.get("message") or "")[:1000]
    fields = tuple(error.get("fields") or ())
    if code in _RECORD_NOT_SKIPPABLE:
        kind = _CODE_KINDS.get(code, ErrorKind.RETRIABLE)
    else:
        kind = ErrorKind.SKIPPABLE
    return Problem(kind, code, message, fields, None, dict(error))


def classify_exception(exc: BaseException) -> Problem:
    """Classify a transport failure: timeouts and dropped connections are retriable."""
    if isinstance(exc, requests.exceptions.SSLError):
        return Problem(
            ErrorKind.FATAL, "TLS_ERROR", f"{exc}: check SALESFORCE_CA_BUNDLE"
        )
    if isinstance(
        exc, requests.exceptions.Timeout | requests.exceptions.ConnectionError
    ):
        return Problem(ErrorKind.RETRIABLE, "CONNECTION_ERROR", str(exc)[:500])
    if isinstance(exc, requests.exceptions.RequestException):
        return Problem(ErrorKind.RETRIABLE, "HTTP_ERROR", str(exc)[:500])
    return Problem(ErrorKind.FATAL, type(exc).__name__, str(exc)[:500])


def to_exception(problem: Problem) -> SalesforceError:
    return _RAISE[problem.kind](problem)


def _record_codes() -> frozenset[str]:
    return _SKIPPABLE_RECORD_CODES


# Codes Salesforce uses for a record it will not save as sent.
_SKIPPABLE_RECORD_CODES = frozenset(
    {
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "DUPLICATES_DETECTED",
        "DUPLICATE_VALUE",
        "DUPLICATE_EXTERNAL_ID",
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
        "INVALID_FIELD",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "INVALID_CROSS_REFERENCE_KEY",
        "FIELD_INTEGRITY_EXCEPTION",
        "ENTITY_IS_DELETED",
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
    }
)
