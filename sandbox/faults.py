"""Fault injection: a JSON "fault plan" of rates, latency and next-N failures."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Faults decided once per /services/data request.
REQUEST_FAULTS = (
    "SERVER_UNAVAILABLE",  # 503 list body
    "UNKNOWN_EXCEPTION",  # 500 list body
    "REQUEST_LIMIT_EXCEEDED",  # 403, as if the daily limit were hit
    "INVALID_SESSION_ID",  # expire every access token now, answer 401
    "DROP_CONNECTION",  # close the socket before doing anything
    "DROP_AFTER_WRITE",  # do the work (commit), then close without answering
)
# Faults decided once per record written (single calls, collections, composite).
RECORD_FAULTS = (
    "UNABLE_TO_LOCK_ROW",
    "DUPLICATES_DETECTED",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
)
ALL_FAULTS = REQUEST_FAULTS + RECORD_FAULTS
INJECTED_VALIDATION_MESSAGE = "Injected validation failure"


class FaultPlanError(ValueError):
    """A fault plan that cannot be used."""


@dataclass
class FaultPlan:
    seed: int = 0
    rates: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    next: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> FaultPlan:
        data = dict(data or {})
        rates = {str(k): float(v) for k, v in (data.get("rates") or {}).items()}
        for name, rate in rates.items():
            if name not in ALL_FAULTS:
                raise FaultPlanError(f"unknown fault: {name}")
            if not 0.0 <= rate <= 1.0:
                raise FaultPlanError(f"rate for {name} must be within 0..1")
        queue = []
        for entry in data.get("next") or []:
            name = entry.get("fault")
            if name not in ALL_FAULTS:
                raise FaultPlanError(f"unknown fault: {name}")
            queue.append({"fault": name, "count": int(entry.get("count", 1))})
        return cls(
            int(data.get("seed", 0)),
            rates,
            float(data.get("latency_ms", 0)),
            float(data.get("latency_jitter_ms", 0)),
            queue,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "rates": dict(self.rates),
            "latency_ms": self.latency_ms,
            "latency_jitter_ms": self.latency_jitter_ms,
            "next": [dict(e) for e in self.next],
        }


class FaultInjector:
    """Thread-safe decisions drawn from a seeded RNG, so runs are reproducible."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.set_plan(plan or FaultPlan())

    def set_plan(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data = self.plan.to_json()
            data["injected"] = dict(self.injected)
            return data

    def latency_seconds(self) -> float:
        with self._lock:
            extra = (
                self._rng.uniform(0, self.plan.latency_jitter_ms)
                if self.plan.latency_jitter_ms
                else 0.0
            )
            return max(0.0, self.plan.latency_ms + extra) / 1000.0

    def _take_next(self, allowed: tuple[str, ...]) -> str | None:
        # Only the head of the queue is eligible: "next N" entries fire in order.
        if not self.plan.next or self.plan.next[0]["fault"] not in allowed:
            return None
        head = self.plan.next[0]
        head["count"] -= 1
        if head["count"] <= 0:
            self.plan.next.pop(0)
        return str(head["fault"])

    def _draw(self, allowed: tuple[str, ...]) -> str | None:
        name = self._take_next(allowed)
        if name is None:
            for candidate in allowed:
                rate = self.plan.rates.get(candidate, 0.0)
                if rate and self._rng.random() < rate:
                    name = candidate
                    break
        if name is not None:
            self.injected[name] += 1
        return name

    def request_fault(self, is_write: bool) -> str | None:
        """Fault for a whole request; DROP_AFTER_WRITE only fires on writes."""
        allowed = (
            REQUEST_FAULTS
            if is_write
            else tuple(f for f in REQUEST_FAULTS if f != "DROP_AFTER_WRITE")
        )
        with self._lock:
            return self._draw(allowed)

    def record_fault(self) -> str | None:
        """Fault for one record about to be written."""
        with self._lock:
            return self._draw(RECORD_FAULTS)
