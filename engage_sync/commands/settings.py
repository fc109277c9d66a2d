"""`engage-sync settings apply|show`: the CRM settings document."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from ground.settings import KafkaSettings, SalesforceSettings, load

app = typer.Typer(
    help="Apply or show the CRM settings (sync rules, mapping, sync settings)."
)


@app.command("apply")
def apply(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="YAML or JSON")
    ],
    skip_describe: Annotated[
        bool, typer.Option(help="Do not check fields against Salesforce describe.")
    ] = False,
    if_sha256: Annotated[
        str | None,
        typer.Option(
            "--if-sha256",
            help="Apply only if the settings in force still have this sha256 "
            "(`settings show` prints it; 'none' when none were applied).",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(help="Who applies it, for the history (default: your OS user)."),
    ] = None,
) -> None:
    """Validate FILE (also against the org's describe), then publish it if valid."""
    from connectors.kafka.clients import ensure_topics
    from connectors.kafka.topics import Topics
    from domain.crm_settings.document import SettingsError, parse_document
    from streams.settings.save import StaleSettings, check_with_salesforce, save

    kafka = load(KafkaSettings)
    try:
        settings = parse_document(file.read_text(encoding="utf-8"), str(file))
    except SettingsError as exc:
        for problem in exc.problems:
            typer.echo(f"{file}: {problem}", err=True)
        raise typer.Exit(1) from None
    if not skip_describe:
        from connectors.salesforce.client import SalesforceClient
        from engage_sync.errors import require_salesforce

        salesforce = load(SalesforceSettings)
        require_salesforce(salesforce)
        client = SalesforceClient(salesforce).connect()
        problems = check_with_salesforce(client, settings, salesforce.username)
        if problems:
            for problem in problems:
                typer.echo(f"{file}: {problem}", err=True)
            raise typer.Exit(1)
    ensure_topics(kafka, Topics(kafka).all())
    try:
        digest = save(kafka, settings, str(file), by or getpass.getuser(), if_sha256)
    except StaleSettings as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(1) from None
    synced = ", ".join(settings.synced()) or "nothing"
    typer.echo(f"applied {file} (sha256 {digest[:12]}); sync on for: {synced}")


@app.command("show")
def show() -> None:
    """Print the settings in force."""
    from connectors.kafka.ends import MissingTopic
    from connectors.kafka.settings_topic import current
    from domain.crm_settings.document import dump_document

    kafka = load(KafkaSettings)
    try:
        found = current(kafka)
    except MissingTopic as exc:
        typer.echo(f"engage-sync: {exc}", err=True)
        raise typer.Exit(1) from None
    if found is None:
        typer.echo(
            "no CRM settings applied yet (engage-sync settings apply FILE)", err=True
        )
        raise typer.Exit(1)
    settings, meta = found
    by = f" by {meta['by']}" if meta.get("by") else ""
    typer.echo(
        f"# applied {meta['applied_at']}{by} from {meta['source']} "
        f"(sha256 {meta['sha256']})"
    )
    typer.echo(dump_document(settings), nl=False)
