"""The admin console in a real browser: log in, read the Connection page of the
sandbox org, then get locked out by five wrong passwords."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest

from connectors.kafka.embedded import free_port
from engage_sync.console.security import hash_password
from ground.settings import KafkaSettings
from tests.conftest import Processes, healthz, kafka_env, salesforce_env
from tests.waiting import wait_until

TIMEOUT_MS = 30_000


@pytest.fixture
def console_url(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> tuple[str, str]:
    """`engage-sync console` as a real process against the sandbox org and Kafka."""
    password = secrets.token_urlsafe(12)
    port = free_port()
    proc = processes.start(
        "console",
        kafka_env(kafka_settings)
        | salesforce_env(sandbox_org)
        | {
            "CONSOLE_PORT": str(port),
            "CONSOLE_PASSWORD_HASH": hash_password(password),
            "CONSOLE_STATUS_CACHE_SECONDS": "0",
        },
    )
    wait_until(
        lambda: healthz(port) or proc.popen.poll() is not None,
        what="the console's /healthz",
    )
    assert proc.popen.poll() is None, proc.output()
    return f"http://127.0.0.1:{port}", password


def _log_in(page: Any, url: str, password: str) -> None:
    page.fill("#username", "admin")
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_log_in_see_the_org_then_five_wrong_passwords_lock_logins(
    page: Any, console_url: tuple[str, str], sandbox_org: Any
) -> None:
    url, password = console_url
    creds = json.loads((sandbox_org.data_dir / "credentials.json").read_text())
    page.set_default_timeout(TIMEOUT_MS)

    page.goto(f"{url}/connection")
    assert page.url.startswith(f"{url}/login")  # no session: sent to log in
    _log_in(page, url, password)
    page.wait_for_url(f"{url}/connection")
    assert page.text_content("[data-field=org_id]") == creds["org_id"]
    assert creds["username"] in (
        page.text_content("[data-field=integration_user]") or ""
    )
    nav = page.locator("nav a").all_text_contents()
    assert nav == [
        "Connection",
        "Sync rules",
        "Field mapping",
        "Sync",
        "Poll Historical Data",
        "Sync settings",
        "Sync health",
        "Import contacts",
    ]
    assert password not in page.content()

    page.click("header button[type=submit]")  # log out
    page.wait_for_url(re.compile(r".*/login$"))
    for attempt in range(5):
        _log_in(page, url, f"wrong-{attempt}")
        page.wait_for_selector("[role=alert]")
    assert "locked" in (page.text_content("[role=alert]") or "")
    _log_in(page, url, password)  # the right one is refused while locked
    page.wait_for_selector("[role=alert]")
    assert "locked" in (page.text_content("[role=alert]") or "")
    assert "/login" in page.url
