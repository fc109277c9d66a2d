"""`engage-sync replay`: re-process a time window of a topic through its live path."""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from confluent_kafka import Consumer, Message, TopicPartition

from ground.settings import KafkaSettings, load

if TYPE_CHECKING:
    from connectors.kafka.ends import TopicReader
    from connectors.kafka.window import WindowPlan
    from streams.replay import ReplayPath

log = logging.getLogger(__name__)

_RELATIVE = re.compile(r"-(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
TIMESTAMP_HELP = "ISO-8601 (no zone = UTC), or relative to now: -90m, -3h, -2d"


class BadTimestamp(ValueError):
    """A --since/--until value is neither ISO-8601 nor a relative form."""


def parse_instant(text: str, now: datetime) -> datetime:
    """An ISO-8601 timestamp (naive = UTC), `now`, or `-<n><s|m|h|d>` before now.

    Raises:
        BadTimestamp: the text is neither.
    """
    value = text.strip()
    if value.lower() == "now":
        return now
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount, unit = relative.groups()
        return now - timedelta(**{_UNITS[unit]: float(amount)})
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise BadTimestamp(
            f"{text!r} is not a timestamp ({TIMESTAMP_HELP})"
        ) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"engage-sync: {message}", err=True)
    raise typer.Exit(code)


def _commit(consumer: Consumer, messages: Sequence[Message]) -> None:
    """Record progress in the replay group, for lag tooling only: the next replay
    computes its window from timestamps again, never from these offsets."""
    from connectors.kafka.window import where

    last: dict[tuple[str, int], int] = {}
    for msg in messages:
        topic, partition, offset = where(msg)
        last[(topic, partition)] = max(last.get((topic, partition), -1), offset)
    try:
        consumer.commit(
            offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()],
            asynchronous=False,
        )
    except Exception as exc:  # noqa: BLE001 - visibility only, the work is done
        log.warning("replay offset commit failed: %s", exc)


def _print_plan(plan: WindowPlan, start: datetime, end: datetime | None) -> None:
    upto = end.isoformat() if end is not None else "the end of the topic"
    typer.echo(
        f"{plan.topic}: {plan.total:,} record(s) with timestamps from "
        f"{start.isoformat()} to {upto} (end excluded)"
    )
    for p, span in sorted(plan.spans.items()):
        where = f" (offsets {span.first}-{span.last})" if span.count else ""
        typer.echo(f"  partition {p}: {span.count:,}{where}")


def _process(
    reader: TopicReader, plan: WindowPlan, path: ReplayPath
) -> tuple[int, bool]:
    """Feed the window to the path batch by batch: (processed, interrupted).

    SIGINT/SIGTERM end the run after the current batch (or a writer retry wait).
    """
    from rich.console import Console
    from rich.progress import Progress

    from connectors.kafka.window import read
    from connectors.salesforce.writer import Stopping

    stopping = threading.Event()

    def interrupt(*_: object) -> None:
        stopping.set()
        path.interrupt()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, interrupt)
    done = 0
    with Progress(console=Console(stderr=True)) as progress:
        bar = progress.add_task(f"replaying {plan.topic}", total=max(plan.total, 1))
        try:
            for batch in read(reader, plan, path.batch_size, stopping.is_set):
                path.handle(batch)
                # The writer path commits the same offsets itself: harmless.
                _commit(reader.consumer, batch)
                done += len(batch)
                progress.advance(bar, len(batch))
        except Stopping:
            pass  # the writer left a retry wait; that batch was not committed
    return done, stopping.is_set()


def replay(
    topic: Annotated[
        str, typer.Option("--topic", help="engage.dialer.calls, engage.email.events "
                          "or salesforce.commands")
    ],
    since: Annotated[
        str, typer.Option("--since", help=f"Window start, by record timestamp: "
                          f"{TIMESTAMP_HELP}")
    ],
    until: Annotated[
        str | None, typer.Option("--until", help="Window end (excluded); "
                                 "default: the end of the topic")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Only count the window's records per partition.")
    ] = False,
) -> None:
    """Re-process a window of a topic's history (by record timestamp) as live."""
    from connectors.kafka.clients import ensure_topics
    from connectors.kafka.ends import TopicReader
    from connectors.kafka.topics import Topics
    from connectors.kafka.window import TimeWindow, scan
    from connectors.salesforce.errors import SalesforceError
    from streams.replay import path_for, replayable

    kafka = load(KafkaSettings)
    topics = Topics(kafka)
    accepted = replayable(topics)
    try:
        name = topics.by_name(topic).name
    except KeyError:
        name = topic
    if name not in accepted:
        documented = [n.removeprefix(topics.prefix) for n in accepted]
        _fail(
            f"cannot replay {topic}: replay supports {', '.join(documented)} "
            "(dead letters are replayed with `engage-sync dlq resubmit`)"
        )
    now = datetime.now(UTC)
    try:
        start = parse_instant(since, now)
        end = parse_instant(until, now) if until is not None else None
    except BadTimestamp as exc:
        _fail(str(exc))
        return
    if end is not None and end <= start:
        _fail("--until must be after --since")
    if not dry_run:  # a dry run only reads: a missing topic is reported, not made
        ensure_topics(kafka, topics.all())
    if not dry_run and name == topics.commands.name:
        from engage_sync.errors import require_salesforce
        from ground.settings import SalesforceSettings

        require_salesforce(load(SalesforceSettings))
    # The processing path's settings are checked before the (long) scan.
    path = None if dry_run else path_for(kafka, name)
    group = kafka.group("replay")
    # Commits (real runs only) go to the replay group, through the reader's consumer.
    reader = TopicReader.open(kafka, group_id=group)
    done, interrupted = 0, False
    try:
        window = TimeWindow(_ms(start), _ms(end) if end is not None else None)
        log.info("scanning %s for the window's records", name)
        plan = scan(reader, name, window)
        _print_plan(plan, start, end)
        if path is None:
            typer.echo("dry run: nothing processed")
            return
        log.info("re-processing %d record(s) as group %s", plan.total, group)
        path.start(reader.consumer)
        done, interrupted = _process(reader, plan, path)
    except (LookupError, TimeoutError) as exc:
        _fail(str(exc).strip("'\""))
        return
    except SalesforceError as exc:
        _fail(f"replay stopped: {exc.problem.message}", 3)
        return
    finally:
        reader.close()
        if path is not None:
            path.close()
    if interrupted:
        _fail(
            f"stopped after {done:,} of {plan.total:,} record(s); run the same "
            "replay again to finish (upserts make the overlap harmless)",
            1,
        )
    typer.echo(
        f"re-processed {done:,} record(s) of {name} in group {group}: "
        f"{path.summary()}"
    )
