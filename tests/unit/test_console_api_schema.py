"""schemathesis against the console's OpenAPI document, in-process over ASGI, with
the bearer token: every operation answers what the document promises."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from engage_sync.console.app import create_app
from tests.unit.test_console_security import TOKEN, _settings, _status

AUTH = {"Authorization": f"Bearer {TOKEN}"}
APP = create_app(_settings(), _status)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP, headers=AUTH)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_operations_conform_to_the_openapi_document(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate(headers=AUTH)


def test_document_declares_the_bearer_scheme() -> None:
    raw = schema.raw_schema
    assert raw["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/api/v1/status" in raw["paths"]
