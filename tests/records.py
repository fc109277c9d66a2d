"""Salesforce records as the inbound processor receives them (encoded, with origin)."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import Serde

RECORDS_TOPIC = "salesforce.records"
_SERDE = Serde()


def lead_origin(i: int, title: str = "VP Sales") -> Origin:
    """Lead number `i` (Salesforce id `00Q` + i) of a distinct person, encoded."""
    sf_id, now = f"00Q{i:015d}", datetime.now(UTC)
    value = _SERDE.encode(
        "SalesforceRecord",
        {
            "salesforce_id": sf_id,
            "object": "Lead",
            "system_modstamp": now,
            "last_modified": now,
            "in_scope": True,
            "poll_kind": "incremental",
            "polled_at": now,
            "fields": {
                "FirstName": f"F{i}",
                "LastName": f"L{i}",
                "Email": f"p{i}@example.org",
                "Title": title,
            },
        },
    )
    return Origin(RECORDS_TOPIC, 0, i, sf_id.encode(), value, 0)
