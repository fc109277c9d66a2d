"""The Import contacts page: upload a CSV, map its columns, preview, import, report."""

from __future__ import annotations

import csv
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    StreamingResponse,
)
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from engage_sync.console.app import console_of
from engage_sync.console.auth import Csrf
from engage_sync.console.pages import editing
from engage_sync.imports import parse
from engage_sync.imports.columns import FIELDS, SKIP, guess, mapping_problems
from engage_sync.imports.outcomes import KINDS
from engage_sync.imports.registry import Imports, UnknownImport, kafka_imports
from engage_sync.imports.report import Report
from engage_sync.imports.rows import problem

router = APIRouter(include_in_schema=False)
SLUG, TITLE = "import-contacts", "Import contacts"
PAGE_ROWS = 200
PREVIEW_ROWS = 5


def imports_of(request: Request) -> Imports | None:
    """The console's imports (`engage-sync console` sets them; built on first use
    from the settings topic's Kafka otherwise), None when nothing is wired."""
    found: Imports | None = getattr(request.app.state, "imports", None)
    if found is None:
        crm = editing.crm_of(request)
        if crm is None:
            return None
        found = kafka_imports(crm.kafka, console_of(request).settings.imports_dir)
        request.app.state.imports = found
        found.resume()
    return found


def _imports(request: Request) -> Imports:
    imports = imports_of(request)
    if imports is None:
        raise HTTPException(503, editing.NOT_CONFIGURED)
    return imports


def _report(request: Request, import_id: str) -> Report:
    """The import's report (the caller closes it); 404 for an unknown import."""
    try:
        return _imports(request).report(import_id)
    except UnknownImport as exc:
        raise HTTPException(404, str(exc)) from exc


def _listing(imports: Imports) -> list[dict[str, Any]]:
    out = []
    for import_id in imports.ids()[:20]:
        report = imports.report(import_id)
        try:
            out.append(
                {
                    "id": import_id,
                    "filename": report.meta("filename"),
                    "progress": report.progress(),
                }
            )
        finally:
            report.close()
    return out


@router.get(f"/{SLUG}", response_class=HTMLResponse)
def upload_form(request: Request) -> Response:
    imports = imports_of(request)
    return editing.render(
        request,
        "import_contacts.html",
        SLUG,
        TITLE,
        wired=imports is not None,
        imports=_listing(imports) if imports else [],
        problems=[] if imports else [editing.NOT_CONFIGURED],
    )


@router.post(f"/{SLUG}", response_class=HTMLResponse, dependencies=[Csrf])
async def upload(request: Request) -> Response:
    imports = _imports(request)
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return editing.render(
            request,
            "import_contacts.html",
            SLUG,
            TITLE,
            status_code=422,
            wired=True,
            imports=await run_in_threadpool(_listing, imports),
            problems=["choose a CSV file to upload"],
        )
    session = request.state.session
    import_id = await run_in_threadpool(
        imports.create, file.file, file.filename, session.user
    )
    return RedirectResponse(f"/{SLUG}/{import_id}", 303)


def _mapping_page(
    request: Request,
    imports: Imports,
    import_id: str,
    mapping: list[str] | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    path = imports.csv_path(import_id)
    problems = list(problems or [])
    try:
        headers = parse.headers(path)
        mapping = mapping if mapping is not None else guess(headers)
        preview = [
            {"row": r, "problem": problem(r)}
            for r in parse.preview(path, mapping, PREVIEW_ROWS)
        ]
    except csv.Error as exc:  # e.g. a binary file: one line, not a server error
        headers, mapping, preview = [], [], []
        problems.append(f"the file cannot be read as CSV: {exc}")
    report = imports.report(import_id)
    try:
        filename = report.meta("filename")
    finally:
        report.close()
    if not headers and not problems:
        problems.append("the file is empty: it needs a header row and rows of contacts")
    return editing.render(
        request,
        "import_map.html",
        SLUG,
        TITLE,
        status_code=status_code,
        import_id=import_id,
        filename=filename,
        columns=list(zip(headers, mapping, strict=False)),
        fields=FIELDS,
        preview=preview,
        chosen=[m for m in mapping if m],
        problems=problems,
    )


def _report_page(request: Request, imports: Imports, import_id: str) -> Response:
    outcome = request.query_params.get("outcome") or None
    if outcome not in (None, "waiting", *KINDS):
        outcome = None
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    report = imports.report(import_id)
    try:
        progress = report.progress()
        rows = report.rows(outcome, PAGE_ROWS + 1, (page - 1) * PAGE_ROWS)
        filename = report.meta("filename")
    finally:
        report.close()
    return editing.render(
        request,
        "import_report.html",
        SLUG,
        TITLE,
        import_id=import_id,
        filename=filename,
        progress=progress,
        rows=rows[:PAGE_ROWS],
        more=len(rows) > PAGE_ROWS,
        page=page,
        outcome=outcome,
        kinds=KINDS,
        problems=[],
    )


@router.get(f"/{SLUG}/{{import_id}}", response_class=HTMLResponse)
def show(request: Request, import_id: str) -> Response:
    imports = _imports(request)
    report = _report(request, import_id)
    try:
        state = report.meta("state")
    finally:
        report.close()
    if state == "uploaded":
        return _mapping_page(request, imports, import_id)
    return _report_page(request, imports, import_id)


@router.post(f"/{SLUG}/{{import_id}}", response_class=HTMLResponse, dependencies=[Csrf])
async def map_columns(request: Request, import_id: str) -> Response:
    """Preview with the chosen columns, or start the import with them."""
    imports = _imports(request)
    try:
        path = imports.csv_path(import_id)
    except UnknownImport as exc:
        raise HTTPException(404, str(exc)) from exc
    form = await request.form()
    try:
        count = len(await run_in_threadpool(parse.headers, path))
    except csv.Error:
        count = 0  # the page says why again
    mapping = [str(form.get(f"column.{i}") or SKIP) for i in range(count)]
    problems = mapping_problems(mapping)
    if form.get("action") != "import" or problems:
        return await run_in_threadpool(
            _mapping_page,
            request,
            imports,
            import_id,
            mapping,
            problems,
            422 if problems else 200,
        )
    await run_in_threadpool(imports.start, import_id, mapping)
    return RedirectResponse(f"/{SLUG}/{import_id}", 303)


@router.get(f"/{SLUG}/{{import_id}}/progress")
def progress(request: Request, import_id: str) -> Response:
    """The progress bar's data (polled by static/import.js)."""
    report = _report(request, import_id)
    try:
        return JSONResponse(report.progress().as_dict())
    finally:
        report.close()


@router.get(f"/{SLUG}/{{import_id}}/report.csv")
def download(request: Request, import_id: str) -> Response:
    """The whole report as CSV, streamed from the report's file page by page."""
    report = _report(request, import_id)

    def chunks() -> Any:
        try:
            yield from report.csv_chunks()
        finally:
            report.close()

    name = f"import-{import_id}-report.csv"
    return StreamingResponse(
        chunks(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
