"""The agents' batch loop: ack a batch only after its work, retry outages, else stop.

faust's `take_events` acks every event of a batch in a `finally` around its `yield`,
so a batch whose work raised was acknowledged anyway (and lost). `take_batches`
(streams/take.py) yields batches and acks nothing; this loop acks each event after
`handle` returned.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import faust
from confluent_kafka import KafkaError, KafkaException

from connectors.kafka.clients import DeliveryFailed
from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import RegistryUnavailable
from connectors.salesforce.pacing import Backoff
from streams.take import WindowStats, take_batches

log = logging.getLogger(__name__)

# The worker's exit code after a batch failed for good (the writer's fatal code).
FATAL_EXIT_CODE = 3
BACKOFF_CAP_SECONDS = 30.0
# librdkafka errors that pass once the brokers answer again.
_KAFKA_OUTAGES = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._MSG_TIMED_OUT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError._QUEUE_FULL,
    }
)

State = Literal["waiting", "running", "retrying", "failed"]
Handle = Callable[[list[Origin]], Awaitable[None]]


def origin_of(event: Any) -> Origin:
    """Where a faust event came from, with its key, value and timestamp."""
    msg = event.message
    timestamp_ms = int((msg.timestamp or 0) * 1000)
    return Origin(
        msg.topic, msg.partition, msg.offset, msg.key, msg.value, timestamp_ms
    )


def is_transient(exc: BaseException) -> bool:
    """True for failures an unchanged retry of the batch can get past: Kafka did not
    acknowledge the outputs (broker unreachable, timed out) or the Schema Registry is
    down. Everything else (a bug, a SQLite error, a refused schema) is not."""
    if isinstance(exc, DeliveryFailed | RegistryUnavailable | BufferError):
        return True
    if isinstance(exc, KafkaException) and exc.args:
        err = exc.args[0]
        return isinstance(err, KafkaError) and (
            err.retriable() or err.code() in _KAFKA_OUTAGES
        )
    return False


@dataclass
class BatchLoop:
    """One agent's loop over its stream's batches (concurrency 1: faust #606).

    Args:
        name: the agent's name, for logs and health.
        handle: the batch's work; it returns once every output is acknowledged.
        batch_size: most events per batch.
        within: seconds a batch stays open after its first event (unless full).
        pipelined: the next batch's work may start while this batch's outputs are
            still on their way to Kafka (at most two batches at once). Each batch is
            still acked only after its own outputs were acknowledged, and batches are
            acked in order. Only for a `handle` that produces everything before its
            first `await` and keeps no state between batches (the activity agent).
    """

    name: str
    handle: Handle
    batch_size: int
    within: float
    state: State = "waiting"
    failure: str | None = None
    retries: int = 0
    pipelined: bool = False
    window: WindowStats = field(default_factory=WindowStats)

    async def run(self, stream: faust.StreamT) -> None:
        """Take batches until the worker stops; each one is acked after its work."""
        LOOPS[self.name] = self
        self.state = "running"
        batches = take_batches(stream, self.batch_size, self.within, self.window)
        previous: asyncio.Future[None] | None = None
        async for events in batches:
            if not self.pipelined:
                await self._done_then_ack(stream, events, None)
                continue
            # This batch's outputs go out now (handle produces before it awaits);
            # its acks wait for them and for the batch before it.
            current = asyncio.ensure_future(
                self._done_then_ack(stream, events, previous)
            )
            if previous is not None:
                await previous  # at most two batches at once
            previous = current
        if previous is not None:
            await previous

    async def _done_then_ack(
        self,
        stream: faust.StreamT,
        events: list[Any],
        before: asyncio.Future[None] | None,
    ) -> None:
        await self._until_done([origin_of(e) for e in events])
        if before is not None:
            await before  # acks in batch order
        for event in events:
            await stream.ack(event)

    async def _until_done(self, batch: list[Origin]) -> None:
        backoff = Backoff(cap=BACKOFF_CAP_SECONDS)
        while True:
            try:
                await self.handle(batch)
            except Exception as exc:
                if not is_transient(exc):
                    await self._stop_worker(exc, len(batch))
                delay = backoff.next()
                self.state, self.retries = "retrying", self.retries + 1
                log.warning(
                    "%s: a batch of %d events is not done (%s: %s); none of it is "
                    "acknowledged, redoing it in %.1f s (attempt %d)",
                    self.name,
                    len(batch),
                    type(exc).__name__,
                    str(exc)[:300],
                    delay,
                    backoff.attempt,
                )
                await asyncio.sleep(delay)
            else:
                self.state = "running"
                return

    async def _stop_worker(self, exc: Exception, size: int) -> None:
        """End the worker at once, exit code 3, without acking the batch.

        Not faust's graceful stop: it waits for every fetched event to be acked
        (`stream_wait_empty`), which this batch never will be; and returning would
        let faust restart the agent, which would ack later events past this batch.
        Nothing unacked is committed, so the next worker redoes the batch.
        """
        self.state = "failed"
        self.failure = f"{type(exc).__name__}: {str(exc)[:300]}"
        log.critical(
            "%s: a batch of %d events failed with %s; stopping the worker without "
            "acknowledging it (a restart redoes the batch)",
            self.name,
            size,
            self.failure,
            exc_info=exc,
        )
        print(
            f"engage-sync: worker stopped: agent {self.name} could not process a "
            f"batch ({self.failure}); nothing of it was committed, a restart redoes it",
            file=sys.stderr,
            flush=True,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(FATAL_EXIT_CODE)


LOOPS: dict[str, BatchLoop] = {}


def states() -> dict[str, State]:
    """Each agent loop's state by agent name, for health: `retrying` while a batch
    waits out an outage (`failed` is never seen from outside: the worker exits)."""
    return {name: loop.state for name, loop in LOOPS.items()}
