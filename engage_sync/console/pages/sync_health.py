"""The Sync health page: dead letters by reason over time, resubmission, and the
ambiguous-match queue (HubSpot's Sync Health, ZoomInfo's review of matches)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from connectors.kafka.clients import DeliveryFailed
from connectors.kafka.dlq_board import Board
from connectors.kafka.dlq_reader import DeadLetter, locator
from engage_sync.console.auth import Csrf
from engage_sync.console.health import HealthSource, KafkaHealth
from engage_sync.console.pages import editing

router = APIRouter(include_in_schema=False)
DAYS = 7  # the counts-over-time columns: the last week, one per UTC day
SHOWN = 200  # letters listed at most per view (the newest)


def source_of(request: Request) -> HealthSource | None:
    """The page's source: a test's fake when set, else the console's topics."""
    fake = getattr(request.app.state, "sync_health", None)
    if fake is not None:
        return fake  # type: ignore[no-any-return]
    crm = editing.crm_of(request)
    return KafkaHealth(crm) if crm is not None else None


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def groups(board: Board, today: date) -> list[dict[str, Any]]:
    """One row per reason and source topic: counts per day, how many are open."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for dl in board.letters:
        row = rows.setdefault(
            (dl.reason, dl.source_topic),
            {"reason": dl.reason, "source_topic": dl.source_topic, "count": 0,
             "open": 0, "days": Counter(), "first": dl.timestamp_ms,
             "last": dl.timestamp_ms},
        )  # fmt: skip
        row["count"] += 1
        row["open"] += board.record_of(dl) is None
        row["days"][_day(dl.timestamp_ms)] += 1
        row["first"] = min(row["first"], dl.timestamp_ms)
        row["last"] = max(row["last"], dl.timestamp_ms)
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    out = sorted(rows.values(), key=lambda r: (-r["count"], r["reason"]))
    for row in out:
        row["per_day"] = [row["days"].get(d, 0) for d in days]
        row["first"], row["last"] = _when(row["first"]), _when(row["last"])
    return out


def _decoded(preview: dict[str, Any]) -> str:
    if "decoded" in preview:
        return json.dumps(preview["decoded"], indent=2, default=str, sort_keys=True)
    return (
        f"{preview['bytes']} bytes, not decoded ({preview['not_decoded']})\n"
        f"text {preview['text']!r}"
    )


def letters(
    source: HealthSource, board: Board, reason: str | None
) -> list[dict[str, Any]]:
    """The newest letters (of `reason` when given), decoded, with their state."""
    chosen = [dl for dl in board.letters if reason in (None, dl.reason)]
    chosen.sort(key=lambda dl: (dl.timestamp_ms, dl.partition, dl.offset))
    out = []
    for dl in chosen[-SHOWN:][::-1]:
        rec = board.record_of(dl)
        out.append({
            "id": locator(board.dlq_topic, dl), "reason": dl.reason,
            "when": _when(dl.timestamp_ms), "message": dl.message,
            "message_label": (
                "Salesforce's message" if dl.from_salesforce else "Error"
            ),
            "source": f"{dl.source_topic} [{dl.source_partition}] "
                      f"@{dl.source_offset}",
            "decoded": _decoded(source.preview(dl)),
            "state": rec.describe() if rec else "not resubmitted",
            "outcome": rec.outcome if rec else "open",
            "by": f"by {rec.by} at {_when(rec.at_ms)}" if rec else "",
            "again_as": rec.again_as if rec else None,
        })  # fmt: skip
    return out


def _ambiguous(source: HealthSource) -> tuple[list[dict[str, Any]], list[str]]:
    queue, problems = source.ambiguous(), []
    ids = sorted({c for a in queue for c in a.candidates})
    try:
        known = source.candidates(ids) if ids else {}
    except Exception as exc:  # the queue still works by id without the org
        known, problems = {}, [f"candidate details unreadable: {exc}"]
    rows = [
        {"engage_contact_id": a.engage_contact_id, "linked_id": a.linked_id,
         "when": _when(a.at_ms),
         "candidates": [{"id": c, **known.get(c, {})} for c in a.candidates]}
        for a in queue
    ]  # fmt: skip
    return rows, problems


def _page(
    request: Request, problems: list[str] | None = None, status_code: int = 200
) -> Response:
    source, reason = source_of(request), request.query_params.get("reason") or None
    context: dict[str, Any] = {"groups": [], "letters": [], "queue": [],
                               "reason": reason, "problems": list(problems or []),
                               "notice": _notice(request)}  # fmt: skip
    if source is None:
        context["problems"].append(editing.NOT_CONFIGURED)
        return editing.render(request, "sync_health.html", "sync-health",
                              "Sync health", **context)  # fmt: skip
    try:
        board = source.board()
        context["groups"] = groups(board, datetime.now(UTC).date())
        context["letters"] = letters(source, board, reason)
        context["total"] = len(board.letters)
    except Exception as exc:  # a Kafka outage is shown, the rest still renders
        context["problems"].append(f"dead letters unreadable: {exc}")
    try:
        context["queue"], more = _ambiguous(source)
        context["problems"] += more
    except Exception as exc:  # as above: the page never fails on a read
        context["problems"].append(f"ambiguous matches unreadable: {exc}")
    today = datetime.now(UTC).date()
    context["days"] = [
        (today - timedelta(days=n)).strftime("%m-%d") for n in range(DAYS - 1, -1, -1)
    ]
    return editing.render(
        request, "sync_health.html", "sync-health", "Sync health",
        status_code=status_code, **context,
    )  # fmt: skip


NOTICES = {
    "resubmitted": "Resubmitted {sent} dead letter(s); {skipped} skipped as "
    "already resubmitted. The state below follows when the writer answers.",
    "picked": "Link to {chosen} sent for {contact}; it leaves the queue once "
    "the writer confirms the record.",
}


def _notice(request: Request) -> str | None:
    q = request.query_params
    done = q.get("done")
    if done == "resubmitted":
        return NOTICES[done].format(
            sent=int(q.get("sent", "0") or 0), skipped=int(q.get("skipped", "0") or 0)
        )
    if done == "picked":
        return NOTICES[done].format(chosen=q.get("chosen"), contact=q.get("contact"))
    return None


@router.get("/sync-health", response_class=HTMLResponse)
def show(request: Request) -> Response:
    return _page(request)


def _back(reason: str | None, **done: Any) -> Response:
    query = {"reason": reason} if reason else {}
    return RedirectResponse(f"/sync-health?{urlencode(query | done)}", 303)


async def _posted(request: Request, *names: str) -> list[str]:
    form = await request.form()
    return [editing.form_text(form, name) for name in names]


@router.post("/sync-health/resubmit", response_class=HTMLResponse, dependencies=[Csrf])
async def resubmit(request: Request) -> Response:
    """One letter (`letter` = its coordinates) or every open letter of `reason`."""
    letter, reason = await _posted(request, "letter", "reason")
    source = source_of(request)
    if source is None or not (letter or reason):
        return await run_in_threadpool(_page, request)

    def run() -> tuple[int, int]:
        assert source is not None
        board = source.board()
        chosen: list[DeadLetter] = [
            dl for dl in board.letters
            if (letter and locator(board.dlq_topic, dl) == letter)
            or (not letter and dl.reason == reason)
        ]  # fmt: skip
        guarded = source.resubmit(board, chosen, request.state.session.user)
        return len(guarded.report.sent), len(guarded.refused)

    try:
        sent, skipped = await run_in_threadpool(run)
    except DeliveryFailed as exc:
        failed = f"resubmit failed, some letters may have been sent: {exc}"
        return await run_in_threadpool(_page, request, [failed], 502)
    return _back(reason, done="resubmitted", sent=sent, skipped=skipped)


@router.post("/sync-health/pick", response_class=HTMLResponse, dependencies=[Csrf])
async def pick(request: Request) -> Response:
    """Link the contact to the record the admin chose among the candidates."""
    contact, chosen = await _posted(request, "engage_contact_id", "salesforce_id")
    source = source_of(request)
    if source is None:
        return await run_in_threadpool(_page, request)

    def run() -> str | None:
        assert source is not None
        entry = next(
            (a for a in source.ambiguous() if a.engage_contact_id == contact), None
        )
        if entry is None or chosen not in entry.candidates:
            return None
        return source.pick(entry, chosen)

    try:
        sent = await run_in_threadpool(run)
    except DeliveryFailed as exc:
        return await run_in_threadpool(_page, request, [f"pick not sent: {exc}"], 502)
    if sent is None:
        refused = f"{contact} has no open ambiguous match with candidate {chosen}"
        return await run_in_threadpool(_page, request, [refused], 409)
    return _back(None, done="picked", chosen=chosen, contact=contact)
