"""API errors and the exact JSON bodies Salesforce returns for them."""

from __future__ import annotations

from typing import Any

NOT_FOUND_MESSAGE = "The requested resource does not exist"


class ApiError(Exception):
    """An error answered as `[{"message", "errorCode", ...}]` with an HTTP status.

    `fields` is None when the real API omits the key (session, limit, query
    errors) and a list when it includes it (record errors).
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        extra: dict[str, Any] | None = None,
        item_message: str | None = None,
        raw_body: Any = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields
        self.extra = extra or {}
        # Collections report some errors with a different (shorter) text.
        self.item_message = item_message
        # Some answers (300 on upsert) are not error lists at all.
        self.raw_body = raw_body

    def entry(self) -> dict[str, Any]:
        """One element of the error list body for a single-resource call."""
        body: dict[str, Any] = dict(self.extra)
        body["message"] = self.message
        body["errorCode"] = self.error_code
        if self.fields is not None:
            body["fields"] = list(self.fields)
        return body

    def body(self) -> Any:
        return self.raw_body if self.raw_body is not None else [self.entry()]

    def item(self) -> dict[str, Any]:
        """The per-record error form used inside collections results."""
        return {
            "statusCode": self.error_code,
            "message": self.item_message or self.message,
            "fields": list(self.fields or []),
        }


def record_error(code: str, message: str, fields: list[str] | None = None) -> ApiError:
    """A 400 error about one record (always carries a `fields` list)."""
    return ApiError(400, code, message, fields=list(fields or []))


def not_found(message: str = NOT_FOUND_MESSAGE) -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def entity_deleted() -> ApiError:
    return ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", fields=[])


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def limit_exceeded() -> ApiError:
    return ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def insert_update_denied(fields: list[str]) -> ApiError:
    names = ", ".join(fields)
    return record_error(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {names}. Please check the security "
        "settings of this field and verify that it is read/write for your profile "
        "or permission set.",
        fields,
    )


def json_parser_error(detail: str) -> ApiError:
    return ApiError(400, "JSON_PARSER_ERROR", detail)
