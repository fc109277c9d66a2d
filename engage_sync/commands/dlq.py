"""`engage-sync dlq list|show|resubmit`: the dead-letter topic, by error type."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from ground.settings import KafkaSettings, load

if TYPE_CHECKING:
    from connectors.kafka.dlq_reader import DeadLetter

T = TypeVar("T")
app = typer.Typer(help="Dead letters: counts by error type, the records, resubmission.")

Reason = Annotated[
    str | None,
    typer.Option(help="Error type (engage.errors.reason), e.g. policy-refused."),
]
SourceTopic = Annotated[
    str | None,
    typer.Option("--topic", help="Source topic, e.g. salesforce.commands."),
]
Partition = Annotated[
    int | None, typer.Option(help="Source partition (with --offsets: disambiguates).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"engage-sync: {message}", err=True)
    raise typer.Exit(code)


def _scan(
    kafka: KafkaSettings, use: Callable[[Iterator[DeadLetter]], T]
) -> tuple[str, T]:
    """`use` applied to the whole dead-letter topic, streamed: only what it keeps."""
    from connectors.kafka.dlq_reader import read_dead_letters
    from connectors.kafka.ends import TopicReader
    from connectors.kafka.topics import Topics

    # The CLI checked Kafka before the verb (and not the registry: dead letters are
    # shown undecoded if need be, so a registry outage must not hide them).
    topic = Topics(kafka).dlq.name
    try:
        with TopicReader.open(kafka) as reader:
            return topic, use(read_dead_letters(reader, topic))
    except (LookupError, TimeoutError) as exc:
        _fail(f"cannot read {topic}: {exc}")


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return f"hex:{data.hex()}"


def _default(value: Any) -> Any:
    """JSON for what fastavro decodes that json cannot write."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"hex:{value.hex()}"
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


@app.command("list")
def list_(as_json: AsJson = False) -> None:
    """Dead letters counted by error type and source topic, first and last seen."""
    from connectors.kafka.dlq_reader import summarize

    topic, groups = _scan(load(KafkaSettings), summarize)
    total = sum(g.count for g in groups)
    if as_json:
        by_reason: dict[str, int] = {}
        by_topic: dict[str, int] = {}
        for g in groups:
            by_reason[g.reason] = by_reason.get(g.reason, 0) + g.count
            by_topic[g.source_topic] = by_topic.get(g.source_topic, 0) + g.count
        rows = [
            {
                "reason": g.reason,
                "source_topic": g.source_topic,
                "count": g.count,
                "first_seen": _when(g.first_ms),
                "last_seen": _when(g.last_ms),
            }
            for g in groups
        ]
        body = {"dlq_topic": topic, "total": total, "by_reason": by_reason}
        typer.echo(json.dumps(body | {"by_topic": by_topic, "groups": rows}, indent=2))
        return
    if not groups:
        typer.echo(f"no dead letters in {topic}")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{topic}: {total} dead letter(s), times in UTC")
    for name in ("reason", "source topic", "count", "first seen", "last seen"):
        table.add_column(
            name, justify="right" if name == "count" else "left", overflow="fold"
        )
    for g in groups:
        first, last = (
            _when(ms)[:19].replace("T", " ") for ms in (g.first_ms, g.last_ms)
        )
        table.add_row(
            *map(Text, (g.reason, g.source_topic, f"{g.count:,}", first, last))
        )
    Console().print(table)


def _shown(dl: DeadLetter, preview: dict[str, Any]) -> dict[str, Any]:
    return {
        "dlq_partition": dl.partition,
        "dlq_offset": dl.offset,
        "source_topic": dl.source_topic,
        "source_partition": dl.source_partition,
        "source_offset": dl.source_offset,
        "reason": dl.reason,
        "error_class": dl.error_class,
        "message": dl.message,
        "timestamp": _when(dl.timestamp_ms),
        "key": _text(dl.key),
        "value": preview,
    }


def _cell(preview: dict[str, Any], width: int) -> str:
    if "decoded" in preview:
        text = json.dumps(preview["decoded"], default=_default)
        return text if len(text) <= width else text[: width - 1] + "…"
    if not preview["bytes"]:
        return "(empty)"
    more = "…" if preview["bytes"] * 2 > len(preview["hex"]) else ""
    return (
        f"{preview['bytes']} bytes, not decoded ({preview['not_decoded']})\n"
        f"hex  {preview['hex']}{more}\ntext {preview['text']!r}{more}"
    )


