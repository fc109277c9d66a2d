"""`engage-sync console`: the app served by uvicorn, with the real status source."""

from __future__ import annotations

import logging

from ground.settings import (
    BudgetSettings,
    ConfigError,
    ConsoleSettings,
    KafkaSettings,
    SalesforceSettings,
    load,
)

log = logging.getLogger(__name__)


def status_source(seconds: float) -> object:
    """The Connection data from the configured Kafka and org, cached `seconds`."""
    from engage_sync.connection.gather import CachedStatus, gather

    kafka = load(KafkaSettings)
    try:
        salesforce: SalesforceSettings | None = load(SalesforceSettings)
    except ConfigError as exc:
        # Shown on the page as the org part's error; the Kafka parts still answer.
        log.warning("console without Salesforce: %s", exc.message)
        salesforce = None
    budget = load(BudgetSettings)
    return CachedStatus(lambda: gather(kafka, salesforce, budget), seconds)


def crm_source() -> object:
    """The settings topic and org the settings pages read and save."""
    from engage_sync.console.crm import Crm

    try:
        salesforce: SalesforceSettings | None = load(SalesforceSettings)
    except ConfigError:
        salesforce = None  # status_source has said so already
    return Crm(load(KafkaSettings), salesforce)


def backfills_source() -> object:
    """The runner of Poll Historical Data's backfills (children of this console)."""
    import tempfile
    from pathlib import Path

    from engage_sync.console.backfills import Backfills

    # The children's output, for the reason a run failed; progress is on Kafka.
    logs = Path(tempfile.mkdtemp(prefix="engage-sync-backfills-"))
    return Backfills(load(KafkaSettings), logs)


def serve(settings: ConsoleSettings) -> None:
    """Serve the console until SIGTERM or Ctrl-C (uvicorn handles both).

    Raises:
        OSError: the host and port cannot be bound.
    """
    import uvicorn

    from engage_sync.console.app import create_app

    backfills = backfills_source()
    app = create_app(
        settings,
        status_source(settings.status_cache_seconds),  # type: ignore[arg-type]
        crm_source(),  # type: ignore[arg-type]
        backfills,  # type: ignore[arg-type]
    )
    from engage_sync.imports.registry import kafka_imports

    # Imports a stopped console left unfinished carry on (their reports are on disk).
    app.state.imports = kafka_imports(load(KafkaSettings), settings.imports_dir)
    app.state.imports.resume()
    scheme = "https" if settings.uses_tls else "http"
    log.info("admin console on %s://%s:%d", scheme, settings.host, settings.port)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            ssl_certfile=str(settings.tls_cert_file)
            if settings.tls_cert_file
            else None,
            ssl_keyfile=str(settings.tls_key_file) if settings.tls_key_file else None,
            # Request lines carry no secrets, but they are not the operator's news.
            access_log=False,
            log_level="warning",
        )
    finally:
        backfills.close()  # type: ignore[attr-defined]
