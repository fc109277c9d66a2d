"""The pages not built yet: each says so honestly and what it will do."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from engage_sync.console.app import console_of
from engage_sync.console.nav import PAGES, Page

router = APIRouter(include_in_schema=False)


def _placeholder(page: Page) -> Callable[[Request], Response]:
    def show(request: Request) -> Response:
        return console_of(request).templates.TemplateResponse(
            request,
            "placeholder.html",
            {
                "title": page.title,
                "pages": PAGES,
                "current": page.slug,
                "session": request.state.session,
                "page": page,
            },
        )

    return show


for _page in PAGES:
    if not _page.built:
        router.add_api_route(
            f"/{_page.slug}",
            _placeholder(_page),
            methods=["GET"],
            response_class=HTMLResponse,
            name=_page.slug,
        )
