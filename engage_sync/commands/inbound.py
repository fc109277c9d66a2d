"""Salesforce -> Engage commands: the poller, Poll Historical Data and Engage's copy."""

from __future__ import annotations

import json
import signal
from typing import Annotated, Literal

import typer

from engage_sync.settings import KafkaSettings, SalesforceSettings, load


def _connected() -> tuple[KafkaSettings, object]:
    from connectors.kafka.clients import ensure_topics
    from connectors.kafka.topics import Topics
    from connectors.salesforce.client import SalesforceClient

    kafka = load(KafkaSettings)
    kafka.require_bootstrap()
    ensure_topics(kafka, Topics(kafka).all())
    return kafka, SalesforceClient(load(SalesforceSettings)).connect()


def poller() -> None:
    """Poll Salesforce for changed Leads, Contacts and Accounts while sync is on."""
    from connectors.salesforce.cursor import CursorStore
    from connectors.salesforce.errors import SalesforceError
    from connectors.salesforce.poller import IncrementalPoller, PollerLoop
    from streams.settings.topic import SettingsFollower

    try:
        kafka, client = _connected()
        cursors = CursorStore(kafka).load()
        follower = SettingsFollower(kafka).start_and_load()
        loop = PollerLoop(IncrementalPoller(kafka, client, cursors), follower)  # type: ignore[arg-type]
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: loop.stop_event.set())
        loop.run()
        follower.stop()
    except SalesforceError as exc:
        typer.echo(f"engage-sync: poller stopped: {exc.problem.message}", err=True)
        raise typer.Exit(3) from None


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
    from rich.progress import Progress

    from connectors.salesforce.backfill import Backfill, BackfillRefused
    from connectors.salesforce.cursor import CursorStore
    from connectors.salesforce.poller import RecordPublisher
    from streams.settings.topic import current

    if object_ not in ("Lead", "Contact", "Account"):
        typer.echo("engage-sync: --object must be Lead, Contact or Account", err=True)
        raise typer.Exit(2)
    obj: Literal["Lead", "Contact", "Account"] = object_  # type: ignore[assignment]
    kafka, client = _connected()
    found = current(kafka)
    if found is None or obj not in found[0].objects:
        typer.echo(
            f"engage-sync: no settings for {obj}: apply a settings file first", err=True
        )
        raise typer.Exit(1)
    crm = found[0]
    job = Backfill(client, RecordPublisher(kafka), CursorStore(kafka).load())  # type: ignore[arg-type]
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
        return
    with Progress() as progress:
        task = progress.add_task(f"{obj} backfill", total=max(plan.matching, 1))
        done = job.run(
            obj, crm, all_records, on_page=lambda n: progress.advance(task, n)
        )
    typer.echo(
        f"published {done.published:,} {obj} record(s) "
        f"with {done.api_calls} API call(s)"
        + (" (resumed)" if done.resumed else "")
    )


def contacts_show(
    who: Annotated[
        str, typer.Argument(help="Email, engage_contact_id or Salesforce id")
    ],
) -> None:
    """Print one contact of Engage's copy."""
    from connectors.kafka.serde import Serde
    from connectors.kafka.snapshot import latest_values
    from connectors.kafka.topics import Topics
    from streams.contacts.normalize import normalize_email

    kafka = load(KafkaSettings)
    kafka.require_bootstrap()
    serde, wanted = Serde(), normalize_email(who)
    for value in latest_values(kafka, Topics(kafka).contacts.name).values():
        record = serde.decode("EngageContact", value)
        if who in (record["engage_contact_id"], record["salesforce_id"]) or (
            wanted and normalize_email(record["email"]) == wanted
        ):
            record["updated_at"] = record["updated_at"].isoformat()
            typer.echo(json.dumps(record, indent=2, sort_keys=True))
            return
    typer.echo(f"engage-sync: no contact {who!r} in Engage's copy", err=True)
    raise typer.Exit(1)
