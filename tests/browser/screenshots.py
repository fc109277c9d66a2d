"""`make screenshots`: a PNG of the login and of every page in the console's nav.

    python -m tests.browser.screenshots [FOLDER]      # default docs/console

Starts what the pages read, with demo data so they are not empty: an embedded
Tansu broker, a sandbox org seeded with Leads, Contacts and sales reps, the
example CRM settings (users mapped to the reps) and contacts of Engage's copy
linked to the org's records; then `engage-sync console` and a headless Chromium
(the browser tier's). The browser test runs `take` into a temporary folder.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.kafka.clients import AckingProducer, ensure_topics
from connectors.kafka.deadletter import DeadLetters, Origin
from connectors.kafka.embedded import EmbeddedBroker, free_port
from connectors.kafka.serde import Serde
from connectors.kafka.settings_topic import publish
from connectors.kafka.topics import Topics
from domain.crm_settings.document import parse_document
from engage_sync.console.nav import PAGES
from engage_sync.console.security import hash_password
from engage_sync.demo import demo_settings
from engage_sync.supervisor import cli_argv
from engage_sync.up import DEMO_SETTINGS
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from sandbox.seed import REP_DOMAIN
from tests.conftest import healthz, kafka_env, salesforce_env
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FOLDER = REPO / "docs" / "console"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 30_000


def names() -> list[str]:
    """The screenshot files `take` writes: the login, then each page of the nav."""
    return ["login.png", *(f"{p.slug}.png" for p in PAGES)]


def demo_org(folder: Path) -> Any:
    """A started sandbox org with `up`'s demo records (Leads, Contacts, reps)."""
    from sandbox.org import SandboxOrg

    return SandboxOrg(folder / "org", seed_demo=True).start()


def seed_demo(
    kafka: KafkaSettings, org: Any, folder: Path, backfill: bool = False
) -> None:
    """The example settings (users mapped to the org's reps), Engage contacts
    linked to the org's records, connected users and a few dead letters;
    `backfill`: also Poll Historical Data of Leads and Contacts (their cursors)."""
    admin = SandboxAdmin(org.url, org.ca_path)
    ensure_topics(kafka, Topics(kafka).all())
    reps = [u for u in admin.records("User") if str(u["Username"]).endswith(REP_DOMAIN)]
    document = demo_settings(DEMO_SETTINGS, reps, folder / "crm-settings.demo.yaml")
    publish(
        kafka,
        parse_document(document.read_text(encoding="utf-8"), document.name),
        document.name,
        "admin",
    )
    serde, producer = Serde.for_kafka(kafka), AckingProducer(kafka)
    now = datetime.now(UTC)
    for obj in ("Lead", "Contact"):
        for record in admin.records(obj)[:10]:
            contact = {
                "engage_contact_id": f"ec-{record['Id']}",
                "salesforce_id": record["Id"],
                "salesforce_object": obj,
                "email": record.get("Email"),
                "first_name": record.get("FirstName"),
                "last_name": record.get("LastName"),
                "updated_at": now,
            }
            producer.produce(
                Topics(kafka).contacts.name,
                serde.encode("EngageContact", contact),
                contact["engage_contact_id"].encode(),
            )
    for i, rep in enumerate(reps):
        user = {"event_id": f"ue-{i}", "occurred_at": now, "user_id": f"u{i + 1}",
                "action": "CONNECTED", "salesforce_user_id": rep["Id"]}  # fmt: skip
        producer.produce(
            Topics(kafka).users.name,
            serde.encode("UserEvent", user),
            f"u{i + 1}".encode(),
        )
    # A few dead letters, so the pages that show them have something to show.
    letters = DeadLetters(producer, Topics(kafka).dlq.name)
    calls = Topics(kafka).calls.name
    for offset, reason in enumerate(["undecodable"] * 3 + ["invalid-event"] * 2):
        origin = Origin(calls, 0, offset, b"call-%d" % offset, b"\x00not avro")
        letters.send(origin, "demo: a broken event", reason)
    producer.flush()
    for obj in ("Lead", "Contact") if backfill else ():
        env = dict(os.environ) | kafka_env(kafka) | salesforce_env(org)
        with (folder / "backfill.log").open("ab") as log:
            subprocess.run(  # noqa: S603 - our own CLI
                cli_argv("poll-history", "--object", obj),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=300,
            )


@contextmanager
def console(kafka: KafkaSettings, org: Any, folder: Path) -> Iterator[tuple[str, str]]:
    """`engage-sync console` against `kafka` and `org`: (its URL, the password)."""
    password, port = secrets.token_urlsafe(12), free_port()
    env = (
        dict(os.environ)
        | kafka_env(kafka)
        | salesforce_env(org)
        | {
            "CONSOLE_PORT": str(port),
            "CONSOLE_PASSWORD_HASH": hash_password(password),
            "CONSOLE_STATUS_CACHE_SECONDS": "0",
        }
    )
    log = (folder / "console.log").open("ab")
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        cli_argv("console"), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until(
            lambda: healthz(port) or proc.poll() is not None,
            what="the console's /healthz",
        )
        if proc.poll() is not None:
            raise RuntimeError(f"the console exited; see {folder / 'console.log'}")
        yield f"http://127.0.0.1:{port}", password
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def take(browser: Any, url: str, password: str, out: Path) -> list[Path]:
    """Screenshot the login, log in, then screenshot every page of the nav.

    Returns:
        The PNG files written to `out` (see `names`).
    """
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{url}/login")
        written = [out / "login.png"]
        page.screenshot(path=str(written[0]), full_page=True)
        page.fill("#username", "admin")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/connection")
        for nav in PAGES:
            page.goto(f"{url}/{nav.slug}")
            page.wait_for_load_state("networkidle")
            written.append(out / f"{nav.slug}.png")
            page.screenshot(path=str(written[-1]), full_page=True)
        return written
    finally:
        context.close()


def main(argv: list[str]) -> int:
    """Write the screenshots to argv[1] (default docs/console)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_FOLDER
    with tempfile.TemporaryDirectory(prefix="engage-screenshots-") as tmp:
        folder = Path(tmp)
        with EmbeddedBroker(log_path=folder / "broker.log") as broker:
            kafka = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap)
            org = demo_org(folder)
            try:
                seed_demo(kafka, org, folder, backfill=True)
                with console(kafka, org, folder) as (url, password):
                    with sync_playwright() as playwright:
                        chromium = playwright.chromium.launch(
                            executable_path=str(CHROMIUM),
                            headless=True,
                            args=CHROMIUM_ARGS,
                        )
                        try:
                            written = take(chromium, url, password, out)
                        finally:
                            chromium.close()
            finally:
                org.stop()
    for path in written:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
