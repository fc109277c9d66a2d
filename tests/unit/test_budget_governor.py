"""The API budget governor spends a short budget by priority and pauses on the limit."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from connectors.salesforce.budget import Governor, Priority
from ground.settings import BudgetSettings


@dataclass
class FakeUsage:
    """The org's usage and ours, set by each test."""

    used: int = 0
    limit: int = 100_000
    ours: int = 0
    refreshes: int = 0
    refreshed_to: tuple[int, int] | None = None

    def org_usage(self) -> tuple[int, int] | None:
        return (self.used, self.limit)

    def our_calls(self) -> int:
        return self.ours

    def refresh(self) -> None:
        self.refreshes += 1
        if self.refreshed_to is not None:
            self.used, self.limit = self.refreshed_to


@dataclass
class Clock:
    now: float = 1000.0
    waits: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def governor(usage: FakeUsage, clock: Clock, **settings: float) -> Governor:
    values = {"SALESFORCE_API_PROBE_SECONDS": 30.0} | {
        k: v for k, v in settings.items()
    }
    return Governor(BudgetSettings(**values), usage, clock)


def test_every_priority_works_while_the_budget_is_plentiful() -> None:
    g = governor(FakeUsage(used=10_000, ours=5_000), Clock())
    assert all(g.blocked(p) is None for p in Priority)


@pytest.mark.parametrize(
    ("ours", "stopped"),
    [
        (37_499, set()),
        (37_500, {Priority.CONSOLE}),
        (40_000, {Priority.CONSOLE, Priority.BACKFILL}),
        (45_000, {Priority.CONSOLE, Priority.BACKFILL, Priority.POLL}),
        (47_500, {Priority.CONSOLE, Priority.BACKFILL, Priority.POLL, Priority.LINKS}),
        (50_000, set(Priority)),
    ],
)
def test_our_share_runs_out_lowest_priority_first(
    ours: int, stopped: set[Priority]
) -> None:
    # Share 0.5 of 100,000: console reads stop at 75%, backfill 80%, polls 90%,
    # links 95%, Tasks 100%.
    g = governor(FakeUsage(used=ours, ours=ours), Clock())
    assert {p for p in Priority if g.blocked(p) is not None} == stopped
    assert all(g.blocked(p).reason == "share" for p in stopped)  # type: ignore[union-attr]


def test_non_urgent_work_stops_when_the_org_has_under_ten_percent_left() -> None:
    # Other integrations used the org's limit; ours is small.
    g = governor(FakeUsage(used=91_000, ours=100), Clock())
    blocked = {p: g.blocked(p) for p in Priority}
    assert blocked[Priority.POLL] is not None
    assert blocked[Priority.POLL].reason == "org-reserve"
    assert blocked[Priority.BACKFILL] is not None
    assert blocked[Priority.CONSOLE] is not None
    assert blocked[Priority.TASKS] is None
    assert blocked[Priority.LINKS] is None


def test_limit_exceeded_blocks_everything_until_the_probe_interval_passed() -> None:
    clock = Clock()
    g = governor(FakeUsage(), clock)
    g.limit_exceeded()
    assert g.blocked(Priority.TASKS) is not None
    assert g.blocked(Priority.TASKS).reason == "limit-exceeded"  # type: ignore[union-attr]
    clock.now += 29
    assert g.blocked(Priority.TASKS) is not None
    clock.now += 2
    assert g.blocked(Priority.TASKS) is None


def test_acquire_waits_through_the_caller_and_counts_one_pause() -> None:
    clock = Clock()
    usage = FakeUsage(used=100_000, ours=50_000, refreshed_to=None)
    g = governor(usage, clock)

    def wait(seconds: float) -> None:
        clock.wait(seconds)
        if clock.now > 1100:  # the rolling 24 h window frees calls
            usage.ours, usage.used = 1_000, 60_000

    g.acquire(Priority.TASKS, wait)
    assert g.pauses == 1
    assert g.paused is None
    assert clock.waits and max(clock.waits) <= 5.0
    assert usage.refreshes >= 1  # usage re-read while paused, not guessed


def test_without_usage_figures_nothing_is_blocked() -> None:
    class Unknown(FakeUsage):
        def org_usage(self) -> tuple[int, int] | None:
            return None

    g = governor(Unknown(), Clock())
    assert g.blocked(Priority.BACKFILL) is None
