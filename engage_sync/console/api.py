"""The API Engage reads through (`/api/v1`, bearer token): the status, a contact's
current Salesforce record and the Task Subject picklist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, Path, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from connectors.salesforce.errors import SalesforceError
from engage_sync.connection.model import Status
from engage_sync.console.app import console_of
from engage_sync.console.crm import NoSalesforce
from engage_sync.console.engage_copy import CopyLoading
from engage_sync.console.reads import BudgetRefused, Copy, NotFound

# Declared for the OpenAPI document (clients learn the scheme from it); the check
# itself is the app's guard, which also lets a logged-in session through.
BEARER = HTTPBearer(auto_error=False, description="CONSOLE_API_TOKEN")
router = APIRouter(
    prefix="/api/v1",
    tags=["status"],
    dependencies=[Security(BEARER)],
    responses={401: {"description": "No session and no or a wrong bearer token"}},
)
T = TypeVar("T")
# The API's example id (Engage's ids are its own; this one is linked in the tests).
EXAMPLE_CONTACT = "ec-00Q5e000001AbCdEAA"


class FieldValue(BaseModel):
    """One mapped field: Engage's name, Salesforce's, the value as Engage keeps it."""

    engage: str
    salesforce: str
    value: str | None


class SalesforceRecord(BaseModel):
    """A linked contact's Salesforce record, mapped fields only."""

    engage_contact_id: str
    salesforce_id: str
    object: Literal["Lead", "Contact"]
    fields: list[FieldValue]
    age_seconds: float


class PicklistValue(BaseModel):
    value: str
    label: str
    default: bool


class Picklist(BaseModel):
    """Task.Subject's active values; `picklist` False: free text, `values` empty."""

    picklist: bool
    restricted: bool
    values: list[PicklistValue]
    age_seconds: float


class Refused(BaseModel, Generic[T]):
    """The API budget refuses a Salesforce read now; the last copy, if there is one."""

    detail: str
    reason: str
    retry_after_seconds: int
    cached_age_seconds: float | None
    cached: T | None


class Problem(BaseModel):
    detail: str


def _refused(
    model: type[Any], not_found: bool = False
) -> dict[int | str, dict[str, Any]]:
    header = {"schema": {"type": "integer"}}
    found: dict[int | str, dict[str, Any]] = (
        {404: {"model": Problem, "description": "No such contact, or not linked"}}
        if not_found
        else {}
    )
    return found | {
        429: {
            "model": Refused[model],  # type: ignore[valid-type]
            "description": "The API budget refuses a read; Age: the copy's age",
            "headers": {"Retry-After": header, "Age": header},
        },
        502: {"model": Problem, "description": "Salesforce refused the read"},
        503: {
            "model": Problem,
            "description": "Salesforce not configured, or Engage's copy loading",
            "headers": {"Retry-After": header},
        },
    }


def answer(read: Callable[[], Copy] | None, model: type[BaseModel]) -> Any:
    """A read's copy as `model` (with its age), or the error it ended in as JSON:
    404 not found, 429 budget (Retry-After, Age), 502 Salesforce, 503 not ready."""
    if read is None:
        return _problem(503, "the console has no Salesforce reads wired", 60)
    try:
        copy = read()
    except NotFound as exc:
        return _problem(404, str(exc))
    except BudgetRefused as exc:
        cached = exc.cached
        headers = {"Retry-After": str(exc.retry_after)}
        if cached is not None:
            headers["Age"] = str(int(cached.age))
        body = {
            "detail": f"the API budget refuses a Salesforce read now: {exc}",
            "reason": exc.blocked.reason,
            "retry_after_seconds": exc.retry_after,
            "cached_age_seconds": None if cached is None else round(cached.age, 3),
            "cached": None if cached is None else _with_age(cached),
        }
        return JSONResponse(body, status_code=429, headers=headers)
    except (CopyLoading, NoSalesforce) as exc:
        return _problem(503, str(exc), 5)
    except SalesforceError as exc:
        return _problem(502, f"Salesforce refused the read: {exc}")
    return model.model_validate(_with_age(copy))


def _with_age(copy: Copy) -> dict[str, Any]:
    return copy.value | {"age_seconds": round(copy.age, 3)}


def _problem(status: int, detail: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


@router.get("/status", response_model=Status)
def status(request: Request) -> Status:
    """The Connection page's data: org, permissions, API calls, users, polls, lag
    and dead letters; `errors` names the parts that could not be read."""
    return console_of(request).status()


@router.get(
    "/contacts/{engage_contact_id}/salesforce",
    response_model=SalesforceRecord,
    responses=_refused(SalesforceRecord, not_found=True),
    tags=["reads"],
)
def contact_salesforce_record(
    request: Request,
    engage_contact_id: Annotated[str, Path(examples=[EXAMPLE_CONTACT])],
) -> Any:
    """The linked Lead's or Contact's current mapped fields, read from Salesforce
    (never a Do Not Read/Write field); a copy younger than
    CONSOLE_RECORD_CACHE_SECONDS answers without an API call."""
    reads = console_of(request).reads
    return answer(
        None if reads is None else lambda: reads.records.record(engage_contact_id),
        SalesforceRecord,
    )


@router.get(
    "/picklists/task-subject",
    response_model=Picklist,
    responses=_refused(Picklist),
    tags=["reads"],
)
def task_subject_picklist(request: Request) -> Any:
    """Task.Subject's picklist from describe (Engage's Call Subject field), cached
    CONSOLE_PICKLIST_CACHE_SECONDS."""
    reads = console_of(request).reads
    return answer(None if reads is None else reads.task_subject.picklist, Picklist)
