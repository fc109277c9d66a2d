"""The Sync rules page: AND/OR groups per object, a preview, then the guarded save."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from domain.crm_settings.describe_check import field_types
from domain.crm_settings.document import document_data
from domain.rules.models import Group
from engage_sync.console.auth import Csrf
from engage_sync.console.crm import Crm
from engage_sync.console.pages import editing, rule_form

router = APIRouter(include_in_schema=False)


def _object(value: str | None) -> str:
    return value if value in editing.OBJECTS else "Lead"


def _fields(request: Request, obj: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The object's fields from describe (name, label, type), or why not."""
    crm = editing.crm_of(request)
    if crm is None:
        return [], [editing.NOT_CONFIGURED]
    try:
        describe = crm.describe(obj)
    except Exception as exc:  # the page still shows the rules in force
        return [], [f"cannot describe {obj}: {exc}"]
    fields = [
        {"name": f["name"], "label": f.get("label") or f["name"], "type": f["type"]}
        for f in describe.get("fields", [])
        if f.get("filterable", True)
    ]
    return sorted(fields, key=lambda f: str(f["label"]).lower()), []


def _page(
    request: Request,
    obj: str,
    tree: rule_form.Node | None = None,
    base_sha256: str | None = None,
    problems: list[str] | None = None,
    preview: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    fields, read_problems = _fields(request, obj)
    crm = editing.crm_of(request)
    if base_sha256 is None and crm is not None:  # a fresh read of the rules in force
        settings, base_sha256, _ = crm.current()
        in_force = settings.objects.get(obj)  # type: ignore[call-overload]
        tree = rule_form.tree_of(in_force.rules if in_force else None)
    types = {f["name"]: f["type"] for f in fields}
    return editing.render(
        request,
        "sync_rules.html",
        "sync-rules",
        "Sync rules",
        status_code=status_code,
        obj=obj,
        objects=editing.OBJECTS,
        tree=tree,
        fields=fields,
        ops_for=lambda name: rule_form.ops_for(types.get(name)),
        op_labels=rule_form.OP_LABELS,
        base_sha256=base_sha256 or "",
        problems=(problems or []) + read_problems,
        preview=preview,
        saved=request.query_params.get("saved"),
    )


@router.get("/sync-rules", response_class=HTMLResponse)
def show(request: Request) -> Response:
    return _page(request, _object(request.query_params.get("object")))


def _with_rules(data: dict[str, Any], obj: str, rules: Any) -> None:
    entry = editing.object_entry(data, obj)
    if rules is None:
        entry.pop("rules", None)
    else:
        entry["rules"] = rules


def preview(request: Request, obj: str, tree: rule_form.Node | None) -> dict[str, Any]:
    """How many records the rules match and what a backfill of them costs.

    The rules go through the same check as a save (the whole document), then one
    COUNT() query, built by the poller's own SOQL compiler, asks the org.
    """
    crm = editing.crm_of(request)
    if crm is None:
        return {"problems": [editing.NOT_CONFIGURED]}
    settings, _, _ = crm.current()
    try:
        types = field_types(crm.describe(obj))
    except Exception as exc:  # shown on the page, as the rules stay editable
        return {"problems": [f"cannot describe {obj}: {exc}"]}
    data = document_data(settings)
    _with_rules(data, obj, rule_form.document_rules(tree, types))
    valid, problems = editing.checked(crm, data)
    if valid is None:
        return {"problems": problems}
    return count_and_price(crm, obj, valid.objects[obj].rules, types)  # type: ignore[index]


def count_and_price(
    crm: Crm, obj: str, rules: Group | None, types: dict[str, str]
) -> dict[str, Any]:
    """One COUNT() of the records `rules` select (all when None) and the backfill's
    cost in API calls (`poll-history`'s own estimate); problems when refused."""
    from connectors.salesforce import soql
    from connectors.salesforce.backfill import backfill_calls

    query = soql.count(obj, soql.where_clause(rules, types) if rules else None)
    try:
        matching = crm.count(query)
    except Exception as exc:
        return {"problems": [f"Salesforce refused the count ({query}): {exc}"]}
    return {"matching": matching, "calls": backfill_calls(matching), "soql": query}


@router.post("/sync-rules", response_class=HTMLResponse, dependencies=[Csrf])
async def post(request: Request) -> Response:
    form = await request.form()
    obj = _object(editing.form_text(form, "object"))
    base = editing.form_text(form, "base_sha256")
    tree = rule_form.from_form(form)
    action = editing.form_text(form, "action", "refresh")
    if action == "preview":
        shown = await run_in_threadpool(preview, request, obj, copy.deepcopy(tree))
        problems = shown.pop("problems", [])
        return await run_in_threadpool(
            _page, request, obj, tree, base, problems, shown or None
        )
    if action != "save":  # add, remove, or a field changed: redraw, nothing saved
        tree = rule_form.edited(tree, action)
        return await run_in_threadpool(_page, request, obj, tree, base)

    crm = editing.crm_of(request)
    try:
        types = field_types(await run_in_threadpool(crm.describe, obj)) if crm else {}
    except Exception:  # values stay text; the save's own org check names the cause
        types = {}
    rules = rule_form.document_rules(tree, types)
    outcome = await editing.saving(
        request, form, lambda data: _with_rules(data, obj, rules)
    )
    if outcome.sha256:
        return outcome.redirect(f"/sync-rules?object={obj}")
    return await run_in_threadpool(
        _page, request, obj, tree, base, outcome.shown, None, outcome.status_code
    )
