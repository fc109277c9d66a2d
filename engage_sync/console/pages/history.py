"""The settings history: every saved document, who saved it and when, as YAML."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from engage_sync.console.pages import editing

router = APIRouter(include_in_schema=False)
_SHA256 = re.compile(r"[0-9a-f]{64}")


@router.get("/settings/history", response_class=HTMLResponse)
def show(request: Request) -> Response:
    crm = editing.crm_of(request)
    saves = crm.history() if crm is not None else []
    return editing.render(
        request,
        "history.html",
        "",
        "Settings history",
        saves=saves,
        problems=[] if crm is not None else [editing.NOT_CONFIGURED],
    )


@router.get("/settings/{sha256}.yaml")
def download(request: Request, sha256: str) -> Response:
    """The document saved with this sha256, byte for byte, to keep in git."""
    crm = editing.crm_of(request)
    if crm is None or not _SHA256.fullmatch(sha256):
        raise HTTPException(404, "no such saved settings document")
    text = next((s.document for s in crm.history() if s.sha256 == sha256), None)
    if text is None:
        raise HTTPException(404, "no such saved settings document")
    name = f"crm-settings-{sha256[:12]}.yaml"
    return Response(
        text.encode("utf-8"),
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
