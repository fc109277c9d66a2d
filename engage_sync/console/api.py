"""The API Engage reads through (`/api/v1`, bearer token): so far the status."""

from __future__ import annotations

from fastapi import APIRouter, Request

from engage_sync.connection.model import Status
from engage_sync.console.app import console_of

router = APIRouter(prefix="/api/v1", tags=["status"])


@router.get("/status", response_model=Status)
def status(request: Request) -> Status:
    """The Connection page's data: org, permissions, API calls, users, polls, lag
    and dead letters; `errors` names the parts that could not be read."""
    return console_of(request).status()
