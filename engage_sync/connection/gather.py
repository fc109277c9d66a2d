"""The Connection page's data, gathered once for the page, `GET /api/v1/status` and
`engage-sync status`: the org, our API share, users, polls, lag and dead letters.

Read-only: it reads topics to their fetched ends and asks Salesforce a few
questions (`/limits`, Organization, the integration user, describe per object); it
writes nothing, joins no group and publishes no API usage. Each part is gathered on
its own, so one that fails (the org unreachable, a topic missing) is shown as that
part's error while the others still answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from connectors.salesforce import access
from engage_sync.connection.model import (
    ApiCalls,
    DeadLetterReason,
    GroupLagRow,
    LastPoll,
    ObjectAccess,
    Org,
    Status,
    UserConnection,
)
from ground.settings import BudgetSettings, KafkaSettings, SalesforceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

# The objects the pipeline reads or writes: the permission check covers each.
OBJECTS = ("Lead", "Contact", "Account", "Task")


def _part(errors: dict[str, str], name: str, work: Callable[[], T]) -> T | None:
    """`work()`, or None with the failure recorded as one line under `name`."""
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - shown on the page, the rest goes on
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        errors[name] = f"{type(exc).__name__}: {line}"[:500]
        log.info("status part %s failed: %s", name, errors[name])
        return None


def _ms(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def gather(
    kafka: KafkaSettings,
    salesforce: SalesforceSettings | None,
    budget: BudgetSettings,
) -> Status:
    """The Connection page's data as it is now.

    Args:
        kafka: where the topics are.
        salesforce: how to reach the org; None when it is not configured (the org
            parts are then reported as not configured).
        budget: our share of the org's daily API limit.

    Returns:
        The status; a part that could not be read is empty and named in `errors`.
    """
    from connectors.kafka.ends import TopicReader

    errors: dict[str, str] = {}
    status = Status(taken_at=datetime.now(UTC), api=ApiCalls(our_share=budget.share))
    reader = _part(errors, "kafka", lambda: TopicReader.open(kafka, stall_timeout=10))
    if reader is not None:
        try:
            _kafka_parts(kafka, reader, status, errors)
        finally:
            reader.close()
    if salesforce is None:
        errors["salesforce"] = "Salesforce is not configured (SALESFORCE_* settings)"
    else:
        _salesforce_parts(salesforce, status, errors)
    if status.api.org_limit is not None:
        status.api.our_allowance = int(budget.share * status.api.org_limit)
    status.errors = errors
    return status


def _kafka_parts(
    kafka: KafkaSettings, reader: Any, status: Status, errors: dict[str, str]
) -> None:
    status.users = _part(errors, "users", lambda: users(kafka, reader)) or []
    status.polls = _part(errors, "polls", lambda: last_polls(kafka)) or []
    status.lag = _part(errors, "lag", lambda: lag(kafka, reader)) or []
    status.dead_letters = (
        _part(errors, "dead_letters", lambda: dead_letters(kafka, reader)) or []
    )
    status.api.our_calls_24h = _part(
        errors, "api_usage", lambda: our_calls(kafka, reader)
    )


def users(kafka: KafkaSettings, reader: Any) -> list[UserConnection]:
    """The latest event of every Engage user on the compacted `engage.users`."""
    from connectors.kafka.serde import DecodeError, Serde
    from connectors.kafka.snapshot import latest_values
    from connectors.kafka.topics import Topics

    serde = Serde.for_kafka(kafka)
    out = []
    for key, value in latest_values(reader, Topics(kafka).users.name).items():
        try:
            event = serde.decode("UserEvent", value)
        except DecodeError:
            # Bad input is the worker's to dead-letter; here it is only not shown.
            log.info("status: undecodable user event under key %r", key)
            continue
        out.append(
            UserConnection(
                user_id=event["user_id"],
                action=event["action"],
                salesforce_user_id=event["salesforce_user_id"],
                occurred_at=_ms(event["occurred_at"]),
            )
        )
    return sorted(out, key=lambda u: u.user_id)


def last_polls(kafka: KafkaSettings) -> list[LastPoll]:
    """Every poller cursor (incremental and history) from `engage.poller.state`."""
    from connectors.salesforce.cursor import CursorStore

    # Loading writes nothing (the store makes its producer at the first save).
    store = CursorStore(kafka).load()
    return sorted(
        (
            LastPoll(
                object=c.object,
                kind=c.kind,
                position=_ms(c.stamp_ms),
                last_id=c.last_id,
                done=c.done,
            )
            for c in store.all()
        ),
        key=lambda p: (p.object, p.kind),
    )


def lag(kafka: KafkaSettings, reader: Any) -> list[GroupLagRow]:
    """Each consumer group of the pipeline with its summed lag (`engage-sync lag`)."""
    from connectors.kafka.lag import group_lag

    return [
        GroupLagRow(
            group=g.group,
            state=g.state,
            members=g.members,
            lag=g.total_lag,
            lag_seconds=round(g.max_lag_seconds, 1),
        )
        for g in group_lag(kafka, reader=reader)
    ]


def dead_letters(kafka: KafkaSettings, reader: Any) -> list[DeadLetterReason]:
    """Dead letters counted by reason (`engage-sync dlq list`), biggest first."""
    from connectors.kafka.dlq_reader import read_dead_letters, summarize
    from connectors.kafka.topics import Topics

    by_reason: dict[str, DeadLetterReason] = {}
    for g in summarize(read_dead_letters(reader, Topics(kafka).dlq.name)):
        seen = _ms(g.last_ms)
        row = by_reason.setdefault(
            g.reason, DeadLetterReason(reason=g.reason, count=0, last_seen=seen)
        )
        row.count += g.count
        row.last_seen = max(row.last_seen, seen)
    return sorted(by_reason.values(), key=lambda r: (-r.count, r.reason))


def our_calls(kafka: KafkaSettings, reader: Any) -> int:
    """Salesforce calls of every engage-sync process in the last 24 hours."""
    from connectors.salesforce.usage import UsageLedger

    # Never started: it reads the others' counts and publishes nothing of its own.
    return UsageLedger(kafka, "status").read(reader).total()


def _salesforce_parts(
    settings: SalesforceSettings, status: Status, errors: dict[str, str]
) -> None:
    from connectors.salesforce.client import SalesforceClient

    client = _part(errors, "salesforce", lambda: SalesforceClient(settings).connect())
    if client is None:
        return
    status.org = _part(errors, "org", lambda: org(client, settings)) or Org(
        instance_url=settings.instance_url or settings.login_url
    )
    usage = _part(errors, "api_limits", client.refresh_usage)
    if usage is not None:
        status.api.org_used, status.api.org_limit = usage
    status.permissions = (
        _part(
            errors, "permissions", lambda: object_access(client)
        )
        or []
    )


def org(client: Any, settings: SalesforceSettings) -> Org:
    """The org (Organization: id, name, edition) and the integration user."""
    from connectors.salesforce.soql import quote

    rows = list(
        client.query_all(
            "SELECT Id, Name, OrganizationType, IsSandbox FROM Organization"
        )
    )
    found = Org(instance_url=f"https://{client.sf.sf_instance}")
    if rows:
        row = rows[0]
        found.org_id, found.name = row.get("Id"), row.get("Name")
        found.edition, found.is_sandbox = (
            row.get("OrganizationType"),
            row.get("IsSandbox"),
        )
    if settings.username:
        users = list(
            client.query_all(
                "SELECT Id, Username, Name FROM User WHERE Username = "
                + quote(settings.username)
            )
        )
        found.integration_user = settings.username
        found.integration_user_id = users[0].get("Id") if users else None
    return found


def object_access(client: Any) -> list[ObjectAccess]:
    """Read / create / edit per object for the integration user: one global describe,
    read as the start-up access check reads it."""
    listing = client.request("GET", "sobjects")
    out = []
    for sobject in OBJECTS:
        flags = access.granted(listing, sobject)
        out.append(
            ObjectAccess(
                object=sobject,
                read=flags["read"],
                create=flags["create"],
                edit=flags["edit"],
            )
        )
    return out


class CachedStatus:
    """`gather` at most once per `seconds` (each costs a few Salesforce calls)."""

    def __init__(self, gather_now: Callable[[], Status], seconds: float) -> None:
        self._gather, self.seconds = gather_now, seconds
        self._cached: tuple[float, Status] | None = None

    def __call__(self) -> Status:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] >= self.seconds:
            self._cached = (now, self._gather())
        return self._cached[1]
