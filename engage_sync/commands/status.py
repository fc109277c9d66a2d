"""`engage-sync status [--json]`: the Connection page's data in the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from ground.settings import (
    BudgetSettings,
    ConfigError,
    KafkaSettings,
    SalesforceSettings,
    load,
)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def status(as_json: AsJson = False) -> None:
    """Org, permissions, API calls, users, last polls, lag and dead letters.

    Read-only: it writes nothing to Kafka and records no API usage. Exit 1 when a
    part could not be read (each is named), 0 otherwise.
    """
    from engage_sync.connection.gather import gather

    kafka = load(KafkaSettings)
    try:
        salesforce: SalesforceSettings | None = load(SalesforceSettings)
    except ConfigError as exc:
        typer.echo(f"engage-sync: {exc.message}", err=True)
        salesforce = None
    found = gather(kafka, salesforce, load(BudgetSettings))
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
    else:
        from engage_sync.commands.status_view import render

        render(found)
    if found.errors:
        raise typer.Exit(1)
