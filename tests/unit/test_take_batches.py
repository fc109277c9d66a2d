"""`take_batches`: full batches at once, a partial one a window after its first event,
an idle agent asleep, nothing acked by the take itself (faust's in-memory agent)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
import pytest

from streams.take import WindowStats, take_batches
from tests.waiting import until


def _agent(
    max_: int, within: float, stats: WindowStats, work: float = 0.0
) -> tuple[Any, list[tuple[float, list[bytes]]], list[Any]]:
    app = faust.App("take-test", store="memory://", web_enabled=False)
    topic = app.topic("take-input", value_serializer="raw")
    batches: list[tuple[float, list[bytes]]] = []
    unacked: list[Any] = []

    @app.agent(topic)
    async def agent(stream: Any) -> None:
        async for events in take_batches(stream, max_, within, stats):
            batches.append((time.monotonic(), [e.value for e in events]))
            # The take acks nothing: each event still counts as unacked here.
            unacked.extend(e for e in events if not e.message.acked)
            if work:
                await asyncio.sleep(work)  # a batch being worked on
            for event in events:
                await stream.ack(event)

    return agent, batches, unacked


def test_a_full_batch_goes_at_once_the_rest_a_window_after_its_first_event() -> None:
    stats = WindowStats()
    agent, batches, unacked = _agent(max_=3, within=0.3, stats=stats)

    async def run() -> float:
        async with agent.test_context() as a:
            started = time.monotonic()
            for i in range(7):
                await a.put(b"%d" % i)
            await until(lambda: len(batches) == 3, "three batches")
            return started

    started = asyncio.run(run())
    values = [v for _, v in batches]
    assert values == [[b"0", b"1", b"2"], [b"3", b"4", b"5"], [b"6"]]
    assert batches[1][0] - started < 0.25  # full: not held for the window
    assert batches[2][0] - started >= 0.29  # the last one: a window after event 6
    assert len(unacked) == 7


def test_an_idle_take_sleeps_until_an_event_comes() -> None:
    stats = WindowStats()
    agent, batches, _ = _agent(max_=100, within=0.01, stats=stats)

    async def run() -> int:
        async with agent.test_context() as a:
            await a.put(b"first")
            await until(lambda: len(batches) == 1, "the first batch")
            waits_before = stats.waits
            await asyncio.sleep(0.5)  # 50 windows of faust's noack_take
            idle_waits = stats.waits - waits_before
            # The marker: an event after the idle spell is taken, so the take was
            # waiting for it, not stuck.
            await a.put(b"after")
            await until(lambda: len(batches) == 2, "the batch after the idle spell")
            return idle_waits

    idle_waits = asyncio.run(run())
    assert idle_waits <= 1
    assert [v for _, v in batches] == [[b"first"], [b"after"]]


def test_events_arriving_while_a_batch_is_worked_on_form_the_next_unlost() -> None:
    stats = WindowStats()
    agent, batches, _ = _agent(max_=5, within=0.05, stats=stats, work=0.2)

    async def run() -> None:
        async with agent.test_context() as a:
            for i in range(23):
                await a.put(b"%d" % i)
                await asyncio.sleep(0.01)
            await until(lambda: sum(len(v) for _, v in batches) == 23, "all 23 events")

    asyncio.run(run())
    taken = [x for _, v in batches for x in v]
    assert taken == [b"%d" % i for i in range(23)]  # each once, in order
    assert all(len(v) <= 5 for _, v in batches)


@pytest.mark.parametrize(("max_", "within"), [(0, 0.1), (10, 0.0)])
def test_a_take_without_room_or_window_is_refused(max_: int, within: float) -> None:
    async def run() -> None:
        async for _ in take_batches(object(), max_, within):
            pass

    with pytest.raises(ValueError, match="need max_"):
        asyncio.run(run())
