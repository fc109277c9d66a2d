"""The worker's /healthz verdict: agents alive, the consumer fetching, start-up loaded.

`WorkerHealth` decides from plain observations (unit-tested with fakes);
`streams/faust_state.py` reads those observations from the running Faust app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ConsumerState:
    """What the Faust consumer shows about its fetching.

    Attributes:
        partitions: Partitions assigned to this worker.
        seconds_since_fetch: How long the assigned partition waiting longest for
            a fetch answer from Kafka has waited; None when none is waiting (no
            partitions, or every one still holds records not yet taken).
        seconds_since_poll: Since Faust last asked the consumer for records
            (0 while it is asking); None before the consumer started.
    """

    partitions: int = 0
    seconds_since_fetch: float | None = None
    seconds_since_poll: float | None = None


class Flag(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class WorkerHealth:
    """Healthy unless an agent crashed or stopped, the consumer went quiet, or
    start-up loading failed; loading itself is healthy (alive, not yet ready).

    Args:
        poll_limit_seconds: Longest a consumer may go without a fetch answer
            (or, once loaded, without polling) before the worker is unhealthy.
        ready: Set once settings, users, parked activities and contacts loaded.
        agents: Reasons of agents that are not running now (crashed or stopped).
        consumer: The consumer's fetching, read at each check.
    """

    poll_limit_seconds: float
    ready: Flag
    agents: Callable[[], list[str]] = list
    consumer: Callable[[], ConsumerState] = ConsumerState
    _crashes: list[str] = field(default_factory=list, init=False)
    _load_error: str | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def agent_crashed(self, agent: str, reason: BaseException | None) -> None:
        """Remember a crash for good: Faust restarts the agent, but the batch it
        held may be acknowledged already, so only a fresh process is trusted."""
        with self._lock:
            self._crashes.append(f"agent {agent} crashed: {reason!r}")

    def load_failed(self, exc: BaseException) -> None:
        """Start-up loading raised: the agents will never start processing."""
        self._load_error = f"start-up loading failed: {exc!r}"

    def __call__(self) -> tuple[bool, dict[str, Any]]:
        """The verdict and the details /healthz shows.

        Returns:
            (healthy, details); details hold `reason` when unhealthy.
        """
        ready = self.ready.is_set()
        with self._lock:
            reasons = list(self._crashes)
        reasons += self.agents()
        if self._load_error is not None:
            reasons.append(self._load_error)
        state = self.consumer()
        limit = self.poll_limit_seconds
        fetch, poll = state.seconds_since_fetch, state.seconds_since_poll
        if fetch is not None and fetch > limit:
            reasons.append(
                f"no fetch answered by Kafka for {fetch:.0f}s (limit {limit:.0f}s)"
            )
        # While loading, the agents wait and Faust stops polling once their
        # buffers are full: that is loading, not a stuck consumer.
        if ready and poll is not None and poll > limit:
            reasons.append(
                f"the consumer has not polled for {poll:.0f}s (limit {limit:.0f}s)"
            )
        details: dict[str, Any] = {
            "ready": ready,
            "partitions": state.partitions,
            "seconds_since_fetch": None if fetch is None else round(fetch, 1),
            "seconds_since_poll": None if poll is None else round(poll, 1),
        }
        if reasons:
            details["reason"] = "; ".join(reasons)
        return not reasons, details
