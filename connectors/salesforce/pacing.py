"""How the writer waits: backoff, the budget governor, pauses that keep the group."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer

from connectors.salesforce.budget import Governor, Priority
from connectors.salesforce.errors import Problem, RetriableError, ThrottledError
from connectors.salesforce.outcomes import WriterStats
from ground import metrics

log = logging.getLogger(__name__)

# How long a starting writer waits out 503s and dropped connections before it stops.
STARTUP_PATIENCE_SECONDS = 120.0


class Stopping(Exception):
    """SIGTERM during a retry wait: leave without committing (the batch is redone)."""


class Backoff:
    """Exponential backoff with full jitter and a cap."""

    def __init__(self, base: float = 0.2, cap: float = 30.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def next(self) -> float:
        self.attempt += 1
        return random.uniform(0, min(self.cap, self.base * 2**self.attempt))  # noqa: S311


class Pacer:
    """Every wait of one writer: retries, budget pauses, start-up; all stoppable."""

    def __init__(
        self,
        governor: Governor,
        stats: WriterStats,
        stop_event: threading.Event,
        max_backoff: float,
        consumer: Callable[[], Consumer | None],
    ) -> None:
        self.governor, self.stats, self.stop_event = governor, stats, stop_event
        self.max_backoff, self._consumer = max_backoff, consumer
        # When a wait last turned: a writer waiting on purpose is alive, not stuck.
        self.last_tick = time.monotonic()

    def backoff(self) -> Backoff:
        return Backoff(cap=self.max_backoff)

    def retrying(self, work: Callable[[], None], priority: Priority) -> None:
        """Run work until it gets through transient trouble; it must be safe to redo."""
        backoff = self.backoff()
        while True:
            self.acquire(priority)
            try:
                work()
                return
            except ThrottledError as exc:
                self.throttled(exc.problem)
            except RetriableError as exc:
                self.retry_wait(backoff, exc.problem)

    def acquire(self, priority: Priority) -> None:
        pauses = self.governor.pauses
        self.governor.acquire(priority, lambda s: self.wait(s, None))
        self.stats.budget_pauses += self.governor.pauses - pauses

    def throttled(self, problem: Problem) -> None:
        # The org's limit (or the concurrent-request limit) is spent: the governor
        # holds every call until a probe gets through; no busy loop, nothing skipped.
        self.stats.throttled += 1
        metrics.RETRIES.labels(problem.code).inc()
        self.governor.limit_exceeded()

    def retry_wait(self, backoff: Backoff, problem: Problem | None) -> None:
        self.stats.retries += 1
        metrics.RETRIES.labels(problem.code if problem else "record").inc()
        self.wait(backoff.next(), problem)

    def wait(self, seconds: float, problem: Problem | None) -> None:
        """Back off without leaving the group: pause fetching and keep polling."""
        if problem is not None:
            log.warning(
                "Salesforce %s (%s); retrying in %.1fs",
                problem.code,
                problem.message[:120],
                seconds,
            )
        consumer = self._consumer()
        assert consumer is not None
        consumer.pause(consumer.assignment())
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                self.last_tick = time.monotonic()
                if self.stop_event.is_set():
                    raise Stopping
                consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
        finally:
            consumer.resume(consumer.assignment())

    def startup(self, connect: Callable[[], None]) -> None:
        """Run `connect` (log in, read the contract); transient trouble is waited out.

        A 503 or dropped connection right after a restart must not stop the writer,
        but an org that stays unreachable does, with one line, after a bounded wait.
        """
        backoff = self.backoff()
        deadline = time.monotonic() + STARTUP_PATIENCE_SECONDS
        while True:
            try:
                connect()
                return
            except ThrottledError as exc:
                delay = self.governor.settings.probe_seconds
                problem = exc.problem
            except RetriableError as exc:
                if time.monotonic() >= deadline:
                    raise
                delay, problem = backoff.next(), exc.problem
            log.warning(
                "Salesforce not ready at start (%s: %s); retrying in %.1fs",
                problem.code, problem.message[:120], delay,
            )
            if self.stop_event.wait(delay):
                raise Stopping
