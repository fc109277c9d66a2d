"""`up`'s demo settings own Tasks by real users; its status reads without a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.crm_settings.document import parse_document
from engage_sync.demo import DEMO_USERS, demo_settings
from engage_sync.status import plain_line

EXAMPLE = (
    Path(__file__).parents[2] / "engage_sync" / "examples" / "crm-settings.example.yaml"
)


def rep_factory(n: int) -> list[dict[str, Any]]:
    return [{"Id": f"0055e00000000{i}AAA", "Username": f"r{i}@x"} for i in range(n)]


def test_demo_settings_map_every_demo_user_to_a_rep_of_the_org(
    tmp_path: Path,
) -> None:
    reps = rep_factory(3)
    written = demo_settings(EXAMPLE, reps, tmp_path / "demo.yaml")
    settings = parse_document(written.read_text(), str(written))
    assert settings.users == {u: r["Id"] for u, r in zip(DEMO_USERS, reps, strict=True)}
    # Everything else is the example's: same objects, rules and sync settings.
    example = parse_document(EXAMPLE.read_text(), str(EXAMPLE))
    assert settings.model_copy(update={"users": example.users}) == example


def test_demo_settings_share_reps_when_the_org_has_fewer(tmp_path: Path) -> None:
    written = demo_settings(EXAMPLE, rep_factory(1), tmp_path / "demo.yaml")
    users = parse_document(written.read_text(), str(written)).users
    assert set(users) == set(DEMO_USERS) and set(users.values()) == {
        rep_factory(1)[0]["Id"]
    }


def test_demo_settings_without_reps_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no sales reps"):
        demo_settings(EXAMPLE, [], tmp_path / "demo.yaml")


def test_plain_status_line_carries_every_count_on_one_line() -> None:
    snapshot: dict[str, object] = {
        "events in": 120,
        "Tasks written": 100,
        "dead letters": 2,
        "deliberate bad events": 2,
        "writer API budget": "ok",
    }
    line = plain_line(snapshot, 15.2)
    assert line == (
        "status at 15s: events in 120; Tasks written 100; dead letters 2; "
        "deliberate bad events 2; writer API budget ok"
    )
    assert "\n" not in line