@app.command()
def show(
    reason: Reason = None,
    topic: SourceTopic = None,
    partition: Partition = None,
    limit: Annotated[
        int, typer.Option(min=1, help="At most this many, oldest first.")
    ] = 50,
    as_json: AsJson = False,
) -> None:
    """The dead letters of one error type: where they came from and what they hold."""
    from connectors.kafka.dlq_reader import preview, resolve_topic, select
    from connectors.kafka.serde import Serde
    from connectors.kafka.topics import Topics

    if reason is None and topic is None:
        _fail("give --reason (see `engage-sync dlq list`) and/or --topic")
    kafka = load(KafkaSettings)
    topics = Topics(kafka)
    source = resolve_topic(topics, topic) if topic else None
    dlq_topic, chosen = _scan(
        kafka, lambda letters: list(select(letters, reason, source, partition))
    )
    chosen.sort(key=lambda dl: (dl.timestamp_ms, dl.partition, dl.offset))
    serde = Serde.for_kafka(kafka)
    rows = [_shown(dl, preview(dl, serde, topics)) for dl in chosen[:limit]]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=_default))
        return
    _print_records(dlq_topic, rows, len(chosen), with_reason=reason is None)


def _print_records(
    dlq_topic: str, rows: list[dict[str, Any]], total: int, with_reason: bool
) -> None:
    """One small panel per record: readable at any terminal width."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    console = Console()
    console.print(f"{dlq_topic}: {total} dead letter(s), times in UTC")
    for row in rows:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        fields = {
            "source": f"{row['source_topic']} partition {row['source_partition']} "
            f"offset {row['source_offset']}",
            "time": row["timestamp"][:19].replace("T", " "),
            "key": "(none)" if row["key"] is None else row["key"],
            "reason": row["reason"] if with_reason else None,
            "message": row["message"][:1000],
            "value": _cell(row["value"], 600),
        }
        for name, value in fields.items():
            if value is not None:
                grid.add_row(name, Text(value))  # Text: data is never markup
        title = (
            f"{dlq_topic} partition {row['dlq_partition']} offset {row['dlq_offset']}"
        )
        console.print(Panel(grid, title=Text(title), title_align="left"))
    if total > len(rows):
        console.print(f"{total - len(rows)} more; raise --limit to see them")


@app.command()
def resubmit(
    reason: Reason = None,
    topic: SourceTopic = None,
    partition: Partition = None,
    offsets: Annotated[
        str | None,
        typer.Option(help="Source offsets (what `show` prints), e.g. 12,15,20-30."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Print what would be sent.")] = False,
) -> None:
    """Publish dead letters' original records again to their source topic.

    Each goes to its original partition with the header engage.resubmitted-from.
    Nothing remembers earlier resubmits: the writer upserts Tasks by external id and
    links re-match, so sending a record twice changes nothing more than once.
    """
    from connectors.kafka.clients import DeliveryFailed
    from connectors.kafka.dlq_reader import parse_offsets, resolve_topic, select
    from connectors.kafka.dlq_reader import resubmit as send
    from connectors.kafka.topics import Topics

    if offsets is not None and topic is None:
        _fail("--offsets needs --topic (offsets are per source topic)")
    if reason is None and offsets is None:
        _fail("give --reason CODE, or --topic T --offsets 12,15,20-30")
    try:
        ranges = parse_offsets(offsets) if offsets is not None else None
    except ValueError as exc:
        _fail(str(exc))
    kafka = load(KafkaSettings)
    source = resolve_topic(Topics(kafka), topic) if topic else None
    dlq_topic, chosen = _scan(
        kafka, lambda all_: list(select(all_, reason, source, partition, ranges))
    )
    if not chosen:
        _fail("no dead letters match; see `engage-sync dlq list`", 1)
    try:
        report = send(kafka, dlq_topic, chosen, dry_run=dry_run)
    except DeliveryFailed as exc:
        _fail(f"resubmit failed, some records may have been sent: {exc}", 1)
    for dl in report.missing_topic:
        typer.echo(
            f"skipped {dlq_topic}/{dl.partition}/{dl.offset}: source topic "
            f"{dl.source_topic!r} does not exist",
            err=True,
        )
    if not report.sent:
        _fail("nothing could be resubmitted", 1)
    for dl, origin in report.sent if dry_run else []:
        typer.echo(
            f"would send {origin} -> {dl.source_topic} [{dl.source_partition}] "
            f"(source offset {dl.source_offset}, key {_text(dl.key)}, "
            f"{len(dl.value or b'')} bytes)"
        )
    targets = ", ".join(sorted({dl.source_topic for dl, _ in report.sent}))
    notes = [
        f"{report.duplicates} duplicate(s) of one record sent once"
        if report.duplicates
        else "",
        f"{len(report.missing_topic)} skipped" if report.missing_topic else "",
    ]
    verb = "would resubmit" if dry_run else "resubmitted"
    typer.echo(
        "; ".join(
            [f"{verb} {len(report.sent)} dead letter(s) to {targets}"]
            + [n for n in notes if n]
        )
    )
