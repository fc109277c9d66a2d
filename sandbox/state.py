"""The mutable state of one running org, shared by the REST, OAuth and admin layers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sandbox.access import OrgAccess, api_schema
from sandbox.faults import FaultInjector
from sandbox.metadata import OrgConfig, Schema
from sandbox.rules import RuleSet
from sandbox.store import Store

_MAX_CURSORS = 500


@dataclass
class Credentials:
    client_id: str
    client_secret: str
    username: str
    password: str
    org_id: str
    user_id: str
    jwt_public_key_pem: bytes


@dataclass
class OrgState:
    store: Store
    schema: Schema
    rules: RuleSet
    faults: FaultInjector
    creds: Credentials
    daily_limit: int
    page_size: int
    token_ttl: float | None
    url: str = ""
    cursors: OrderedDict[str, list[dict[str, Any]]] = field(default_factory=OrderedDict)
    cursor_lock: threading.Lock = field(default_factory=threading.Lock)
    access: OrgAccess = field(default_factory=OrgAccess)
    # The schema as the API user sees it (their permissions applied); see access.py.
    api_schema: Schema = field(init=False)

    def __post_init__(self) -> None:
        self.api_schema = api_schema(self.schema, self.access)

    def set_config(self, config: OrgConfig) -> None:
        self.schema = Schema(config)
        self.api_schema = api_schema(self.schema, self.access)
        self.store.set_setting("config", config.to_json())

    def set_access(self, access: OrgAccess) -> None:
        self.access = access
        self.api_schema = api_schema(self.schema, access)
        self.store.set_setting("access", access.to_json())

    def set_rules(self, rules: RuleSet) -> None:
        self.rules = rules
        self.store.set_setting("rules", rules.to_json())

    def set_daily_limit(self, limit: int) -> None:
        self.daily_limit = limit
        self.store.set_setting("daily_limit", limit)

    def api_usage(self) -> int:
        return self.store.counter("api_usage")

    def save_cursor(self, key: str, rows: list[dict[str, Any]]) -> None:
        # Cursors only live in memory: after a restart a locator answers
        # INVALID_QUERY_LOCATOR, as an expired one does on a real org.
        with self.cursor_lock:
            self.cursors[key] = rows
            while len(self.cursors) > _MAX_CURSORS:
                self.cursors.popitem(last=False)

    def cursor(self, key: str) -> list[dict[str, Any]] | None:
        with self.cursor_lock:
            return self.cursors.get(key)
