"""A pipelined BatchLoop: the next batch's work overlaps this one's wait for Kafka,
yet each batch is acked only after its own work, and in batch order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import faust

from connectors.kafka.clients import DeliveryFailed
from connectors.kafka.deadletter import Origin
from streams.batches import BatchLoop
from tests.waiting import until

VALUES = [b"a1", b"a2", b"b1", b"b2"]  # two batches of two


class GatedWork:
    """A handle whose batch N "produces" at once, then waits for gate N to open (its
    outputs' acknowledgement), and can fail its first attempt."""

    def __init__(self, fail_first: set[int] | None = None) -> None:
        self.started: list[int] = []  # batch numbers, per attempt
        self.finished: list[int] = []
        self.gates: dict[int, asyncio.Event] = {}
        self._fail_first = set(fail_first or ())
        self._batches: dict[bytes, int] = {}  # first value -> batch number

    def gate(self, n: int) -> asyncio.Event:
        return self.gates.setdefault(n, asyncio.Event())

    async def __call__(self, batch: Sequence[Origin]) -> None:
        first = batch[0].value or b""
        n = self._batches.setdefault(first, len(self._batches) + 1)
        self.started.append(n)
        await self.gate(n).wait()
        if n in self._fail_first:
            self._fail_first.discard(n)
            raise DeliveryFailed("1 record(s) unacknowledged")
        self.finished.append(n)


def _agent(
    work: GatedWork, pipelined: bool, seen: list[bytes] | None = None
) -> tuple[Any, list[list[Any]]]:
    seen = [] if seen is None else seen
    app = faust.App("pipeline-test", store="memory://", web_enabled=False)
    topic = app.topic("pipeline-input", value_serializer="raw")
    loop = BatchLoop("pipeline-test", work, 2, 0.02, pipelined=pipelined)
    taken: list[list[Any]] = []

    @app.agent(topic)
    async def agent(stream: Any) -> None:
        # Runs just before the take's own collector, for the same event.
        stream.add_processor(lambda value: seen.append(value) or value)
        real_ack = stream.ack

        async def ack(event: Any) -> bool:
            taken.append([event.value])
            return bool(await real_ack(event))

        stream.ack = ack
        await loop.run(stream)

    return agent, taken


async def _two_batches_started(agent: Any, work: GatedWork) -> None:
    for value in VALUES:
        await agent.put(value)
    await until(lambda: work.started == [1, 2], "batch 2 to start")


def test_the_next_batch_starts_while_one_waits_yet_acks_follow_batch_order() -> None:
    work = GatedWork()
    agent, acked = _agent(work, pipelined=True)

    async def run() -> None:
        async with agent.test_context() as a:
            await _two_batches_started(a, work)
            work.gate(2).set()
            await until(lambda: work.finished == [2], "batch 2's work to end")
            # The marker above proves batch 2 is done: still nothing is acked,
            # since batch 1's outputs are not acknowledged yet.
            assert acked == []
            work.gate(1).set()
            await until(lambda: len(acked) == 4, "every event acked")

    asyncio.run(run())
    assert [v for (v,) in acked] == VALUES


def test_a_batch_whose_outputs_failed_is_redone_before_anything_is_acked() -> None:
    work = GatedWork(fail_first={1})
    agent, acked = _agent(work, pipelined=True)

    async def run() -> None:
        async with agent.test_context() as a:
            await _two_batches_started(a, work)
            work.gate(2).set()
            work.gate(1).set()  # batch 1's first attempt fails
            await until(lambda: work.finished == [2], "batch 2's work to end")
            assert acked == []
            await until(lambda: len(acked) == 4, "every event acked")

    asyncio.run(run())
    assert work.started == [1, 2, 1]  # batch 1 redone
    assert work.finished == [2, 1]
    assert [v for (v,) in acked] == VALUES


def test_without_pipelining_the_next_batch_waits_for_the_last_one() -> None:
    work, seen = GatedWork(), []
    agent, acked = _agent(work, pipelined=False, seen=seen)

    async def run() -> list[int]:
        async with agent.test_context() as a:
            for value in VALUES:
                await a.put(value)
            await until(lambda: work.started == [1], "batch 1 to start")
            # The marker: the stream has read batch 2, so it was there to start.
            await until(lambda: len(seen) == 4, "the stream to read batch 2")
            started_while_waiting = list(work.started)
            work.gate(1).set()
            await until(lambda: work.started == [1, 2], "batch 2 to start")
            work.gate(2).set()
            await until(lambda: len(acked) == 4, "every event acked")
            return started_while_waiting

    assert asyncio.run(run()) == [1]
