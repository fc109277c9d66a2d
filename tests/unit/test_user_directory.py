"""Task owners: mapped users, the integration user after a disconnect, or held."""

from __future__ import annotations

import pytest

from domain.crm_settings.document import parse_document
from ground.settings import KafkaSettings
from streams.users.directory import UserDirectory


def _directory(extra: str = "") -> UserDirectory:
    crm = parse_document(
        "objects: {Lead: {sync: false}}\nusers: {u7: 005000000000009AAA}\n" + extra
    )
    return UserDirectory(
        KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1"), lambda: crm
    )


def test_a_connected_user_owns_their_tasks() -> None:
    d = _directory()
    d.apply("u1", "CONNECTED", "005000000000001AAA")
    assert d.owner("u1") == ("user", "005000000000001AAA")


def test_the_settings_map_is_used_when_no_event_says_otherwise() -> None:
    assert _directory().owner("u7") == ("user", "005000000000009AAA")


def test_an_unknown_user_falls_back_to_the_integration_user() -> None:
    assert _directory().owner("nobody") == ("integration", None)


@pytest.mark.parametrize("action", ["DISCONNECTED", "DELETED"])
def test_after_a_disconnect_tasks_go_to_the_integration_user_by_default(
    action: str,
) -> None:
    d = _directory()
    d.apply("u7", action, None)  # even a statically mapped user loses the link
    assert d.owner("u7") == ("integration", None)


@pytest.mark.parametrize("action", ["DISCONNECTED", "DELETED"])
def test_after_a_disconnect_tasks_are_held_when_settings_say_hold(action: str) -> None:
    d = _directory("sync_settings: {unmapped_user_tasks: hold}\n")
    d.apply("u1", "CONNECTED", "005000000000001AAA")
    d.apply("u1", action, None)
    assert d.owner("u1") == ("hold", None)


def test_reconnecting_restores_ownership() -> None:
    d = _directory()
    d.apply("u1", "DELETED", None)
    d.apply("u1", "CONNECTED", "005000000000002AAA")
    assert d.owner("u1") == ("user", "005000000000002AAA")
