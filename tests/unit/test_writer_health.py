"""The writer's /healthz: a loop that waits on purpose is alive, a stuck one is not."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from connectors.salesforce.writer import SalesforceWriter
from ground.settings import KafkaSettings, WriterSettings


class _Consumer:
    """What a waiting writer calls on its consumer: pause, poll, resume."""

    def assignment(self) -> list[Any]:
        return []

    def pause(self, partitions: list[Any]) -> None: ...

    def resume(self, partitions: list[Any]) -> None: ...

    def poll(self, timeout: float) -> None: ...


def _writer() -> SalesforceWriter:
    kafka = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
    client: Any = SimpleNamespace(calls=0, api_usage=None)
    writer = SalesforceWriter(kafka, WriterSettings(), client)
    writer._consumer = _Consumer()  # type: ignore[assignment]
    return writer


def test_a_writer_waiting_out_a_long_budget_pause_is_healthy() -> None:
    writer = _writer()
    # The batch loop last turned ten minutes ago: the writer has been paused since,
    # polling its consumer in every slice of the wait (this call is one slice).
    writer.last_tick = writer.pace.last_tick = time.monotonic() - 600
    writer.pace.wait(0.05, None)
    ok, details = writer.health()
    assert ok, details


def test_a_writer_whose_loop_is_stuck_is_unhealthy() -> None:
    writer = _writer()
    # Neither a loop turn nor a wait for ten minutes: a call that never returns.
    writer.last_tick = writer.pace.last_tick = time.monotonic() - 600
    ok, details = writer.health()
    assert not ok and details["seconds_since_loop"] >= 600
