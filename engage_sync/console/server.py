"""`engage-sync console`: the app served by uvicorn, with the real status source."""

from __future__ import annotations

import logging
from typing import Any

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


def reads_source(settings: ConsoleSettings, crm: Any) -> object | None:
    """The API's reads through `crm`'s client, counted with every process's calls
    (the `api-usage` ledger) and spent at the budget's lowest priority; None
    without Salesforce settings (the read routes answer 503)."""
    if crm.salesforce is None:
        return None
    from connectors.salesforce.budget import Governor
    from connectors.salesforce.usage import UsageLedger
    from engage_sync.console.engage_copy import EngageCopy
    from engage_sync.console.reads import (
        CachedReads,
        ContactRecords,
        Reads,
        TaskSubject,
    )

    budget = load(BudgetSettings)

    usage = _LazyUsage(crm, UsageLedger(crm.kafka, "console"))
    governor = Governor(budget, usage)
    copy = EngageCopy(crm.kafka)

    def cache(seconds: float) -> CachedReads:
        return CachedReads(governor, seconds, retry_after=budget.probe_seconds)

    def stop() -> None:
        copy.stop()
        usage.stop()

    return Reads(
        ContactRecords(
            copy.contact,
            lambda obj: crm.current()[0].mapping(obj),
            crm.first,
            cache(settings.record_cache_seconds),
        ),
        TaskSubject(crm.describe, cache(settings.picklist_cache_seconds)),
        stop,
    )


class _LazyUsage:
    """The governor's usage source, started at the first read: a console that
    serves only pages never connects to Salesforce or follows `api-usage`."""

    def __init__(self, crm: Any, ledger: Any) -> None:
        self.crm, self.ledger, self._started = crm, ledger, False

    def _client(self) -> Any:
        client = self.crm.client()
        if not self._started:
            self._started = True
            client.process = "console"
            try:
                self.ledger.start()
                client.on_call = self.ledger.add
            except Exception as exc:  # noqa: BLE001 - counting is advisory
                # Kafka unreachable: our own calls still count, others' do not.
                log.warning("console API calls counted alone: %s", exc)
                self.ledger = None
        return client

    def org_usage(self) -> tuple[int, int] | None:
        return self._client().api_usage  # type: ignore[no-any-return]

    def our_calls(self) -> int:
        client = self._client()
        return int(client.calls if self.ledger is None else self.ledger.total())

    def refresh(self) -> None:
        self._client().refresh_usage()

    def stop(self) -> None:
        if self._started and self.ledger is not None:
            self.ledger.stop()


def serve(settings: ConsoleSettings) -> None:
    """Serve the console until SIGTERM or Ctrl-C (uvicorn handles both).

    Raises:
        OSError: the host and port cannot be bound.
    """
    import uvicorn

    from engage_sync.console.app import create_app

    backfills = backfills_source()
    crm = crm_source()
    app = create_app(
        settings,
        status_source(settings.status_cache_seconds),  # type: ignore[arg-type]
        crm,  # type: ignore[arg-type]
        backfills=backfills,  # type: ignore[arg-type]
        reads=reads_source(settings, crm),  # type: ignore[arg-type]
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
            # Forwarded headers are believed only from CONSOLE_TRUSTED_PROXIES (the
            # app's own middleware), not from uvicorn's default of 127.0.0.1.
            proxy_headers=False,
            log_level="warning",
        )
    finally:
        backfills.close()  # type: ignore[attr-defined]
