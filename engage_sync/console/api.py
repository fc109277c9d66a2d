"""The API Engage reads through (`/api/v1`, bearer token): so far the status."""

from __future__ import annotations

from fastapi import APIRouter, Request, Security
from fastapi.security import HTTPBearer

from engage_sync.connection.model import Status
from engage_sync.console.app import console_of

# Declared for the OpenAPI document (clients learn the scheme from it); the check
# itself is the app's guard, which also lets a logged-in session through.
BEARER = HTTPBearer(auto_error=False, description="CONSOLE_API_TOKEN")
router = APIRouter(
    prefix="/api/v1",
    tags=["status"],
    dependencies=[Security(BEARER)],
    responses={401: {"description": "No session and no or a wrong bearer token"}},
)


@router.get("/status", response_model=Status)
def status(request: Request) -> Status:
    """The Connection page's data: org, permissions, API calls, users, polls, lag
    and dead letters; `errors` names the parts that could not be read."""
    return console_of(request).status()
