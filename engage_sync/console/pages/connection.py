"""The Connection page: the org, permissions, API calls, users, polls, lag, DLQ."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from engage_sync.console.app import console_of
from engage_sync.console.nav import PAGES

router = APIRouter(include_in_schema=False)


@router.get("/connection", response_class=HTMLResponse)
def connection(request: Request) -> Response:
    # A plain def: FastAPI runs it in a worker thread, as gathering blocks on I/O.
    console = console_of(request)
    return console.templates.TemplateResponse(
        request,
        "connection.html",
        {
            "title": "Connection",
            "pages": PAGES,
            "current": "connection",
            "session": request.state.session,
            "status": console.status(),
        },
    )
