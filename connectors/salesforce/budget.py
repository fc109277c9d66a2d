"""The API budget governor: our share of the org's daily limit, spent by priority."""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ground import metrics
from ground.settings import BudgetSettings

log = logging.getLogger(__name__)


class Priority(enum.IntEnum):
    """Who gets the last calls of a short budget: lower numbers first."""

    TASKS = 0  # activity Task writes
    LINKS = 1  # matching, creating and the two write-backs
    POLL = 2  # incremental polls
    BACKFILL = 3  # Poll Historical Data
    CONSOLE = 4  # reads for Engage's screens (a cached copy can stand in)


# Per priority: the fraction of OUR share it may use, and the fraction of the ORG's
# limit (in units of SALESFORCE_API_ORG_RESERVE) that must stay free for it to run.
# Other integrations share the org's limit; when it runs out, everything on it stops.
_SHARE_STOP = {
    Priority.TASKS: 1.00,
    Priority.LINKS: 0.95,
    Priority.POLL: 0.90,
    Priority.BACKFILL: 0.80,
    Priority.CONSOLE: 0.75,
}
_RESERVE_FACTOR = {
    Priority.TASKS: 0.0,
    Priority.LINKS: 0.5,
    Priority.POLL: 1.0,
    Priority.BACKFILL: 2.0,
    Priority.CONSOLE: 3.0,
}


class UsageSource(Protocol):
    """What the governor reads: the org's usage and our calls in the last 24 h."""

    def org_usage(self) -> tuple[int, int] | None: ...

    def our_calls(self) -> int: ...

    def refresh(self) -> None: ...


@dataclass(frozen=True)
class Blocked:
    reason: str  # limit-exceeded | share | org-reserve
    detail: str


class Governor:
    """Decides, before each Salesforce call, whether work of a priority may spend it."""

    def __init__(
        self,
        settings: BudgetSettings,
        usage: UsageSource,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings, self.usage, self.clock = settings, usage, clock
        self._exhausted_at: float | None = None
        self._refreshed_at = clock()
        self._lock = threading.Lock()
        self.pauses = 0
        self.paused: str | None = None

    def limit_exceeded(self) -> None:
        """Salesforce answered REQUEST_LIMIT_EXCEEDED: stop every call until a probe."""
        with self._lock:
            self._exhausted_at = self.clock()

    def blocked(self, priority: Priority) -> Blocked | None:
        """Why `priority` may not call Salesforce now, or None when it may."""
        now = self.clock()
        with self._lock:
            if self._exhausted_at is not None:
                if now - self._exhausted_at < self.settings.probe_seconds:
                    return Blocked("limit-exceeded", "the org's daily limit is spent")
                # Probe time: let one real call through; a refusal costs nothing.
                self._exhausted_at = None
        found = self.usage.org_usage()
        if found is None:
            return None
        used, limit = found
        if limit <= 0:
            return None
        reserve = self.settings.org_reserve * _RESERVE_FACTOR[priority]
        left = (limit - used) / limit
        if reserve and left < reserve:
            return Blocked(
                "org-reserve",
                f"the org has {left:.1%} of its daily API limit left "
                f"(this work stops under {reserve:.0%})",
            )
        allowance = self.settings.share * limit * _SHARE_STOP[priority]
        ours = self.usage.our_calls()
        if ours >= allowance:
            return Blocked(
                "share",
                f"engage-sync used {ours:,} calls in 24 h; this work stops at "
                f"{allowance:,.0f} (SALESFORCE_API_BUDGET_SHARE="
                f"{self.settings.share})",
            )
        return None

    def acquire(
        self,
        priority: Priority,
        wait: Callable[[float], None],
        process: str = "writer",
    ) -> None:
        """Return once `priority` may call; `wait(seconds)` keeps the caller alive."""
        blocked = self.blocked(priority)
        if blocked is None:
            return
        self._pause(blocked, process)
        while blocked is not None:
            wait(min(5.0, self.settings.probe_seconds))
            if self.clock() - self._refreshed_at >= self.settings.probe_seconds:
                self._refresh()
            blocked = self.blocked(priority)
            metrics.BUDGET_RECHECKS.labels(process).inc()
        self._resume(process)

    def _refresh(self) -> None:
        self._refreshed_at = self.clock()
        try:
            self.usage.refresh()
        except Exception as exc:  # noqa: BLE001 - a failed probe only means "not yet"
            if "REQUEST_LIMIT_EXCEEDED" in str(exc):
                self.limit_exceeded()
            log.debug("API usage refresh failed: %s", exc)

    def _pause(self, blocked: Blocked, process: str) -> None:
        self.pauses += 1
        self.paused = blocked.reason
        metrics.BUDGET_PAUSES.labels(process, blocked.reason).inc()
        metrics.BUDGET_PAUSED.labels(process).set(1)
        log.warning("paused Salesforce work: %s", blocked.detail)

    def _resume(self, process: str) -> None:
        self.paused = None
        metrics.BUDGET_PAUSED.labels(process).set(0)
        log.warning("resumed Salesforce work: the API budget allows it again")
