"""The Field mapping page: the guide's table per object, with a real record's
values as examples and the required-field pre-flight of creates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from domain.crm_settings.describe_check import CREATED_BY, required_on_create
from domain.crm_settings.models import (
    REQUIRED_ENGAGE_FIELDS,
    MappingRow,
    default_mapping,
)
from engage_sync.console.auth import Csrf
from engage_sync.console.pages import editing

router = APIRouter(include_in_schema=False)
DIRECTIONS = (
    ("salesforce_to_engage", "Salesforce to Engage"),
    ("bidirectional_most_recent", "Bi-Directional Most Recent"),
    ("prefer_salesforce_unless_blank", "Prefer Salesforce unless blank"),
)


def _object(value: str | None) -> str:
    return value if value in editing.OBJECTS else "Lead"


def _example(record: dict[str, Any] | None, field: str | None) -> str:
    """The record's value of `field` (`Account.Name` read through the relationship)."""
    value: Any = record
    for part in (field or "").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None or isinstance(value, dict) else str(value)


def _examples(
    crm: Any, obj: str, rows: list[MappingRow]
) -> tuple[dict[str, Any] | None, str | None]:
    """One record with the mapped fields (one SOQL query, LIMIT 1), or why not."""
    from connectors.salesforce import soql

    fields = sorted({r.salesforce for r in rows if r.salesforce} | {"Id"})
    try:
        return crm.first(soql.select(obj, fields, order_by=["Id"], limit=1)), None
    except Exception as exc:  # the table is still editable without its examples
        return None, f"no example values: {exc}"


def _page(
    request: Request,
    obj: str,
    rows: list[MappingRow] | None = None,
    base_sha256: str | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    crm = editing.crm_of(request)
    problems = list(problems or [])
    fields: list[dict[str, Any]] = []
    record, required, creates = None, [], CREATED_BY.get("none")
    if crm is None:
        problems.append(editing.NOT_CONFIGURED)
        rows = rows or default_mapping(obj)  # type: ignore[arg-type]
    else:
        settings, sha256, _ = crm.current()
        if base_sha256 is None:
            base_sha256 = sha256
            rows = settings.mapping(obj)  # type: ignore[arg-type]
        rows = rows or default_mapping(obj)  # type: ignore[arg-type]
        creates = CREATED_BY.get(settings.sync_settings.engage_created_contacts)
        try:
            describe = crm.describe(obj)
            fields = sorted(
                (
                    {"name": f["name"], "label": f.get("label") or f["name"]}
                    for f in describe.get("fields", [])
                ),
                key=lambda f: str(f["label"]).lower(),
            )
            required = required_on_create(describe) if creates == obj else []
            record, why = _examples(crm, obj, rows)
            problems += [why] if why else []
        except Exception as exc:
            problems.append(f"cannot describe {obj}: {exc}")
    mapped = {r.salesforce for r in rows if r.salesforce}
    return editing.render(
        request,
        "field_mapping.html",
        "field-mapping",
        "Field mapping",
        status_code=status_code,
        obj=obj,
        objects=editing.OBJECTS,
        rows=[
            {
                "row": r,
                "required": obj != "Account" and r.engage in REQUIRED_ENGAGE_FIELDS,
                "example": _example(record, r.salesforce),
                "required_on_create": r.salesforce in required,
            }
            for r in rows
        ],
        fields=fields,
        field_names={f["name"] for f in fields},
        directions=DIRECTIONS,
        creates=creates if creates == obj else None,
        required_on_create=[(name, name in mapped) for name in required],
        base_sha256=base_sha256 or "",
        problems=problems,
        notice=notice,
        saved=request.query_params.get("saved"),
    )


@router.get("/field-mapping", response_class=HTMLResponse)
def show(request: Request) -> Response:
    return _page(request, _object(request.query_params.get("object")))


def _rows_from(form: Any) -> list[dict[str, Any]]:
    """The document's mapping rows the form's table describes."""
    out: list[dict[str, Any]] = []
    i = 0
    while (engage := editing.form_text(form, f"row.{i}.engage")) != "":
        row: dict[str, Any] = {
            "engage": engage,
            "salesforce": editing.form_text(form, f"row.{i}.salesforce") or None,
            "direction": editing.form_text(
                form, f"row.{i}.direction", "salesforce_to_engage"
            ),
        }
        if default := editing.form_text(form, f"row.{i}.default"):
            row["default"] = default
        out.append(row)
        i += 1
    return out


@router.post("/field-mapping", response_class=HTMLResponse, dependencies=[Csrf])
async def post(request: Request) -> Response:
    form = await request.form()
    obj = _object(editing.form_text(form, "object"))
    base = editing.form_text(form, "base_sha256")
    if editing.form_text(form, "action") == "defaults":  # shown, saved only by Save
        return await run_in_threadpool(
            _page,
            request,
            obj,
            default_mapping(obj),  # type: ignore[arg-type]
            base,
            None,
            200,
            "The default preferences are shown: Save keeps them.",
        )
    rows = _rows_from(form)

    def change(data: dict[str, Any]) -> None:
        editing.object_entry(data, obj)["mapping"] = rows

    outcome = await editing.saving(request, form, change)
    if outcome.sha256:
        return outcome.redirect(f"/field-mapping?object={obj}")
    try:
        shown = [MappingRow.model_validate(r) for r in rows]
    except ValueError:
        shown = None
    return await run_in_threadpool(
        _page, request, obj, shown, base, outcome.shown, outcome.status_code
    )
