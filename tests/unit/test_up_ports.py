"""`up` gives each child its own port, even when the usual ones are taken."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from engage_sync.up import pick_ports


@pytest.fixture
def taken() -> Iterator[dict[str, int]]:
    """Two ports bound by someone else (as another test's worker would)."""
    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    try:
        yield {f"role{i}": s.getsockname()[1] for i, s in enumerate(sockets)}
    finally:
        for s in sockets:
            s.close()


def test_roles_whose_usual_port_is_taken_get_distinct_free_ones(
    taken: dict[str, int],
) -> None:
    ports = pick_ports(taken, tuple(f"other{i}" for i in range(20)))

    assert len(set(ports.values())) == len(ports) == 22
    assert not set(ports.values()) & set(taken.values())


def test_a_free_usual_port_is_kept() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert pick_ports({"worker": free}, ("sandbox-api",))["worker"] == free
