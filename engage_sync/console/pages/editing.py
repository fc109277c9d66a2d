"""What every settings page shares: render, change the document, check, save.

A page changes its part of the document in force (as plain data), and the result
goes through `settings apply`'s own parse and org check, then the guarded save:
a save based on a document another admin replaced meanwhile is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from domain.crm_settings.document import document_data
from domain.crm_settings.models import CrmSettings
from engage_sync.console.app import console_of
from engage_sync.console.crm import Crm, NoSalesforce
from engage_sync.console.nav import PAGES

OBJECTS = ("Lead", "Contact", "Account")
NOT_CONFIGURED = (
    "the console was started without the settings topic's source "
    "(engage-sync console wires it)"
)


def crm_of(request: Request) -> Crm | None:
    return console_of(request).crm


def render(
    request: Request,
    template: str,
    current: str,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A page of the navigation bar with its session (for the CSRF token)."""
    return console_of(request).templates.TemplateResponse(
        request,
        template,
        {
            "title": title,
            "pages": PAGES,
            "current": current,
            "session": request.state.session,
            **context,
        },
        status_code=status_code,
    )


@dataclass
class Outcome:
    """A save's result: the new sha256, or the problems that stopped it."""

    sha256: str | None = None
    problems: list[str] = field(default_factory=list)
    stale: str | None = None

    @property
    def status_code(self) -> int:
        if self.stale:
            return 409
        return 422 if self.problems else 303

    @property
    def shown(self) -> list[str]:
        """What the page says when the save did not happen."""
        return [self.stale] if self.stale else self.problems

    def redirect(self, url: str) -> Response:
        """After a save: back to the page (a reload does not post again)."""
        joiner = "&" if "?" in url else "?"
        return RedirectResponse(f"{url}{joiner}saved={(self.sha256 or '')[:12]}", 303)


def checked(crm: Crm, data: dict[str, Any]) -> tuple[CrmSettings | None, list[str]]:
    """The document `data` through `settings apply`'s validation, or its problems."""
    from connectors.salesforce.access import AccessRefused
    from domain.crm_settings.document import SettingsError, parse_document

    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        settings = parse_document(text, "console")
    except SettingsError as exc:
        return None, exc.problems
    try:
        problems = crm.problems(settings)
    except (AccessRefused, NoSalesforce) as exc:
        return None, [str(exc)]
    return (None, problems) if problems else (settings, [])


def save_change(
    request: Request, base_sha256: str, change: Callable[[dict[str, Any]], None]
) -> Outcome:
    """Apply `change` to the document in force, check it, and save it if valid."""
    from streams.settings.save import StaleSettings

    crm = crm_of(request)
    if crm is None:
        return Outcome(problems=[NOT_CONFIGURED])
    settings, sha256, by = crm.current()
    if sha256 != base_sha256:  # refused before any work; `save` checks again
        return Outcome(stale=str(StaleSettings(base_sha256, sha256, by)))
    data = document_data(settings)
    change(data)
    valid, problems = checked(crm, data)
    if valid is None:
        return Outcome(problems=problems)
    try:
        return Outcome(crm.save(valid, request.state.session.user, base_sha256))
    except StaleSettings as exc:
        return Outcome(stale=str(exc))


async def saving(
    request: Request, form: Any, change: Callable[[dict[str, Any]], None]
) -> Outcome:
    """`save_change` for a posted form (its `base_sha256`), off the event loop."""
    base = form_text(form, "base_sha256")
    return await run_in_threadpool(save_change, request, base, change)


def object_entry(data: dict[str, Any], obj: str) -> dict[str, Any]:
    """The document's entry of `obj`, added (sync off) when it has none yet."""
    objects: dict[str, Any] = data.setdefault("objects", {})
    entry: dict[str, Any] = objects.setdefault(obj, {"sync": False})
    return entry


def form_text(form: Any, name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default
