"""`engage-sync lag`: consumer-group lag per partition, in messages and in seconds."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from ground.settings import KafkaSettings, load

if TYPE_CHECKING:
    from rich.table import Table

    from connectors.kafka.lag import GroupLag

# kafka-consumer-groups --describe's names, plus the group's state and the time lag.
COLUMNS = (
    "GROUP",
    "STATE",
    "MEMBERS",
    "TOPIC",
    "PARTITION",
    "CURRENT-OFFSET",
    "LOG-END-OFFSET",
    "LAG",
    "LAG-SECONDS",
    "CONSUMER-ID",
    "HOST",
    "CLIENT-ID",
)
_NUMERIC = set(COLUMNS[4:9])


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def render(groups: list[GroupLag]) -> Table:
    """One table, a section per group ending in its totals (sum lag, max seconds)."""
    from rich.table import Table

    table = Table(title="consumer-group lag", title_justify="left")
    for name in COLUMNS:
        table.add_column(name, justify="right" if name in _NUMERIC else "left")
    for g in groups:
        head = [g.group, g.state, "?" if g.members is None else str(g.members)]
        for p in g.partitions:
            table.add_row(
                *head,
                p.topic,
                str(p.partition),
                _num(p.committed),
                _num(p.end),
                _num(p.lag),
                _num(p.lag_seconds),
                # "-" where no member owns the partition, as kafka-consumer-groups.
                p.consumer_id or "-",
                p.host or "-",
                p.client_id or "-",
            )
            head = ["", "", ""]
        totals = [_num(g.total_lag), _num(g.max_lag_seconds)]
        table.add_row(*head, "total", "", "", "", *totals, end_section=True)
        for m in g.consumers:
            if not m.partitions:  # a member without partitions still shows
                table.add_row("", "", "", "-", "", "", "", "", "",
                              m.consumer_id, m.host, m.client_id)
    if not groups:
        table.caption = "no consumer groups of this pipeline yet"
    return table


def document(groups: list[GroupLag]) -> str:
    """The JSON document: when it was taken and every group with its totals."""
    return json.dumps(
        {"taken_at": time.time(), "groups": [g.to_dict() for g in groups]}
    )


def lag(
    group: Annotated[
        str | None,
        typer.Option(help="One group: full id or role (worker, writer, poller, ...)."),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.2, help="Seconds between refreshes (--watch).")
    ] = 2.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document (a line per refresh).")
    ] = False,
) -> None:
    """Lag of the pipeline's consumer groups: offsets, messages and seconds behind."""
    from confluent_kafka import KafkaException
    from rich.console import Console

    from connectors.kafka.ends import TopicReader
    from connectors.kafka.lag import UnknownGroupError, group_lag

    kafka = load(KafkaSettings)
    # One reader for every refresh; it never joins or commits, so `lag` lists no
    # group of its own.
    reader = TopicReader.open(kafka, isolation="read_uncommitted", stall_timeout=10)
    try:
        groups = group_lag(kafka, group, reader=reader)
        if as_json:
            typer.echo(document(groups))
        elif not watch:
            # Piped output is not cut to 80 columns: the whole table, one row a line.
            Console(width=None if sys.stdout.isatty() else 240).print(render(groups))
        if watch:
            again = lambda: group_lag(kafka, group, reader=reader)  # noqa: E731
            _watch(again, interval, as_json, groups)
    except UnknownGroupError as exc:
        _fail(exc.args[0])
    except (KafkaException, TimeoutError) as exc:
        _fail(f"Kafka did not answer: {exc.args[0]}")
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()


def _fail(message: str) -> None:
    typer.echo(f"engage-sync: {message}", err=True)
    raise typer.Exit(1)


def _watch(
    measure: Callable[[], list[GroupLag]],
    interval: float,
    as_json: bool,
    groups: list[GroupLag],
) -> None:
    """Refresh every `interval` seconds until Ctrl-C; a failed refresh is shown."""
    from confluent_kafka import KafkaException
    from rich.live import Live

    if as_json:
        while True:
            time.sleep(interval)
            try:
                typer.echo(document(measure()))
            except KafkaException as exc:
                typer.echo(json.dumps({"taken_at": time.time(), "error": str(exc)}))
    with Live(render(groups), auto_refresh=False) as live:
        while True:
            time.sleep(interval)
            try:
                live.update(render(measure()), refresh=True)
            except KafkaException as exc:
                live.update(f"Kafka did not answer: {exc.args[0]}", refresh=True)
