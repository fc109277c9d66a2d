"""The demo org's sales reps are Users the org accepts as Task owners."""

from __future__ import annotations

import pytest

from engage_sync.demo import DEMO_USERS
from sandbox.admin_records import AdminRecords
from sandbox.dml import Dml, WriteOptions
from sandbox.errors import ApiError
from sandbox.seed import REP_DOMAIN, REPS, seed

# The `users` entry of the example CRM settings: a placeholder no org has.
EXAMPLE_OWNER = "005000000000001AAA"


def test_demo_seed_has_a_rep_for_every_demo_user(admin: AdminRecords) -> None:
    seeded = seed(admin, 2, 3, 1, reps=len(REPS))
    assert len(seeded["users"]) == len(REPS) >= len(DEMO_USERS)
    users = {rid: admin.state.store.get(rid) for rid in seeded["users"]}
    assert all(found is not None for found in users.values())
    assert all(
        found[1]["Username"].endswith(REP_DOMAIN) for found in users.values() if found
    )


def test_reps_are_seeded_after_every_other_record(admin: AdminRecords) -> None:
    """Ids come from one org-wide sequence: seeding reps last keeps every other demo
    record's id what it was before reps existed."""
    seeded = seed(admin, 3, 3, 5, reps=2)
    sequence = lambda rid: rid[6:15]  # noqa: E731 - base62, ASCII-ordered
    others = seeded["leads"] + seeded["contacts"] + seeded["accounts"]
    assert min(map(sequence, seeded["users"])) > max(map(sequence, others))


def test_a_rep_owns_a_task_but_the_example_placeholder_is_refused(
    admin: AdminRecords, dml: Dml
) -> None:
    seeded = seed(admin, 1, 1, 1, reps=1)
    who = seeded["contacts"][0]
    created = dml.create(
        "Task",
        {"Subject": "Call", "WhoId": who, "OwnerId": seeded["users"][0]},
        WriteOptions(),
    )
    assert created.startswith("00T")
    with pytest.raises(ApiError) as refused:
        dml.create(
            "Task",
            {"Subject": "Call", "WhoId": who, "OwnerId": EXAMPLE_OWNER},
            WriteOptions(),
        )
    assert refused.value.error_code == "INVALID_CROSS_REFERENCE_KEY"
