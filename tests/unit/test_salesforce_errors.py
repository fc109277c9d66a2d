"""Tests for sorting Salesforce answers into retriable/throttled/fatal/skippable."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
from urllib3.exceptions import ProtocolError

from connectors.salesforce.errors import (
    ErrorKind,
    FatalError,
    Problem,
    RetriableError,
    SkippableRecordError,
    ThrottledError,
    classify_exception,
    classify_record_error,
    classify_response,
    to_exception,
)

RETRIABLE = ErrorKind.RETRIABLE
THROTTLED = ErrorKind.THROTTLED
FATAL = ErrorKind.FATAL
SKIPPABLE = ErrorKind.SKIPPABLE

CONTACT_URL = "/services/data/v59.0/sobjects/Contact/0038M0000016Wv8QAE"
DUPLICATE_MESSAGE = (
    "You're creating a duplicate record. "
    "We recommend you use an existing record instead."
)
DUPLICATES_DETECTED_BODY: list[dict[str, Any]] = [
    {
        "duplicateResult": {
            "allowSave": False,
            "duplicateRule": "Standard_Contact_Duplicate_Rule",
            "duplicateRuleEntityType": "Contact",
            "errorMessage": DUPLICATE_MESSAGE,
            "matchResults": [
                {
                    "entityType": "Contact",
                    "errors": [],
                    "matchEngine": "FuzzyMatchEngine",
                    "matchRecords": [
                        {
                            "additionalInformation": [],
                            "fieldDiffs": [],
                            "matchConfidence": 100.0,
                            "record": {
                                "attributes": {"type": "Contact", "url": CONTACT_URL},
                                "Id": "0038M0000016Wv8QAE",
                            },
                        }
                    ],
                    "rule": "Standard_Contact_Match_Rule_v1_1",
                    "size": 1,
                    "success": True,
                }
            ],
        },
        "errorCode": "DUPLICATES_DETECTED",
        "message": DUPLICATE_MESSAGE,
    }
]


def _body(code: str, message: str, fields: list[str] | None = None) -> list[dict]:
    error: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        error["fields"] = fields
    return [error]


# (status, exact body from the reference's error table, expected kind)
WHOLE_REQUEST: dict[str, tuple[int, Any, ErrorKind]] = {
    "required field missing": (
        400,
        _body(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
            ["LastName"],
        ),
        SKIPPABLE,
    ),
    "string too long": (
        400,
        _body(
            "STRING_TOO_LONG",
            "Subject: data value too large: xxxx... (max length=255)",
            ["Subject"],
        ),
        SKIPPABLE,
    ),
    "bad field": (
        400,
        _body("INVALID_FIELD", "No such column 'Foo__c' on sobject of type Task"),
        SKIPPABLE,
    ),
    "malformed query": (
        400,
        _body("MALFORMED_QUERY", "unexpected token: 'FRM'"),
        FATAL,
    ),
    "validation rule": (
        400,
        _body(
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "Calls need a Call Result",
            [],
        ),
        SKIPPABLE,
    ),
    "row lock": (
        400,
        _body(
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record or 1 records: "
            "0038M0000016Wv8QAE",
            [],
        ),
        RETRIABLE,
    ),
    "duplicate rule": (400, DUPLICATES_DETECTED_BODY, SKIPPABLE),
    "field integrity": (
        400,
        _body("FIELD_INTEGRITY_EXCEPTION", "Related To ID: id value of incorrect type"),
        SKIPPABLE,
    ),
    "bad cross reference": (
        400,
        _body(
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            ["WhoId"],
        ),
        SKIPPABLE,
    ),
    "restricted picklist": (
        400,
        _body(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Call Type: bad value for restricted picklist field: Sideways",
            ["CallType"],
        ),
        SKIPPABLE,
    ),
    "wrong type on field": (
        400,
        _body(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            "Due Date Only: value not of required type: not-a-date",
            ["ActivityDate"],
        ),
        SKIPPABLE,
    ),
    "duplicate value": (
        400,
        _body(
            "DUPLICATE_VALUE",
            "duplicate value found: Engage_Activity_Id__c duplicates value on record "
            "with id: 00T5e00000AbCdE",
            ["Engage_Activity_Id__c"],
        ),
        SKIPPABLE,
    ),
    "json parser error": (
        400,
        _body("JSON_PARSER_ERROR", "Unexpected character ('}' (code 125))"),
        FATAL,
    ),
    "expired session": (
        401,
        _body("INVALID_SESSION_ID", "Session expired or invalid"),
        FATAL,
    ),
    "request limit": (
        403,
        _body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        THROTTLED,
    ),
    "concurrent request limit": (
        403,
        _body("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
        THROTTLED,
    ),
    "no access": (
        403,
        _body(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
        ),
        FATAL,
    ),
    "api disabled": (
        403,
        _body(
            "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."
        ),
        FATAL,
    ),
    "not found": (
        404,
        _body("NOT_FOUND", "The requested resource does not exist"),
        FATAL,
    ),
    "entity is deleted": (
        404,
        _body("ENTITY_IS_DELETED", "entity is deleted", []),
        SKIPPABLE,
    ),
    "platform error": (
        500,
        _body(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId",
        ),
        RETRIABLE,
    ),
    "bad gateway": (
        502,
        _body("SERVER_UNAVAILABLE", "Server temporarily unavailable"),
        RETRIABLE,
    ),
    "server unavailable": (
        503,
        _body("SERVER_UNAVAILABLE", "Server temporarily unavailable"),
        RETRIABLE,
    ),
}


def _case_params(cases: dict[str, tuple[Any, ...]]) -> list[Any]:
    """Turn `(…, kind-or-param)` rows into params, keeping marks on the kind."""
    params = []
    for case_id, (*args, kind) in cases.items():
        if isinstance(kind, ErrorKind):
            params.append(pytest.param(*args, kind, id=case_id))
        else:
            params.append(
                pytest.param(*args, *kind.values, marks=kind.marks, id=case_id)
            )
    return params


@pytest.mark.parametrize(("status", "body", "kind"), _case_params(WHOLE_REQUEST))
def test_whole_request_error_from_the_reference_is_classified(
    status: int, body: Any, kind: ErrorKind
) -> None:
    problem = classify_response(status, copy.deepcopy(body))

    assert problem.kind is kind
    assert problem.code == body[0]["errorCode"]
    assert problem.message == body[0]["message"]
    assert problem.fields == tuple(body[0].get("fields", ()))
    assert problem.status == status


def test_duplicate_rule_keeps_the_duplicate_result_for_the_dead_letter() -> None:
    problem = classify_response(400, copy.deepcopy(DUPLICATES_DETECTED_BODY))

    assert problem.kind is SKIPPABLE
    assert problem.details["duplicateResult"]["duplicateRule"] == (
        "Standard_Contact_Duplicate_Rule"
    )
    match = problem.details["duplicateResult"]["matchResults"][0]
    assert match["matchRecords"][0]["record"]["Id"] == "0038M0000016Wv8QAE"


# (item error as collections return it, with statusCode, expected kind)
PER_RECORD: dict[str, tuple[dict[str, Any], ErrorKind]] = {
    "unable to lock row": (
        {
            "statusCode": "UNABLE_TO_LOCK_ROW",
            "message": "unable to obtain exclusive access to this record or 1 records: "
            "0038M0000016Wv8QAE",
            "fields": [],
        },
        RETRIABLE,
    ),
    "rolled back sibling of a failed record": (
        {
            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": "Record rolled back because not all records were valid and the "
            "request was using AllOrNone header",
            "fields": [],
        },
        RETRIABLE,
    ),
    "server unavailable": (
        {"statusCode": "SERVER_UNAVAILABLE", "message": "try later", "fields": []},
        RETRIABLE,
    ),
    "platform error": (
        {"statusCode": "UNKNOWN_EXCEPTION", "message": "ErrorId 123", "fields": []},
        RETRIABLE,
    ),
    "request limit": (
        {
            "statusCode": "REQUEST_LIMIT_EXCEEDED",
            "message": "TotalRequests Limit exceeded.",
            "fields": [],
        },
        THROTTLED,
    ),
    "expired session": (
        {
            "statusCode": "INVALID_SESSION_ID",
            "message": "Session expired or invalid",
            "fields": [],
        },
        FATAL,
    ),
    "validation rule": (
        {
            "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "message": "Calls need a Call Result",
            "fields": ["CallDisposition"],
        },
        SKIPPABLE,
    ),
    "duplicate rule": (
        {
            "statusCode": "DUPLICATES_DETECTED",
            "message": "Use one of these records?",
            "fields": [],
        },
        SKIPPABLE,
    ),
    "duplicate external id in one request": (
        {
            "statusCode": "DUPLICATE_EXTERNAL_ID",
            "message": "Engage_Activity_Id__c: more than one record found",
            "fields": ["Engage_Activity_Id__c"],
        },
        SKIPPABLE,
    ),
    "bad field": (
        {
            "statusCode": "INVALID_FIELD",
            "message": "No such column 'Foo__c' on sobject of type Task",
            "fields": ["Foo__c"],
        },
        SKIPPABLE,
    ),
    "restricted picklist": (
        {
            "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "message": "Call Type: bad value for restricted picklist field: Sideways",
            "fields": ["CallType"],
        },
        SKIPPABLE,
    ),
    "wrong type on field": (
        {
            "statusCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
            "message": "Due Date Only: value not of required type: not-a-date",
            "fields": ["ActivityDate"],
        },
        SKIPPABLE,
    ),
    "entity is deleted": (
        {
            "statusCode": "ENTITY_IS_DELETED",
            "message": "entity is deleted",
            "fields": [],
        },
        SKIPPABLE,
    ),
    "required field missing": (
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [Subject]",
            "fields": ["Subject"],
        },
        SKIPPABLE,
    ),
    "string too long": (
        {
            "statusCode": "STRING_TOO_LONG",
            "message": "Subject: data value too large: xxxx... (max length=255)",
            "fields": ["Subject"],
        },
        SKIPPABLE,
    ),
    "create-only field on update": (
        {
            "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "message": "Unable to create/update fields: TaskSubtype.",
            "fields": ["TaskSubtype"],
        },
        SKIPPABLE,
    ),
    "bad who id": (
        {
            "statusCode": "INVALID_CROSS_REFERENCE_KEY",
            "message": "invalid cross reference id",
            "fields": ["WhoId"],
        },
        SKIPPABLE,
    ),
    "unknown code": (
        {"statusCode": "SOMETHING_NEW", "message": "new in v62", "fields": []},
        SKIPPABLE,
    ),
}


@pytest.mark.parametrize(("error", "kind"), _case_params(PER_RECORD))
def test_collection_item_error_is_classified_by_its_status_code(
    error: dict[str, Any], kind: ErrorKind
) -> None:
    problem = classify_record_error(dict(error))

    assert problem.kind is kind
    assert problem.code == error["statusCode"]
    assert problem.message == error["message"]
    assert problem.fields == tuple(error["fields"])
    assert problem.status is None


def test_unable_to_lock_row_in_a_collection_item_is_retriable() -> None:
    item = {
        "success": False,
        "errors": [
            {
                "statusCode": "UNABLE_TO_LOCK_ROW",
                "message": "unable to obtain exclusive access to this record",
                "fields": [],
            }
        ],
    }

    assert classify_record_error(item["errors"][0]).kind is RETRIABLE


OAUTH_ERRORS = {
    "bad credentials": ("invalid_grant", "authentication failure"),
    "expired refresh token": ("invalid_grant", "expired access/refresh token"),
    "app not pre-authorized": ("invalid_grant", "user hasn't approved this consumer"),
    "bad assertion": ("invalid_grant", "invalid assertion"),
    "wrong audience": ("invalid_grant", "audience is invalid"),
    "locked user": (
        "invalid_grant",
        "invalid username, password, security token; or user locked out.",
    ),
    "unknown client id": ("invalid_client_id", "client identifier invalid"),
    "bad client secret": ("invalid_client", "invalid client credentials"),
    "unsupported grant": ("unsupported_grant_type", "grant type not supported"),
}


@pytest.mark.parametrize(
    ("error", "description"), OAUTH_ERRORS.values(), ids=OAUTH_ERRORS.keys()
)
def test_oauth_token_error_is_fatal_and_keeps_the_description(
    error: str, description: str
) -> None:
    problem = classify_response(400, {"error": error, "error_description": description})

    assert problem.kind is FATAL
    assert problem.code == error
    assert problem.message == description


def test_upsert_key_matching_several_records_is_skippable_and_lists_them() -> None:
    body = [
        "/services/data/v59.0/sobjects/Task/00T5e00000AbCdEEAV",
        "/services/data/v59.0/sobjects/Task/00T5e00000AbCdFEAV",
    ]

    problem = classify_response(300, body)

    assert problem.kind is SKIPPABLE
    assert problem.code == "HTTP_300"
    assert "00T5e00000AbCdEEAV" in problem.message
    assert "00T5e00000AbCdFEAV" in problem.message


UNKNOWN_BY_STATUS = {
    "unknown 400 code": (400, _body("SOMETHING_NEW", "new in v62"), FATAL),
    "method not allowed": (
        405,
        _body("METHOD_NOT_ALLOWED", "HTTP Method 'PUT'"),
        FATAL,
    ),
    "uri too long": (414, "URI Too Long", FATAL),
    "unsupported media type": (415, _body("UNSUPPORTED_MEDIA_TYPE", "xml"), FATAL),
    "request timeout": (408, "", RETRIABLE),
    "too many requests": (429, "", RETRIABLE),
    "unknown 500 code": (500, _body("SOMETHING_NEW", "boom"), RETRIABLE),
    "html bad gateway": (502, "<html><body>Bad Gateway</body></html>", RETRIABLE),
    "empty 503": (503, None, RETRIABLE),
    "gateway timeout": (504, "", RETRIABLE),
}


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [pytest.param(*case, id=case_id) for case_id, case in UNKNOWN_BY_STATUS.items()],
)
def test_unknown_code_is_classified_by_its_status_class(
    status: int, body: Any, kind: ErrorKind
) -> None:
    problem = classify_response(status, body)

    assert problem.kind is kind
    assert problem.status == status


def test_body_without_error_code_is_named_after_the_status() -> None:
    assert classify_response(502, "Bad Gateway").code == "HTTP_502"


def test_very_long_message_is_cut_to_a_thousand_characters() -> None:
    problem = classify_response(
        400, _body("FIELD_CUSTOM_VALIDATION_EXCEPTION", "x" * 5000)
    )

    assert len(problem.message) == 1000


TRANSPORT = {
    "read timeout": (requests.exceptions.ReadTimeout("read timed out"), RETRIABLE),
    "connect timeout": (
        requests.exceptions.ConnectTimeout("connect timed out"),
        RETRIABLE,
    ),
    "timeout": (requests.exceptions.Timeout("timed out"), RETRIABLE),
    "connection refused": (
        requests.exceptions.ConnectionError("Connection refused"),
        RETRIABLE,
    ),
    "dropped connection": (
        requests.exceptions.ConnectionError(
            ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
        ),
        RETRIABLE,
    ),
    "cut-off chunked body": (
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
        RETRIABLE,
    ),
    "untrusted certificate": (
        requests.exceptions.SSLError("certificate verify failed"),
        FATAL,
    ),
    "not a transport error": (RuntimeError("bug"), FATAL),
}


@pytest.mark.parametrize(
    ("exc", "kind"),
    [pytest.param(*case, id=case_id) for case_id, case in TRANSPORT.items()],
)
def test_transport_error_is_classified(exc: BaseException, kind: ErrorKind) -> None:
    assert classify_exception(exc).kind is kind


def test_tls_error_names_the_ca_bundle_setting() -> None:
    problem = classify_exception(
        requests.exceptions.SSLError("certificate verify failed")
    )

    assert "SALESFORCE_CA_BUNDLE" in problem.message


@pytest.mark.parametrize(
    ("kind", "error_type"),
    [
        (RETRIABLE, RetriableError),
        (THROTTLED, ThrottledError),
        (FATAL, FatalError),
        (SKIPPABLE, SkippableRecordError),
    ],
)
def test_problem_becomes_the_exception_of_its_kind(
    kind: ErrorKind, error_type: type[Exception]
) -> None:
    problem = Problem(kind, "SOME_CODE", "what happened")

    raised = to_exception(problem)

    assert type(raised) is error_type
    assert raised.problem is problem
    assert str(raised) == "SOME_CODE: what happened"
