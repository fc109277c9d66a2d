"""schemathesis against the console's OpenAPI document, in-process over ASGI, with
the bearer token: every operation answers what the document promises."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from tests.unit.test_console_reads import AUTH, fake_world

# The read routes wired to a fake org: the document's example id is a linked
# contact (schemathesis tries it first), random ids are 404s.
APP = fake_world().client.app
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
    assert {
        "/api/v1/status",
        "/api/v1/contacts/{engage_contact_id}/salesforce",
        "/api/v1/picklists/task-subject",
    } <= set(raw["paths"])
    assert all(raw["paths"][p]["get"]["security"] for p in raw["paths"])
