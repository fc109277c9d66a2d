"""Which object an id names; how the pipeline reads Salesforce datetimes and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.ids import object_of
from domain.timestamps import epoch_millis, parse_date, parse_datetime


@pytest.mark.parametrize(
    ("record_id", "expected"),
    [
        ("00Q000000000001AAA", "Lead"),
        ("00Q000000000001", "Lead"),
        ("003000000000001AAA", "Contact"),
        ("001000000000001AAA", None),  # an Account
        ("00T000000000001AAA", None),  # a Task
        ("", None),
        (None, None),
    ],
)
def test_object_of_names_the_person_object_by_id_prefix(
    record_id: str | None, expected: str | None
) -> None:
    assert object_of(record_id) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # As the REST API writes it.
        ("2024-01-02T03:04:05.000+0000", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123Z", datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T04:04:05.000+01:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-01T22:04:05.000-0500", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        # No offset means UTC; digits past the millisecond are dropped.
        ("2024-01-02 03:04", datetime(2024, 1, 2, 3, 4, tzinfo=UTC)),
        (
            "2024-01-02T03:04:05.123999+0000",
            datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),
        ),
        (" 2024-01-02T03:04:05.000+0000 ", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        # A date field's value is not a datetime: parse_date reads it.
        ("2024-01-02", None),
        ("2024-02-30T00:00:00Z", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_datetime_reads_salesforce_datetimes_in_utc_to_the_millisecond(
    text: str | None, expected: datetime | None
) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02", date(2024, 1, 2)),
        ("2024-02-30", None),
        ("2024-01-02T03:04:05Z", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_reads_date_fields_only(
    text: str | None, expected: date | None
) -> None:
    assert parse_date(text) == expected


def test_epoch_millis_counts_milliseconds_since_the_epoch() -> None:
    assert epoch_millis("2024-01-02T03:04:05.123+0000") == 1704164645123
    assert epoch_millis("") is None
