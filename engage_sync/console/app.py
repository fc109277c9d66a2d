"""The console's app factory: routers, templates, static files and the login guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.routing import Mount

from engage_sync.connection.model import Status
from engage_sync.console.backfills import Backfills
from engage_sync.console.crm import Crm
from engage_sync.console.reads import Reads
from engage_sync.console.security import LockOut, Session, Sessions, same_secret
from ground.settings import ConsoleSettings

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "engage_console_session"
LOGIN_CSRF_COOKIE = "engage_console_login_csrf"
# The only routes open without a login: they carry no data.
PUBLIC_PATHS = frozenset({"/login", "/healthz"})
STATIC_PREFIX = "/static/"
API_PREFIX = "/api/"


@dataclass
class Console:
    """What the routes share: settings, sessions, the lock-out and the data source."""

    settings: ConsoleSettings
    sessions: Sessions
    lockout: LockOut
    status: Callable[[], Status]
    templates: Jinja2Templates
    password_hash: str
    api_token: str | None
    crm: Crm | None = None
    backfills: Backfills | None = None
    reads: Reads | None = None

    def cookie(
        self, response: Response, request: Request, name: str, value: str
    ) -> None:
        """Set a cookie HttpOnly and SameSite always, Secure when served over TLS."""
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite=self.settings.cookie_samesite,
            secure=request.url.scheme == "https",
            path="/",
        )


def console_of(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def session_of(request: Request) -> Session | None:
    return console_of(request).sessions.get(request.cookies.get(SESSION_COOKIE))


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def _guard(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Every route but the public ones needs a session; the API also takes the
    bearer token. A middleware, so a route added later cannot forget it."""
    path = request.url.path
    if path in PUBLIC_PATHS or path.startswith(STATIC_PREFIX):
        return await call_next(request)
    console = console_of(request)
    session = session_of(request)
    if path.startswith(API_PREFIX):
        if session is None and not same_secret(_bearer(request), console.api_token):
            return JSONResponse(
                {"detail": "authentication required: Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif session is None:
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
    request.state.session = session
    return await call_next(request)


def listed_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    """Every (method, path) served by `routes` (an app's router), included routers
    walked (newer FastAPI keeps them as wrappers), mounted static files left out."""
    out: list[tuple[str, str]] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            out += listed_routes(
                included.routes, prefix + getattr(context, "prefix", "")
            )
        elif isinstance(route, Mount):
            continue
        else:
            methods = sorted(getattr(route, "methods", None) or ())
            out += [(m, prefix + route.path) for m in methods if m != "HEAD"]
    return out


def create_app(
    settings: ConsoleSettings,
    status: Callable[[], Status],
    crm: Crm | None = None,
    *,
    backfills: Backfills | None = None,
    reads: Reads | None = None,
) -> FastAPI:
    """The console app.

    Args:
        settings: validated console settings (login, lock-out, cookies).
        status: gives the Connection page's data (`engage_sync.connection`).
        crm: the settings topic and org the settings pages read and save; None:
            those pages say they are not wired.
        backfills: starts and follows Poll Historical Data's backfills; None:
            that page says it is not wired.
        reads: what the API reads through (a contact's record, the Task
            Subject picklist); None: those routes answer 503.

    Returns:
        The ASGI app, ready for uvicorn or a test client.
    """
    from engage_sync.console import api, auth
    from engage_sync.console.pages import (
        connection,
        field_mapping,
        history,
        import_contacts,
        placeholders,
        poll_history,
        sync,
        sync_health,
        sync_rules,
        sync_settings,
    )

    app = FastAPI(
        title="engage-sync admin console",
        version="1",
        docs_url=None,
        redoc_url=None,
        # Under /api/, so the guard asks for the token (or a session) here too.
        openapi_url="/api/v1/openapi.json",
    )
    token = settings.bearer_token()
    app.state.console = Console(
        settings=settings,
        sessions=Sessions(settings.session_idle_seconds),
        lockout=LockOut(
            settings.lockout_attempts,
            settings.lockout_window_seconds,
            settings.lockout_seconds,
        ),
        status=status,
        templates=Jinja2Templates(directory=HERE / "templates"),
        password_hash=settings.admin_password_hash(),
        api_token=token.get_secret_value() if token is not None else None,
        crm=crm,
        backfills=backfills,
        reads=reads,
    )
    app.middleware("http")(_guard)
    if settings.trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # Outermost, so the guard and the cookies see the client's scheme and address.
        app.add_middleware(
            ProxyHeadersMiddleware,
            trusted_hosts=[h.strip() for h in settings.trusted_proxies.split(",")],
        )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in (
        auth.router,
        connection.router,
        sync_rules.router,
        field_mapping.router,
        sync.router,
        poll_history.router,
        sync_settings.router,
        sync_health.router,
        history.router,
        import_contacts.router,
        placeholders.router,
        api.router,
    ):
        app.include_router(router)
    return app
