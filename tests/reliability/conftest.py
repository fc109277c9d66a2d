"""Fault-suite fixtures: one size knob, seeded people, and the printed counts table."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.admin import SandboxAdmin
from tests.conftest import REPO
from tests.factories import seed_people
from tests.reliability.checker import OrgRequests, ScenarioCounts

FULL = os.environ.get("ENGAGE_SYNC_FULL") == "1"
REPORT_PATH = REPO / ".engage-sync" / "reliability-report.json"


@dataclass(frozen=True)
class Sizes:
    """How big each scenario runs: the issue's sizes, or a CI-sized cut of them."""

    events: int  # activity events of the fault, kill and limit scenarios
    rate: float  # events per second the publisher sends (the run must span kills)
    writer_kills: int
    worker_kills: int
    fuzzed: int  # fuzzed inputs across every input topic
    secrets_events: int
    sample: int  # Tasks whose fields are compared with the expected format


# The one knob: ENGAGE_SYNC_FULL=1 (make test-full) runs the sizes.
SIZES = (
    Sizes(10_000, 250.0, 10, 5, 10_000, 1_000, 2_000)
    if FULL
    else Sizes(2_000, 150.0, 3, 1, 1_000, 200, 400)
)

_RESULTS: list[ScenarioCounts] = []


@pytest.fixture
def sizes() -> Sizes:
    return SIZES


@pytest.fixture
def admin(sandbox_org: Any) -> Iterator[SandboxAdmin]:
    client = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def people(admin: SandboxAdmin) -> list[str]:
    """Ids of 50 Contacts and 50 Leads the activity events point at."""
    return seed_people(admin)


@pytest.fixture
def org_requests(sandbox_org: Any) -> OrgRequests:
    """Every API request the org received, counted ones and refused ones alike."""
    return OrgRequests.install(sandbox_org)


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[ScenarioCounts], None]:
    """Record a scenario's counts for the table printed at the end of the run."""

    def record(counts: ScenarioCounts) -> None:
        counts.scenario = counts.scenario or request.node.name
        _RESULTS.append(counts)

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.section(f"reliability counts ({'full' if FULL else 'reduced'} sizes)")
    for line in ScenarioCounts.table(_RESULTS):
        tr.write_line(line)
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    body = {"full": FULL, "sizes": asdict(SIZES)}
    body["scenarios"] = [asdict(c) for c in _RESULTS]
    REPORT_PATH.write_text(json.dumps(body, indent=2) + "\n")
    tr.write_line(f"written to {Path(REPORT_PATH).relative_to(REPO)}")
