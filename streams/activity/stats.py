"""The activity agent's counts: its stats and its Prometheus counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.kafka.deadletter import Origin
from ground import metrics


@dataclass
class ActivityStats:
    events_in: int = 0
    commands_out: int = 0
    parked: int = 0
    dead_letters: int = 0
    sentiment_dropped: int = 0
    history_off_skipped: int = 0
    opt_out_writebacks: int = 0
    released: int = 0


class BoundMetrics:
    """The agent's counters, their label children bound once per process name (not
    looked up per event) and advanced once per batch."""

    def __init__(self, inputs: dict[str, str]) -> None:
        self._inputs = inputs
        self._process: str | None = None
        self._events_in: dict[str, Any] = {}
        self._commands_out: Any = None
        self._commands_reported = 0

    def count(self, batch: Sequence[Origin], stats: ActivityStats) -> None:
        if self._process != metrics.process():  # set once at start, after wiring
            self._process = metrics.process()
            self._events_in = {
                t: metrics.EVENTS_IN.labels(self._process, t) for t in self._inputs
            }
            self._commands_out = metrics.COMMANDS_OUT.labels(self._process)
        by_topic: dict[str, int] = {}
        for origin in batch:
            by_topic[origin.topic] = by_topic.get(origin.topic, 0) + 1
        for topic, n in by_topic.items():
            self._events_in[topic].inc(n)
        if stats.commands_out > self._commands_reported:
            self._commands_out.inc(stats.commands_out - self._commands_reported)
            self._commands_reported = stats.commands_out
