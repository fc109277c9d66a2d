"""The poller's /healthz: a long poll that keeps reading pages is alive."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from connectors.salesforce.cursor import Cursor
from connectors.salesforce.poller import IncrementalPoller, PollerLoop
from domain.crm_settings.document import parse_document
from ground.settings import KafkaSettings

CRM = parse_document("objects: {Lead: {sync: true}}\n")


class _Cursors:
    def get(self, kind: str, obj: str) -> Cursor:
        return Cursor(obj, kind, int(time.time() * 1000) - 60_000)

    def save(self, cursor: Cursor) -> None: ...


class _Publisher:
    def publish(self, record: dict[str, Any]) -> None: ...

    def flush(self) -> None: ...


class _Org:
    """A Salesforce client whose query runs long: the test looks at /healthz
    between two of its rows, as a probe would during a poll of a big burst."""

    calls = 0

    def __init__(self) -> None:
        self.loop: PollerLoop | None = None
        self.seen: list[bool] = []

    def describe(self, obj: str) -> dict[str, Any]:
        return {"fields": []}

    def query_all(self, query: str, include_deleted: bool = False) -> Iterator[dict]:
        assert self.loop is not None
        for i in range(3):
            # The loop turned last when this poll began, ten minutes ago.
            self.loop.last_tick = time.monotonic() - 600
            if i:
                self.seen.append(self.loop.health()[0])
            yield {
                "Id": f"00Q{i:015d}",
                "SystemModstamp": "2026-01-01T00:00:00.000+0000",
                "LastName": "L",
            }


def test_a_poll_that_keeps_reading_rows_is_healthy_however_long_it_runs() -> None:
    org = _Org()
    poller = IncrementalPoller(
        KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9"),
        org,  # type: ignore[arg-type]
        _Cursors(),  # type: ignore[arg-type]
    )
    poller.publisher = _Publisher()  # type: ignore[assignment]
    loop = PollerLoop(poller, follower=None)  # type: ignore[arg-type]
    org.loop = loop
    assert poller.poll("Lead", CRM).published == 3
    assert org.seen == [True, True]


def test_a_poller_that_neither_turns_nor_reads_is_unhealthy() -> None:
    poller = IncrementalPoller(
        KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9"),
        _Org(),  # type: ignore[arg-type]
        _Cursors(),  # type: ignore[arg-type]
    )
    loop = PollerLoop(poller, follower=None)  # type: ignore[arg-type]
    loop.last_tick = poller.last_progress = time.monotonic() - 700
    ok, details = loop.health()
    assert not ok and details["seconds_since_loop"] >= 700
