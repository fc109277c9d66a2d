"""What the running Faust app shows about its agents and its consumer, for /healthz.

Read from the metrics server's thread: every read copies before it iterates and
gives up quietly on a structure changing under it (the next probe reads again).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import faust
from mode import OneForOneSupervisor
from mode.types import ServiceT, SupervisorStrategyT

from streams.health import ConsumerState, Flag, WorkerHealth


def recording_supervisor(health: WorkerHealth) -> type[SupervisorStrategyT]:
    """Faust's default agent supervisor, telling `health` of every crash it restarts.

    A crashed actor is replaced within moments, so a later look at the agents
    would not see the crash: the supervisor is the one place that always does.
    """

    class RecordingSupervisor(OneForOneSupervisor):
        async def restart_service(self, service: ServiceT) -> None:
            reason = service.crash_reason
            # Faust restarts an actor cancelled by a rebalance the same way: no crash.
            if not isinstance(reason, asyncio.CancelledError):
                agent = getattr(getattr(service, "agent", None), "name", service)
                health.agent_crashed(str(agent), reason)
            await super().restart_service(service)

    return RecordingSupervisor


def stopped_agents(app: faust.App) -> list[str]:
    """Agents whose actor crashed or whose task ended (with or without an error)
    while the app is not stopping: nothing consumes their topics any more."""
    if app.should_stop:
        return []
    found = []
    for agent in list(app.agents.values()):
        try:
            actors = list(agent._actors)  # type: ignore[attr-defined]
        except RuntimeError:  # the set changed while we copied it
            continue
        for aref in actors:
            task = aref.actor_task
            if aref.crashed:
                found.append(f"agent {agent.name} crashed: {aref.crash_reason!r}")
            elif task is not None and task.done():
                error = None if task.cancelled() else task.exception()
                found.append(
                    f"agent {agent.name} stopped"
                    + (f": {error!r}" if error is not None else "")
                )
    return found


def not_running(
    app: faust.App, followers: Sequence[threading.Thread], ready: Flag
) -> list[str]:
    """Stopped agents, and followers that died once loaded: they are threads beside
    the agents, and without them owners and settings go stale as surely as events
    wait without an agent."""
    found = stopped_agents(app)
    if ready.is_set() and not app.should_stop:
        found += [
            f"{thread.name} stopped following its topic"
            for thread in followers
            if not thread.is_alive()
        ]
    return found


class ConsumerWatch:
    """Reads aiokafka's fetch state behind Faust's consumer.

    aiokafka stamps each partition with the time of the last fetch answer
    (`last_poll_timestamp`) and skips partitions that still hold records Faust has
    not taken, or that are paused: those wait on us, not on Kafka, so they are
    left out. A partition not answered yet counts from when this watch first saw
    it, so a new assignment has the whole limit to get its first answer.
    """

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self._first_seen: dict[Any, float] = {}

    def __call__(self) -> ConsumerState:
        consumer = self._aiokafka()
        if consumer is None:
            return ConsumerState()
        try:
            assigned = list(consumer.assignment())
            holding = set(consumer._fetcher._records)
            subscription = consumer._subscription.subscription
            assignment = subscription.assignment if subscription else None
            idle = consumer._subscription.fetcher_idle_time
        except (AttributeError, RuntimeError):
            return ConsumerState()
        now = time.time()
        self._first_seen = {tp: self._first_seen.get(tp, now) for tp in assigned}
        oldest: float | None = None  # the partition waiting longest for an answer
        for tp in assigned:
            state = assignment.state_value(tp) if assignment is not None else None
            if state is None or tp in holding or state.paused:
                continue
            stamp = state.timestamp / 1000 if state.timestamp else self._first_seen[tp]
            oldest = stamp if oldest is None else min(oldest, stamp)
        return ConsumerState(
            partitions=len(assigned),
            seconds_since_fetch=None if oldest is None else max(0.0, now - oldest),
            seconds_since_poll=idle,
        )

    def _aiokafka(self) -> Any:
        thread = getattr(self.app.consumer, "_thread", None)
        return getattr(thread, "_consumer", None)
