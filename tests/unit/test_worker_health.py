"""The worker's /healthz verdict, one reason at a time, from fake observations."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from streams.faust_state import (
    ConsumerWatch,
    not_running,
    recording_supervisor,
    stopped_agents,
)
from streams.health import ConsumerState, WorkerHealth

LIMIT = 60.0


def _health(ready: bool = True, **kwargs: Any) -> WorkerHealth:
    flag = threading.Event()
    if ready:
        flag.set()
    return WorkerHealth(LIMIT, flag, **kwargs)


def test_a_loaded_worker_that_fetches_is_healthy() -> None:
    ok, details = _health(
        consumer=lambda: ConsumerState(4, seconds_since_fetch=0.2, seconds_since_poll=0)
    )()
    assert ok and details["ready"] is True and "reason" not in details


def test_a_worker_still_loading_is_healthy_but_not_ready() -> None:
    ok, details = _health(
        ready=False,
        consumer=lambda: ConsumerState(4, seconds_since_fetch=1, seconds_since_poll=99),
    )()
    assert ok and details["ready"] is False


def test_a_crashed_agent_makes_the_worker_unhealthy_for_good() -> None:
    health = _health()
    health.agent_crashed("contact_actions", RuntimeError("boom"))
    for _ in range(2):  # still so after Faust restarted the agent
        ok, details = health()
        assert not ok
        reason = "agent contact_actions crashed: RuntimeError('boom')"
        assert details["reason"] == reason


def test_a_stopped_agent_makes_the_worker_unhealthy() -> None:
    ok, details = _health(agents=lambda: ["agent users stopped: SystemExit(3)"])()
    assert not ok and details["reason"] == "agent users stopped: SystemExit(3)"


def test_no_fetch_answer_past_the_limit_makes_the_worker_unhealthy() -> None:
    ok, details = _health(
        consumer=lambda: ConsumerState(4, seconds_since_fetch=61, seconds_since_poll=0)
    )()
    assert not ok
    assert details["reason"] == "no fetch answered by Kafka for 61s (limit 60s)"


def test_no_poll_past_the_limit_once_loaded_makes_the_worker_unhealthy() -> None:
    ok, details = _health(
        consumer=lambda: ConsumerState(4, seconds_since_fetch=1, seconds_since_poll=90)
    )()
    assert not ok
    assert details["reason"] == "the consumer has not polled for 90s (limit 60s)"


def test_failed_start_up_loading_makes_the_worker_unhealthy() -> None:
    health = _health(ready=False)
    health.load_failed(OSError("disk full"))
    ok, details = health()
    assert not ok
    assert details["reason"] == "start-up loading failed: OSError('disk full')"


def test_a_worker_with_nothing_to_fetch_is_healthy() -> None:
    # A replica beyond the partition count, or every partition still holding records.
    ok, _ = _health(consumer=lambda: ConsumerState(0, None, 0.5))()
    assert ok


# --- reading Faust's state ------------------------------------------------------


@dataclass(eq=False)
class _Service:
    """An actor as the supervisor sees it (hashable by identity, like mode's)."""

    agent: Any
    crash_reason: BaseException | None
    supervisor: Any = None


def test_the_supervisor_reports_the_crash_it_restarts() -> None:
    health = _health()
    crashed = _Service(SimpleNamespace(name="activities"), KeyError("x"))
    fresh = _Service(None, None)

    async def replace(service: Any, index: int) -> Any:
        return fresh

    async def restart() -> Any:
        supervisor = recording_supervisor(health)(replacement=replace)
        supervisor.add(crashed)
        await supervisor.restart_service(crashed)
        return supervisor

    supervisor = asyncio.run(restart())
    assert supervisor._services == [fresh]  # Faust's restart still happens
    assert health()[1]["reason"] == "agent activities crashed: KeyError('x')"


def test_an_actor_restarted_after_a_rebalance_cancelled_it_is_no_crash() -> None:
    health = _health()
    cancelled = _Service(SimpleNamespace(name="users"), asyncio.CancelledError())

    async def restart() -> None:
        supervisor = recording_supervisor(health)(replacement=_replace)
        supervisor.add(cancelled)
        await supervisor.restart_service(cancelled)

    asyncio.run(restart())
    assert health()[0]


async def _replace(service: Any, index: int) -> Any:
    return _Service(None, None)


def _app(*actors: Any, stopping: bool = False) -> Any:
    agent = SimpleNamespace(name="users", _actors=set(actors))
    return SimpleNamespace(should_stop=stopping, agents={"users": agent})


@dataclass(eq=False)
class _Actor:
    actor_task: Any
    crashed: bool = False
    crash_reason: BaseException | None = None


def _done_task(error: BaseException | None) -> Any:
    async def run() -> None:
        if error is not None:
            raise error

    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(run())
        loop.run_until_complete(asyncio.wait([task]))
    finally:
        loop.close()
    return task


def test_an_agent_task_ended_with_an_error_is_reported() -> None:
    app = _app(_Actor(_done_task(ValueError("bad"))))
    assert stopped_agents(app) == ["agent users stopped: ValueError('bad')"]


def test_a_crashed_actor_is_reported_and_a_running_one_is_not() -> None:
    running = SimpleNamespace(done=lambda: False)
    app = _app(_Actor(running), _Actor(running, True, RuntimeError("x")))
    assert stopped_agents(app) == ["agent users crashed: RuntimeError('x')"]


def test_agents_of_a_stopping_app_are_not_reported() -> None:
    assert stopped_agents(_app(_Actor(_done_task(None)), stopping=True)) == []


def test_a_follower_thread_that_died_after_loading_is_reported() -> None:
    dead = threading.Thread(target=lambda: None, name="user-directory")
    dead.start()
    dead.join()
    loaded, loading = threading.Event(), threading.Event()
    loaded.set()
    assert not_running(_app(), [dead], loaded) == [
        "user-directory stopped following its topic"
    ]
    assert not_running(_app(), [dead], loading) == []  # not started yet


@dataclass
class _PartitionState:
    timestamp: int | None = None
    paused: bool = False


@dataclass
class _FakeAiokafka:
    """aiokafka's consumer as ConsumerWatch reads it."""

    states: dict[str, _PartitionState]
    holding: set[str] = field(default_factory=set)
    idle: float = 0.0

    def __post_init__(self) -> None:
        assignment = SimpleNamespace(state_value=self.states.get)
        self._fetcher = SimpleNamespace(_records={tp: 1 for tp in self.holding})
        self._subscription = SimpleNamespace(
            subscription=SimpleNamespace(assignment=assignment),
            fetcher_idle_time=self.idle,
        )

    def assignment(self) -> set[str]:
        return set(self.states)


def _watch(consumer: Any) -> ConsumerWatch:
    app = SimpleNamespace(
        consumer=SimpleNamespace(_thread=SimpleNamespace(_consumer=consumer))
    )
    return ConsumerWatch(app)  # type: ignore[arg-type]


def _ms_ago(seconds: float) -> int:
    return int((time.time() - seconds) * 1000)


def test_the_watch_reports_the_partition_waiting_longest_for_a_fetch_answer() -> None:
    consumer = _FakeAiokafka(
        {
            "a": _PartitionState(_ms_ago(2)),
            "b": _PartitionState(_ms_ago(90)),
            "held": _PartitionState(_ms_ago(500)),  # records not yet taken
            "paused": _PartitionState(_ms_ago(500), paused=True),
        },
        holding={"held"},
        idle=3.0,
    )
    state = _watch(consumer)()
    assert state.partitions == 4 and state.seconds_since_poll == 3.0
    assert state.seconds_since_fetch is not None
    assert 89 < state.seconds_since_fetch < 100


def test_a_partition_never_answered_counts_from_when_it_was_first_seen() -> None:
    watch = _watch(_FakeAiokafka({"new": _PartitionState(None)}))
    first = watch().seconds_since_fetch
    assert first is not None and first < 1


def test_the_watch_of_a_consumer_not_started_reports_nothing_to_fetch() -> None:
    app = SimpleNamespace(consumer=SimpleNamespace())
    assert ConsumerWatch(app)() == ConsumerState()  # type: ignore[arg-type]
