"""Replay's --since/--until forms and its half-open time window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.kafka.window import TimeWindow
from engage_sync.commands.replay import BadTimestamp, parse_instant

NOW = datetime(2024, 5, 14, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-3h", NOW - timedelta(hours=3)),
        ("-90m", NOW - timedelta(minutes=90)),
        ("-45s", NOW - timedelta(seconds=45)),
        ("-2d", NOW - timedelta(days=2)),
        ("-1.5h", NOW - timedelta(minutes=90)),
        ("now", NOW),
    ],
)
def test_relative_forms_count_back_from_now(text: str, expected: datetime) -> None:
    assert parse_instant(text, NOW) == expected


def test_iso_timestamp_without_zone_is_read_as_utc() -> None:
    assert parse_instant("2024-05-14T09:30:00", NOW) == datetime(
        2024, 5, 14, 9, 30, tzinfo=UTC
    )


def test_iso_timestamp_keeps_its_zone() -> None:
    found = parse_instant("2024-05-14T09:30:00+02:00", NOW)
    assert found == datetime(2024, 5, 14, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert found == datetime(2024, 5, 14, 7, 30, tzinfo=UTC)
    assert parse_instant("2024-05-14T09:30:00Z", NOW) == datetime(
        2024, 5, 14, 9, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["yesterday", "3h", "-3x", "+3h", "2024-13-01"])
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(BadTimestamp, match="relative to now"):
        parse_instant(text, NOW)


def test_window_includes_its_start_and_excludes_its_end() -> None:
    window = TimeWindow(since_ms=1000, until_ms=2000)
    assert [window.contains(t) for t in (999, 1000, 1999, 2000)] == [
        False,
        True,
        True,
        False,
    ]


def test_window_without_end_is_open() -> None:
    assert TimeWindow(since_ms=1000).contains(10**15)
    assert not TimeWindow(since_ms=1000).contains(999)
