"""Fault plans: validation, next-N queues, seeded rates, write-only faults."""

from __future__ import annotations

import pytest

from sandbox.faults import FaultInjector, FaultPlan, FaultPlanError


def test_next_queue_fires_in_order_then_stops() -> None:
    inj = FaultInjector(
        FaultPlan.from_json(
            {
                "next": [
                    {"fault": "SERVER_UNAVAILABLE", "count": 2},
                    {"fault": "DROP_CONNECTION", "count": 1},
                ]
            }
        )
    )
    got = [inj.request_fault(is_write=False) for _ in range(4)]
    assert got == ["SERVER_UNAVAILABLE", "SERVER_UNAVAILABLE", "DROP_CONNECTION", None]
    assert inj.snapshot()["injected"] == {"SERVER_UNAVAILABLE": 2, "DROP_CONNECTION": 1}
    assert inj.snapshot()["next"] == []


def test_record_faults_wait_for_a_record_write() -> None:
    inj = FaultInjector(
        FaultPlan.from_json({"next": [{"fault": "UNABLE_TO_LOCK_ROW", "count": 1}]})
    )
    assert inj.request_fault(is_write=True) is None
    assert inj.record_fault() == "UNABLE_TO_LOCK_ROW"
    assert inj.record_fault() is None


def test_drop_after_write_skips_reads() -> None:
    inj = FaultInjector(
        FaultPlan.from_json({"next": [{"fault": "DROP_AFTER_WRITE", "count": 1}]})
    )
    assert inj.request_fault(is_write=False) is None
    assert inj.request_fault(is_write=True) == "DROP_AFTER_WRITE"


def test_rates_are_reproducible_with_a_seed() -> None:
    plan = {"seed": 7, "rates": {"UNABLE_TO_LOCK_ROW": 0.3}}
    runs = []
    for _ in range(2):
        inj = FaultInjector(FaultPlan.from_json(plan))
        runs.append([inj.record_fault() for _ in range(200)])
    assert runs[0] == runs[1]
    hits = runs[0].count("UNABLE_TO_LOCK_ROW")
    assert 30 < hits < 90


def test_rate_one_always_and_zero_never() -> None:
    inj = FaultInjector(FaultPlan.from_json({"rates": {"SERVER_UNAVAILABLE": 1.0}}))
    assert {inj.request_fault(False) for _ in range(20)} == {"SERVER_UNAVAILABLE"}
    inj = FaultInjector(FaultPlan.from_json({"rates": {"SERVER_UNAVAILABLE": 0.0}}))
    assert {inj.request_fault(False) for _ in range(20)} == {None}


def test_latency() -> None:
    inj = FaultInjector(
        FaultPlan.from_json({"latency_ms": 50, "latency_jitter_ms": 10})
    )
    assert all(0.05 <= inj.latency_seconds() <= 0.06 for _ in range(20))
    assert FaultInjector().latency_seconds() == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"rates": {"NOPE": 0.1}},
        {"rates": {"SERVER_UNAVAILABLE": 2}},
        {"next": [{"fault": "NOPE"}]},
    ],
)
def test_invalid_plans(bad: dict[str, object]) -> None:
    with pytest.raises(FaultPlanError):
        FaultPlan.from_json(bad)


def test_plan_json_round_trip() -> None:
    data = {
        "seed": 3,
        "rates": {"DUPLICATES_DETECTED": 0.5},
        "latency_ms": 1.0,
        "latency_jitter_ms": 0.0,
        "next": [{"fault": "UNKNOWN_EXCEPTION", "count": 2}],
    }
    assert FaultPlan.from_json(data).to_json() == data
