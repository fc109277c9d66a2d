"""`engage-sync import-contacts FILE.csv`: the console's CSV import from a terminal.

The same code as the Import contacts page (`engage_sync/imports`), the same report
folder (`CONSOLE_IMPORTS_DIR`), so the console lists what the terminal imported.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ground.settings import KafkaSettings, load

if TYPE_CHECKING:
    from engage_sync.imports.report import Report

DEFAULT_DIR = Path.home() / ".local" / "state" / "engage-sync" / "imports"


def import_contacts(
    file: Annotated[Path, typer.Argument(help="CSV with a header row", exists=True)],
    column: Annotated[
        list[str] | None,
        typer.Option(
            help="HEADER=field to change a guessed column (field: email, first_name, "
            "last_name, phone, company, title, salesforce_id, engage_contact_id; "
            "empty: not imported). Repeatable."
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the per-row report (CSV) here.")
    ] = None,
    imports_dir: Annotated[
        Path, typer.Option("--dir", envvar="CONSOLE_IMPORTS_DIR", help="Report folder.")
    ] = DEFAULT_DIR,
) -> None:
    """Import contacts from a CSV: each row an added contact, matched or created by
    the pipeline; waits for every row's outcome and prints the counts."""
    from engage_sync.imports import parse
    from engage_sync.imports.columns import FIELDS, guess, mapping_problems
    from engage_sync.imports.registry import kafka_imports

    headers = parse.headers(file)
    mapping = guess(headers)
    for item in column or []:
        header, _, field = item.partition("=")
        if header not in headers or (field and field not in FIELDS):
            raise typer.BadParameter(
                f"{item!r}: HEADER must be one of {headers}, field one of "
                f"{list(FIELDS)} or empty",
                param_hint="--column",
            )
        mapping[headers.index(header)] = field
    problems = mapping_problems(mapping)
    if problems:
        typer.echo(f"engage-sync: not imported: {'; '.join(problems)}", err=True)
        raise typer.Exit(1)
    typer.echo(
        "columns: "
        + ", ".join(
            f"{h} -> {FIELDS.get(m, 'not imported')}"
            for h, m in zip(headers, mapping, strict=True)
        )
    )
    imports = kafka_imports(load(KafkaSettings), imports_dir)
    with file.open("rb") as upload:
        import_id = imports.create(upload, file.name, "cli")
    imports.start(import_id, mapping)
    typer.echo(f"import {import_id} (report in {imports.folder(import_id)})")
    try:
        while imports.running(import_id):
            time.sleep(1.0)  # a progress line a second: an operator's pace
            _print_progress(imports.report(import_id))
    except KeyboardInterrupt:
        imports.stop()
        typer.echo(f"stopped; `engage-sync console` carries on import {import_id}")
        raise typer.Exit(130) from None
    result = imports.report(import_id)
    try:
        progress = result.progress()
        if report is not None:
            with report.open("w", encoding="utf-8", newline="") as out:
                out.writelines(result.csv_chunks())
    finally:
        result.close()
    counts = ", ".join(f"{k} {n:,}" for k, n in progress.counts.items())
    typer.echo(
        f"{progress.state}: {progress.answered:,} of {progress.total:,} rows: {counts}"
    )
    if progress.state != "done":
        typer.echo(f"engage-sync: import failed: {progress.error}", err=True)
        raise typer.Exit(1)


def _print_progress(report: Report) -> None:
    try:
        p = report.progress()
    finally:
        report.close()
    typer.echo(f"  {p.state}: {p.answered:,} / {p.total:,} answered ({p.sent:,} read)")
