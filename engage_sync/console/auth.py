"""Log in and out, the CSRF check of form posts, and the data-free `/healthz`."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from engage_sync.console.app import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    console_of,
    session_of,
)
from engage_sync.console.security import same_secret, verify_password

router = APIRouter(include_in_schema=False)


async def require_csrf(request: Request) -> None:
    """Refuse a form post whose `csrf_token` is not its session's (or, before a
    login, the login form's own cookie: a double-submit token)."""
    form = await request.form()
    given = form.get("csrf_token")
    given = given if isinstance(given, str) else None
    session = session_of(request)
    expected = session.csrf if session else request.cookies.get(LOGIN_CSRF_COOKIE)
    if not same_secret(given, expected):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page")


Csrf = Depends(require_csrf)


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never an open redirect elsewhere."""
    # Browsers read "/\\host" as "//host", another site: refused like "//host".
    if target and target.startswith("/") and target[1:2] not in ("/", "\\"):
        return target
    return "/connection"


def _login_page(
    request: Request,
    message: str = "",
    username: str = "",
    next_: str = "",
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    # Kept while it lasts: a second GET /login (another tab, or the browser's
    # favicon request sent here) must not void the form already shown.
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = console.templates.TemplateResponse(
        request,
        "login.html",
        {
            "title": "Log in",
            "session": None,
            "csrf": csrf,
            "message": message,
            "username": username,
            "next": _safe_next(next_),
        },
        status_code=status_code,
    )
    console.cookie(response, request, LOGIN_CSRF_COOKIE, csrf)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> Response:  # noqa: A002
    return _login_page(request, next_=next)


def _locked_message(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        "Too many failed logins: logins are locked for "
        f"{minutes} more minute{'s' if minutes != 1 else ''}."
    )


@router.post("/login", dependencies=[Csrf])
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",  # noqa: A002
) -> Response:
    console = console_of(request)
    locked = console.lockout.locked_for()
    if locked:
        return _login_page(request, _locked_message(locked), username, next, 429)
    right_user = same_secret(username, console.settings.admin_user)
    # The hash is checked even for a wrong user name, so both cost the same time.
    right_password = verify_password(password, console.password_hash)
    if not (right_user and right_password):
        console.lockout.failed()
        locked = console.lockout.locked_for()
        if locked:
            return _login_page(request, _locked_message(locked), username, next, 429)
        return _login_page(request, "Wrong user name or password.", username, next, 401)
    console.lockout.succeeded()
    console.sessions.end(request.cookies.get(SESSION_COOKIE))
    session = console.sessions.create(console.settings.admin_user)
    response = RedirectResponse(_safe_next(next), 303)
    console.cookie(response, request, SESSION_COOKIE, session.sid)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request) -> Response:
    console_of(request).sessions.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Up or not, and nothing else: it is open to everyone."""
    return {"status": "ok"}


@router.get("/")
def home() -> Response:
    return RedirectResponse("/connection", 303)
