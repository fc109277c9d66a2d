"""The Kafka ACLs each engage-sync role needs, as README "ACLs each role needs" lists
them, and a way to grant them (tests run every role as its own SASL user on a
broker that enforces ACLs, so a missing ACL fails the test)."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from connectors.kafka import clients
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings


@dataclass(frozen=True)
class Grant:
    """Operations allowed on one resource (a name, or a name prefix)."""

    resource: str  # "topic", "group" or "cluster"
    name: str
    operations: tuple[str, ...]
    prefixed: bool = False


def _topics(names: list[str], *operations: str) -> list[Grant]:
    return [Grant("topic", name, operations) for name in names]


def role_grants(settings: KafkaSettings) -> dict[str, list[Grant]]:
    """Role -> what it needs; names carry the deployment's topic and group prefix."""
    t, g = Topics(settings), settings.group_prefix
    groups = [Grant("group", g, ("READ", "DESCRIBE"), prefixed=True)]
    # Roles that run ensure_topics at start must see every topic.
    see_all = [
        Grant("topic", f"{t.prefix}{family}.", ("DESCRIBE",), prefixed=True)
        for family in ("engage", "salesforce")
    ]
    snapshot = [t.settings.name]  # read to its end by writing markers: READ + WRITE
    worker_reads = [t.calls, t.emails, t.contact_actions, t.records, t.links]
    worker_state = [t.users, t.parked, t.contacts, t.accounts]
    return {
        "topics": [
            Grant("topic", f"{t.prefix}{f}.", ("CREATE", "DESCRIBE"), prefixed=True)
            for f in ("engage", "salesforce")
        ],
        "worker": groups
        + see_all
        + _topics([s.name for s in worker_reads], "READ")
        # results: the worker answers an add of an already-linked contact itself
        + _topics([t.commands.name, t.results.name, t.dlq.name], "WRITE")
        + _topics([s.name for s in worker_state] + snapshot, "READ", "WRITE")
        # faust's leader topic, which faust creates itself: <app id>-__assignor-__leader
        + [
            Grant(
                "topic",
                f"{settings.group('worker')}-",
                ("CREATE", "READ", "WRITE"),
                prefixed=True,
            )
        ],
        "writer": groups
        + see_all
        + _topics([t.commands.name], "READ")
        + _topics([t.results.name, t.links.name, t.dlq.name], "WRITE")
        + _topics([t.api_usage.name, *snapshot], "READ", "WRITE"),
        "poller": groups
        + see_all
        + _topics([t.records.name], "WRITE")
        + _topics([t.poller_state.name, t.api_usage.name, *snapshot], "READ", "WRITE"),
        "settings": groups + see_all + _topics(snapshot, "READ", "WRITE"),
        "lag": groups
        + [
            Grant("topic", f"{t.prefix}{family}.", ("READ",), prefixed=True)
            for family in ("engage", "salesforce")
        ],
        "dlq": groups + _topics([t.dlq.name, t.resubmissions.name], "READ"),
        "replay": groups + see_all + _topics([t.calls.name], "READ"),
        "contacts": groups + _topics([t.contacts.name], "READ", "WRITE"),
        # The test's own clients: everything (creates topics, reads all to scan them).
        "admin": [
            Grant("cluster", "kafka-cluster", ("ALL",)),
            Grant("topic", "*", ("ALL",)),
            Grant("group", "*", ("ALL",)),
        ],
    }


_RESOURCES = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "cluster": ResourceType.BROKER,
}


def grant(superuser: KafkaSettings, principal: str, grants: list[Grant]) -> None:
    """Create the ACLs for `User:<principal>` as `superuser` (a super-user listener)."""
    bindings = [
        AclBinding(
            _RESOURCES[g.resource],
            g.name,
            ResourcePatternType.PREFIXED if g.prefixed else ResourcePatternType.LITERAL,
            f"User:{principal}",
            "*",
            AclOperation[op],
            AclPermissionType.ALLOW,
        )
        for g in grants
        for op in g.operations
    ]
    admin = clients.admin(superuser)
    for future in admin.create_acls(bindings, request_timeout=30).values():
        future.result(timeout=30)
