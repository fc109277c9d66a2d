"""Poll Historical Data: resumable backfill of the records that match the sync rules."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from connectors.salesforce import soql
from connectors.salesforce.budget import Governor, Priority
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.cursor import Cursor, CursorStore
from connectors.salesforce.poller import Describes, RecordPublisher, now_ms
from connectors.salesforce.records import query_fields, to_record
from domain.crm_settings.models import CrmSettings, ObjectName
from domain.rules.evaluate import predicate

PAGE_SIZE = 2000


class BackfillRefused(ValueError):
    """The backfill would sync every record and `--all` was not given."""


class BackfillPaused(RuntimeError):
    """The API budget is short: the backfill stopped cleanly and resumes later."""


def backfill_calls(matching: int) -> int:
    """API calls a backfill of `matching` records costs: the count, the describe,
    and one query page per 2,000 records (at least one)."""
    return 2 + max(1, math.ceil(matching / PAGE_SIZE))


@dataclass
class Plan:
    object: str
    matching: int
    api_calls: int  # the count query, describe, and one call per page of the backfill


@dataclass
class Done:
    object: str
    published: int
    api_calls: int
    resumed: bool


class Backfill:
    """Pages in `(SystemModstamp, Id)` order, saving its position after each page."""

    def __init__(
        self,
        client: SalesforceClient,
        publisher: RecordPublisher,
        cursors: CursorStore,
        governor: Governor | None = None,
    ) -> None:
        self.client, self.publisher, self.cursors = client, publisher, cursors
        self.governor = governor
        self.describes = Describes(client)

    def _where(self, obj: ObjectName, crm: CrmSettings, allow_all: bool) -> str | None:
        rules = crm.objects[obj].rules if obj in crm.objects else None
        if rules is None:
            if not allow_all:
                raise BackfillRefused(
                    f"{obj} has no sync rules, so this would sync every {obj} in "
                    "Salesforce; set rules first (the guide's advice) or pass --all"
                )
            return None
        return soql.where_clause(rules, self.describes.types(obj))

    def plan(self, obj: ObjectName, crm: CrmSettings, allow_all: bool = False) -> Plan:
        where = self._where(obj, crm, allow_all)
        matching = self.client.count(soql.count(obj, where))
        return Plan(obj, matching, backfill_calls(matching))

    def run(
        self,
        obj: ObjectName,
        crm: CrmSettings,
        allow_all: bool = False,
        on_page: Callable[[int], None] | None = None,
        total: int | None = None,
    ) -> Done:
        """Publish every matching record after the history cursor, page by page.

        Args:
            obj: The object to backfill.
            crm: The settings in force (rules, mapping).
            allow_all: Allow a backfill without rules (every record).
            on_page: Called with each page's row count, after its cursor is saved.
            total: The records matching now (`plan`), kept on the cursor beside
                its `read` count, so progress can be read back from Kafka.

        Returns:
            What this run published and the API calls it made.

        Raises:
            BackfillRefused: No rules and `allow_all` is False.
            BackfillPaused: The API budget is short; the cursor is saved.
        """
        calls_before = self.client.calls
        where = self._where(obj, crm, allow_all)
        types = self.describes.types(obj)
        in_scope = predicate(crm.objects[obj].rules, types)
        wanted = query_fields(obj, crm)
        cursor = self.cursors.get("history", obj)
        resumed = cursor is not None and not cursor.done
        if cursor is None or cursor.done:
            cursor = Cursor(obj, "history", 0, None, started_ms=now_ms(), total=total)
            self.cursors.save(cursor)
        elif total is not None:
            cursor = replace(cursor, total=total)
            self.cursors.save(cursor)
        parts = [f"({where})"] if where else []
        if cursor.last_id is not None:
            at = soql.datetime_literal(
                datetime.fromtimestamp(cursor.stamp_ms / 1000, UTC)
            )
            parts.append(
                f"(SystemModstamp > {at} OR "
                f"(SystemModstamp = {at} AND Id > {soql.quote(cursor.last_id)}))"
            )
        query = soql.select(
            obj,
            wanted,
            where=" AND ".join(parts) or None,
            order_by=["SystemModstamp", "Id"],
        )
        published = 0
        for page in self.client.query_pages(query):
            rows = page.get("records", [])
            last: dict[str, Any] | None = None
            for row in rows:
                last = to_record(obj, row, wanted, in_scope, "history")
                self.publisher.publish(last)
            if last is not None:
                self.publisher.flush()
                cursor = replace(
                    cursor.advanced(
                        int(last["system_modstamp"].timestamp() * 1000),
                        last["salesforce_id"],
                        frozenset(),
                    ),
                    read=cursor.read + len(rows),
                )
                self.cursors.save(cursor)
                published += len(rows)
            if on_page:
                on_page(len(rows))
            blocked = (
                self.governor.blocked(Priority.BACKFILL) if self.governor else None
            )
            if blocked is not None and page.get("nextRecordsUrl"):
                # Lowest priority: stop between pages; the cursor is saved up to here.
                raise BackfillPaused(
                    f"{obj} backfill paused after {published:,} record(s): "
                    f"{blocked.detail}; run the same command later to resume"
                )
        self.cursors.save(replace(cursor, done=True))
        started = cursor.started_ms or now_ms()
        incremental = self.cursors.get("incremental", obj)
        if incremental is None or incremental.stamp_ms < started:
            # Whatever changed while the backfill ran is the incremental poll's to read.
            self.cursors.save(Cursor(obj, "incremental", started))
        return Done(obj, published, self.client.calls - calls_before, resumed)
