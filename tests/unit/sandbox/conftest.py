"""Fixtures: an in-process org state on a temporary SQLite store (no HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import ids
from sandbox.admin_api import ensure_integration_user
from sandbox.admin_records import AdminRecords
from sandbox.auth import token_endpoint
from sandbox.dml import Dml
from sandbox.faults import FaultInjector
from sandbox.metadata import Schema
from sandbox.rules import RuleSet
from sandbox.server import SandboxApp
from sandbox.state import Credentials, OrgState
from sandbox.store import Store


@pytest.fixture
def state(tmp_path: Path) -> Iterator[OrgState]:
    schema = Schema()
    store = Store(tmp_path / "org.sqlite3", schema.external_id_fields())
    creds = Credentials(
        "cid",
        "secret",
        "user@example.com",
        "pw",
        ids.make_id("00D", 7),
        ids.make_id("005", 9),
        b"",
    )
    st = OrgState(
        store,
        schema,
        RuleSet(),
        FaultInjector(),
        creds,
        1000,
        2000,
        None,
        url="https://127.0.0.1:1",
    )
    ensure_integration_user(st)
    yield st
    store.close()


@pytest.fixture
def dml(state: OrgState) -> Dml:
    return Dml(state)


@pytest.fixture
def admin(dml: Dml) -> AdminRecords:
    return AdminRecords(dml)


@pytest.fixture
def app(state: OrgState) -> SandboxApp:
    return SandboxApp(state)


@pytest.fixture
def bearer(state: OrgState) -> dict[str, str]:
    c = state.creds
    token = token_endpoint(
        state,
        {
            "grant_type": "password",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "username": c.username,
            "password": c.password,
        },
        None,
    )["access_token"]
    return {"Authorization": f"Bearer {token}"}
