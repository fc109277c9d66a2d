"""The Poll Historical Data page: the rules in force, their count and cost, a
confirmation, then the backfill's live progress (read back from its cursor)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from domain.crm_settings.describe_check import field_types
from domain.rules.models import Condition, Group
from engage_sync.console.app import console_of
from engage_sync.console.auth import Csrf
from engage_sync.console.backfills import AlreadyRunning, Backfills, Progress
from engage_sync.console.pages import editing, rule_form
from engage_sync.console.pages.sync_rules import count_and_price

router = APIRouter(include_in_schema=False)
PATH = "/poll-historical-data"
NOT_WIRED = (
    "the console was started without a backfill runner (engage-sync console wires it)"
)


def _object(value: str | None) -> str:
    return value if value in editing.OBJECTS else "Lead"


def rules_text(group: Group | None) -> str:
    """The rule tree as one line an admin reads: `Title contains Sales OR ...`."""
    if group is None:
        return ""

    def part(node: Condition | Group) -> str:
        if isinstance(node, Group):
            return f"({rules_text(node)})"
        label = rule_form.OP_LABELS[node.op]
        if node.value is None:
            return f"{node.field} {label}"
        value = (
            ", ".join(map(str, node.value))
            if isinstance(node.value, list)
            else node.value
        )
        return f"{node.field} {label} {value}"

    joiner = " AND " if group.combinator == "all" else " OR "
    return joiner.join(part(child) for child in group.children)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _when(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else None


def view(backfills: Backfills, obj: str) -> dict[str, Any]:
    """What the progress box shows: the state, and the cursor's numbers.

    The numbers come from the cursor on Kafka; the console only knows whether the
    child it started is still running, and how its last one ended.
    """
    progress: Progress | None = backfills.progress(obj)
    job = backfills.job(obj)
    if job is not None and job.state == "running":
        state = "running"
    elif progress is not None and progress.done:
        state = "done"
    elif job is not None:
        state = job.state
    else:
        state = "stopped" if progress is not None else "idle"
    read = progress.read if progress else 0
    total = progress.total if progress else None
    rate = progress.rate if progress else None
    return {
        "object": obj,
        "state": state,
        "read": read,
        "total": total,
        "percent": min(100, round(100 * read / total))
        if total
        else (100 if state == "done" else 0),
        "rate": round(rate, 1) if rate is not None else None,
        "eta": _duration(progress.eta_seconds if progress else None),
        "started_at": _when(progress.started_at if progress else None),
        "updated_at": _when(progress.updated_at if progress else None),
        "restarts": job.restarts if job else 0,
        "message": job.message if job and state != "running" else "",
    }


def _backfills(request: Request) -> Backfills | None:
    return console_of(request).backfills


def _page(
    request: Request,
    obj: str,
    problems: list[str] | None = None,
    preview: dict[str, Any] | None = None,
    all_records: bool = False,
    status_code: int = 200,
) -> Response:
    crm, backfills = editing.crm_of(request), _backfills(request)
    shown = list(problems or [])
    entry, progress = None, None
    if crm is None:
        shown.append(editing.NOT_CONFIGURED)
    else:
        settings, _, _ = crm.current()
        entry = settings.objects.get(obj)  # type: ignore[call-overload]
    if backfills is None:
        shown.append(NOT_WIRED)
    else:
        try:
            progress = view(backfills, obj)
        except Exception as exc:  # the page still counts and starts
            shown.append(f"backfill progress unreadable: {exc}")
    return editing.render(
        request,
        "poll_history.html",
        "poll-historical-data",
        "Poll Historical Data",
        status_code=status_code,
        obj=obj,
        objects=editing.OBJECTS,
        entry=entry,
        rules=rules_text(entry.rules) if entry else "",
        problems=shown,
        preview=preview,
        all_records=all_records,
        progress=progress,
    )


@router.get(PATH, response_class=HTMLResponse)
def show(request: Request) -> Response:
    return _page(request, _object(request.query_params.get("object")))


@router.get(f"{PATH}/progress")
def progress(request: Request) -> Response:
    """The progress box's numbers as JSON, for the page's script (a session route)."""
    backfills = _backfills(request)
    if backfills is None:
        return JSONResponse({"detail": NOT_WIRED}, status_code=503)
    return JSONResponse(view(backfills, _object(request.query_params.get("object"))))


def _preview(request: Request, obj: str) -> dict[str, Any]:
    """The count and cost of the rules in force (the Sync rules page's own code)."""
    crm = editing.crm_of(request)
    if crm is None:
        return {"problems": [editing.NOT_CONFIGURED]}
    settings, _, _ = crm.current()
    entry = settings.objects.get(obj)  # type: ignore[call-overload]
    if entry is None:
        return {"problems": [_no_settings(obj)]}
    try:
        types = field_types(crm.describe(obj))
    except Exception as exc:
        return {"problems": [f"cannot describe {obj}: {exc}"]}
    return count_and_price(crm, obj, entry.rules, types)


def _no_settings(obj: str) -> str:
    return f"no settings for {obj}: save its sync rules (or turn its sync on) first"


def start_refusal(request: Request, obj: str, all_records: bool) -> str | None:
    """Why a start is refused before anything runs (None: it may start)."""
    crm = editing.crm_of(request)
    if crm is None:
        return editing.NOT_CONFIGURED
    if _backfills(request) is None:
        return NOT_WIRED
    entry = crm.current()[0].objects.get(obj)  # type: ignore[call-overload]
    if entry is None:
        return _no_settings(obj)
    if entry.rules is None and not all_records:
        return (
            f"{obj} has no sync rules, so this would sync every {obj} in Salesforce: "
            "set rules first (the guide's advice) or tick \u201call records\u201d"
        )
    return None


@router.post(PATH, response_class=HTMLResponse, dependencies=[Csrf])
async def post(request: Request) -> Response:
    form = await request.form()
    obj = _object(editing.form_text(form, "object"))
    all_records = form.get("all_records") == "on"
    action = editing.form_text(form, "action")
    backfills = _backfills(request)
    if action == "preview":
        shown = await run_in_threadpool(_preview, request, obj)
        problems = shown.pop("problems", [])
        return await run_in_threadpool(
            _page, request, obj, problems, shown or None, all_records
        )
    if action == "cancel" and backfills is not None:
        await run_in_threadpool(backfills.cancel, obj)
        return RedirectResponse(f"{PATH}?object={obj}", 303)
    if action != "start":
        return await run_in_threadpool(_page, request, obj)
    refused = await run_in_threadpool(start_refusal, request, obj, all_records)
    if refused is None and backfills is not None:
        try:
            await run_in_threadpool(backfills.start, obj, all_records)
            return RedirectResponse(f"{PATH}?object={obj}", 303)
        except AlreadyRunning as exc:
            return await run_in_threadpool(
                _page, request, obj, [str(exc)], None, all_records, 409
            )
    return await run_in_threadpool(
        _page, request, obj, [refused or NOT_WIRED], None, all_records, 422
    )
