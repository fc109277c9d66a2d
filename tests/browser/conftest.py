"""The browser tier: Debian's Chromium driven by Playwright, headless.

Without Chromium (or Playwright) the tier is skipped with one line at the end of
the run; under CI=true that is a failure, as for the Apache Kafka tier.
`scripts/install-chromium` (run by `.ci/run` as root) installs it where missing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.brokers import in_ci

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
_SKIPPED: list[str] = []


def _missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} not found (scripts/install-chromium installs it, as root)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (make install)"
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SKIPPED:
        terminalreporter.write_line(f"Browser tier skipped: {_SKIPPED[0]}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    missing = _missing()
    if missing is not None:
        if in_ci():
            pytest.fail(f"Chromium is required under CI=true: {missing}")
        _SKIPPED.append(missing)
        pytest.skip(f"Browser tier skipped: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (own cookies) and page per test."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
