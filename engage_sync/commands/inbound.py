"""Salesforce -> Engage commands: the poller, Poll Historical Data and Engage's copy."""

from __future__ import annotations

import json
import logging
import signal
from typing import Annotated, Literal

import typer

from ground.settings import KafkaSettings, SalesforceSettings, load

log = logging.getLogger("engage_sync.poll_history")


def _connected(create_topics: bool = True) -> tuple[KafkaSettings, object]:
    """Kafka settings and a connected Salesforce client; a dry run creates no topic."""
    from connectors.kafka.clients import ensure_topics
    from connectors.kafka.topics import Topics
    from connectors.salesforce.client import SalesforceClient
    from engage_sync.errors import require_salesforce

    kafka = load(KafkaSettings)
    salesforce = load(SalesforceSettings)
    require_salesforce(salesforce)
    if create_topics:
        ensure_topics(kafka, Topics(kafka).all())
    return kafka, SalesforceClient(salesforce).connect()


def _governor(kafka: KafkaSettings, client: object, role: str) -> object:
    """Count this process's calls with everyone's and spend them by priority."""
    from connectors.salesforce.budget import Governor
    from connectors.salesforce.usage import ClientUsage, UsageLedger
    from ground.settings import BudgetSettings

    ledger = UsageLedger(kafka, role).start()
    client.process = role  # type: ignore[attr-defined]
    client.on_call = ledger.add  # type: ignore[attr-defined]
    return Governor(load(BudgetSettings), ClientUsage(client, ledger))  # type: ignore[arg-type]


def poller() -> None:
    """Poll Salesforce for changed Leads, Contacts and Accounts while sync is on."""
    from connectors.kafka.settings_topic import SettingsFollower
    from connectors.salesforce.access import require_access
    from connectors.salesforce.cursor import CursorStore
    from connectors.salesforce.errors import SalesforceError
    from connectors.salesforce.poller import IncrementalPoller, PollerLoop
    from ground import metrics
    from ground.settings import MetricsSettings

    metrics_settings = load(MetricsSettings)
    server = None
    try:
        kafka, client = _connected()
        metrics.set_process("poller")
        governor = _governor(kafka, client, "poller")
        cursors = CursorStore(kafka).load()
        follower = SettingsFollower(kafka).start_and_load()
        # The grants the guide requires, with the settings in force (mapped writes).
        user = client.user  # type: ignore[attr-defined]
        require_access(client, follower.settings, user)  # type: ignore[arg-type]
        loop = PollerLoop(
            IncrementalPoller(kafka, client, cursors),  # type: ignore[arg-type]
            follower,
            governor,  # type: ignore[arg-type]
        )
        server = metrics.serve("poller", loop.health, settings=metrics_settings)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: loop.stop_event.set())
        loop.run()
        follower.stop()
        governor.usage.ledger.stop()  # type: ignore[attr-defined]
    except SalesforceError as exc:
        typer.echo(f"engage-sync: poller stopped: {exc.problem.message}", err=True)
        raise typer.Exit(3) from None
    finally:
        if server is not None:
            server.stop()


def poll_history(
    object_: Annotated[str, typer.Option("--object", help="Lead, Contact or Account")],
    dry_run: Annotated[
        bool, typer.Option(help="Only count and price the backfill.")
    ] = False,
    all_records: Annotated[
        bool, typer.Option("--all", help="Allow a backfill without sync rules.")
    ] = False,
) -> None:
    """Poll Historical Data: backfill records that match the sync rules (resumable)."""
    from rich.console import Console
    from rich.progress import Progress

    from connectors.kafka.ends import MissingTopic
    from connectors.kafka.settings_topic import current
    from connectors.kafka.topics import Topics
    from connectors.salesforce.backfill import (
        Backfill,
        BackfillPaused,
        BackfillRefused,
    )
    from connectors.salesforce.cursor import CursorStore
    from connectors.salesforce.poller import RecordPublisher

    if object_ not in ("Lead", "Contact", "Account"):
        typer.echo("engage-sync: --object must be Lead, Contact or Account", err=True)
        raise typer.Exit(2)
    obj: Literal["Lead", "Contact", "Account"] = object_  # type: ignore[assignment]
    kafka, client = _connected(create_topics=not dry_run)
    try:
        found = current(kafka)
        if found is None or obj not in found[0].objects:
            typer.echo(
                f"engage-sync: no settings for {obj}: apply a settings file first",
                err=True,
            )
            raise typer.Exit(1)
        crm = found[0]
        governor = _governor(kafka, client, "backfill")
        job = Backfill(
            client,  # type: ignore[arg-type]
            RecordPublisher(kafka),
            CursorStore(kafka).load(),
            governor,  # type: ignore[arg-type]
        )
    except MissingTopic as exc:
        typer.echo(f"engage-sync: {exc}", err=True)
        raise typer.Exit(1) from None
    log.info("counting the %s records that match the sync rules", obj)
    try:
        plan = job.plan(obj, crm, all_records)
    except BackfillRefused as exc:
        typer.echo(f"engage-sync: refused: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{plan.matching:,} {obj} record(s) match the sync rules; the backfill costs "
        f"about {plan.api_calls} API call(s)"
    )
    if dry_run:
        log.info("dry run: nothing published")
        return
    log.info("backfilling %s into %s", obj, Topics(kafka).records.name)
    try:
        # The bar is for the person watching; stdout keeps only the results.
        with Progress(console=Console(stderr=True)) as progress:
            before = job.cursors.get("history", obj)
            task = progress.add_task(
                f"{obj} backfill",
                total=max(plan.matching, 1),
                # A resumed backfill starts its bar where its cursor stopped.
                completed=before.read if before and not before.done else 0,
            )
            done = job.run(
                obj,
                crm,
                all_records,
                on_page=lambda n: progress.advance(task, n),
                total=plan.matching,
            )
    except BackfillPaused as exc:
        typer.echo(f"engage-sync: {exc}", err=True)
        raise typer.Exit(4) from None
    finally:
        governor.usage.ledger.stop()  # type: ignore[attr-defined]
    typer.echo(
        f"published {done.published:,} {obj} record(s) "
        f"with {done.api_calls} API call(s)" + (" (resumed)" if done.resumed else "")
    )


def contacts_show(
    who: Annotated[
        str, typer.Argument(help="Email, engage_contact_id or Salesforce id")
    ],
) -> None:
    """Print one contact of Engage's copy."""
    from connectors.kafka.ends import MissingTopic, TopicReader
    from connectors.kafka.serde import Serde
    from connectors.kafka.snapshot import latest_values
    from connectors.kafka.topics import Topics
    from domain.contacts.normalize import normalize_email

    kafka = load(KafkaSettings)
    # Engage's copy is written with the registry's framing when one is set.
    serde, wanted = Serde.for_kafka(kafka), normalize_email(who)
    try:
        with TopicReader.open(kafka) as reader:
            copy = latest_values(reader, Topics(kafka).contacts.name)
    except MissingTopic as exc:
        typer.echo(f"engage-sync: {exc}", err=True)
        raise typer.Exit(1) from None
    for value in copy.values():
        record = serde.decode("EngageContact", value)
        if who in (record["engage_contact_id"], record["salesforce_id"]) or (
            wanted and normalize_email(record["email"]) == wanted
        ):
            record["updated_at"] = record["updated_at"].isoformat()
            typer.echo(json.dumps(record, indent=2, sort_keys=True))
            return
    typer.echo(f"engage-sync: no contact {who!r} in Engage's copy", err=True)
    raise typer.Exit(1)
