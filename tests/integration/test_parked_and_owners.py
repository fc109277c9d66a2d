"""Parked activities are written once their contact links; owners follow user links."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.contacts.normalize import normalize_email
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.contact_sync import publish
from tests.factories import call_event, contact_event, contact_ref
from tests.integration.test_contact_linking import _settings
from tests.waiting import wait_until


def _tasks(admin: SandboxAdmin) -> list[dict[str, Any]]:
    return admin.records("Task")


def test_parked_activities_are_written_exactly_once_after_their_contact_links(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    _settings(kafka_settings, "create_lead")
    topics = Topics(kafka_settings)
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    calls = [
        call_event(
            contact=contact_ref(
                engage_contact_id=f"p{i % 30}",
                salesforce_id=None,
                email=f"parked{i % 30}@new.example",
            )
        )
        for i in range(90)
    ]
    publish(kafka_settings, topics.calls.name, "CallLogged", calls)
    from tests.kafka_helpers import read_topic

    parked = read_topic(kafka_settings, topics.parked.name, expect=90, timeout=120)
    assert len(parked) == 90 and _tasks(admin) == []
    adds = [
        contact_event(
            "ADDED", f"p{i}", email=f"parked{i}@new.example", last_name=f"P{i}"
        )
        for i in range(30)
    ]
    publish(kafka_settings, topics.contact_actions.name, "ContactEvent", adds)
    wait_until(
        lambda: len(_tasks(admin)) >= 90, 120, interval=1.0, what="90 released Tasks"
    )
    tasks = _tasks(admin)
    per_event = Counter(t["Engage_Activity_Id__c"] for t in tasks)
    assert (
        set(per_event) == {c["event_id"] for c in calls}
        and max(per_event.values()) == 1
    )
    leads = {normalize_email(r["Email"]): r["Id"] for r in admin.records("Lead")}
    for call, task in zip(
        sorted(calls, key=lambda c: c["event_id"]),
        sorted(tasks, key=lambda t: t["Engage_Activity_Id__c"]),
        strict=True,
    ):
        assert task["WhoId"] == leads[normalize_email(call["contact"]["email"])]
    print(f"\nparked: 90 activities for 30 unlinked contacts -> 30 Leads created, "
          f"{len(tasks)} Tasks written, max per event {max(per_event.values())}")


def test_writer_killed_during_creates_leaves_no_duplicate_lead(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    _settings(kafka_settings, "create_lead")
    env = (
        kafka_env(kafka_settings)
        | salesforce_env(sandbox_org)
        | {"WRITER_BATCH_SIZE": "20"}
    )
    processes.start("worker", env)
    writer = processes.start("writer", env, name="writer-1")
    adds = [
        contact_event(
            "ADDED", f"k{i}", email=f"kill{i}@new.example", last_name=f"K{i}"
        )
        for i in range(300)
    ]
    publish(
        kafka_settings,
        Topics(kafka_settings).contact_actions.name,
        "ContactEvent",
        adds,
    )
    wait_until(
        lambda: admin.stats()["records"].get("Lead", 0) >= 60, 120, what="60 Leads"
    )
    processes.kill9(writer)
    at_kill = admin.stats()["records"].get("Lead", 0)
    processes.start("writer", env, name="writer-2")
    wait_until(
        lambda: admin.stats()["records"].get("Lead", 0) >= 300, 180, what="300 Leads"
    )
    emails = Counter(normalize_email(r["Email"]) for r in admin.records("Lead"))
    assert len(emails) == 300 and max(emails.values()) == 1
    print(
        f"\nwriter killed after {at_kill} of 300 Lead creates; "
        f"after restart 300 Leads, "
        f"0 duplicates"
    )


def test_disconnected_users_tasks_go_to_the_integration_user_or_are_held(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    (who,) = admin.put_records(
        "Contact", [{"LastName": "Owner", "Email": "o@x.example"}]
    )["ids"]
    owner, static_owner = admin.put_records(
        "User",
        [
            {
                "LastName": "Rep",
                "Username": "rep@x.example",
                "Email": "rep@x.example",
                "Alias": "rep",
            },
            {
                "LastName": "Static",
                "Username": "st@x.example",
                "Email": "st@x.example",
                "Alias": "st",
            },
        ],
    )["ids"]
    _settings(
        kafka_settings,
        "none",
        f"  unmapped_user_tasks: hold\nusers: {{u7: {static_owner}}}",
    )
    topics = Topics(kafka_settings)
    now = datetime.now(UTC)
    users = [
        {"event_id": "ue1", "occurred_at": now, "user_id": "u1", "action": "CONNECTED",
         "salesforce_user_id": owner},
        {"event_id": "ue2", "occurred_at": now, "user_id": "u2", "action": "CONNECTED",
         "salesforce_user_id": owner},
        {"event_id": "ue3", "occurred_at": now, "user_id": "u2", "action": "DELETED",
         "salesforce_user_id": None},
    ]
    publish(kafka_settings, topics.users.name, "UserEvent", users)
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    ref = contact_ref(engage_contact_id="o1", salesforce_id=who)
    mapped = call_event(user_id="u1", contact=ref)
    static = call_event(user_id="u7", contact=ref)
    deleted = call_event(user_id="u2", contact=ref)
    publish(kafka_settings, topics.calls.name, "CallLogged", [mapped, static, deleted])
    wait_until(lambda: len(_tasks(admin)) >= 2, 120, what="2 Tasks")
    from connectors.kafka.serde import Serde
    from tests.kafka_helpers import read_topic

    held = [Serde().decode("ParkedActivity", r.value)
            for r in read_topic(kafka_settings, topics.parked.name, expect=1)]
    by_event = {t["Engage_Activity_Id__c"]: t for t in _tasks(admin)}
    assert by_event[mapped["event_id"]]["OwnerId"] == owner
    assert by_event[static["event_id"]]["OwnerId"] == static_owner
    assert deleted["event_id"] not in by_event
    assert [(h["event_id"], h["reason"]) for h in held] == [
        (deleted["event_id"], "user-not-connected")
    ]


def test_activity_history_switched_off_for_contacts_skips_their_tasks(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    (lead,) = admin.put_records("Lead", [{"LastName": "L", "Company": "A"}])["ids"]
    (contact,) = admin.put_records("Contact", [{"LastName": "C"}])["ids"]
    _settings(
        kafka_settings, "none", "  write_activity_history: {Lead: true, Contact: false}"
    )
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    to_lead = [
        call_event(contact=contact_ref(engage_contact_id="a", salesforce_id=lead))
        for _ in range(5)
    ]
    to_contact = [
        call_event(contact=contact_ref(engage_contact_id="b", salesforce_id=contact))
        for _ in range(5)
    ]
    publish(
        kafka_settings,
        Topics(kafka_settings).calls.name,
        "CallLogged",
        to_contact + to_lead,
    )
    wait_until(lambda: len(_tasks(admin)) >= 5, 120, what="the Lead's 5 Tasks")
    assert {t["WhoId"] for t in _tasks(admin)} == {lead}
    assert len(_tasks(admin)) == 5


def test_emailing_a_salesforce_contact_copies_it_into_engage(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    from tests.factories import email_event
    from tests.inbound_harness import engage_copy

    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    (who,) = admin.put_records(
        "Contact",
        [{"FirstName": "Grace", "LastName": "Hopper", "Email": "grace@navy.example"}],
    )["ids"]
    _settings(kafka_settings, "none")
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    sent = [
        email_event(
            event_type="SENT",
            contact=contact_ref(
                engage_contact_id="g1",
                salesforce_id=who,
                first_name=None,
                last_name=None,
            ),
        )
        for _ in range(3)
    ]
    publish(kafka_settings, Topics(kafka_settings).emails.name, "EmailEvent", sent)
    copy = wait_until(
        lambda: engage_copy(kafka_settings).get("g1"), 120, what="the copy"
    )
    assert copy["salesforce_id"] == who and copy["salesforce_object"] == "Contact"
    assert (copy["first_name"], copy["last_name"]) == ("Grace", "Hopper")
    wait_until(lambda: len(_tasks(admin)) == 3, 60, what="3 Tasks")


def _user_on_the_partition_of(user: str, partitions: int) -> str:
    """Another user id whose events land on `user`'s partition (keyed by user id,
    librdkafka's default partitioner: CRC-32 of the key), so they are read after."""
    import zlib

    target = zlib.crc32(user.encode()) % partitions
    return next(
        u
        for u in (f"marker-{i}" for i in range(10_000))
        if zlib.crc32(u.encode()) % partitions == target
    )


def test_held_tasks_are_released_once_with_the_new_owner_when_the_user_connects(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    from tests.kafka_helpers import read_topic

    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    (who,) = admin.put_records("Contact", [{"LastName": "Held"}])["ids"]
    owner, later_owner = admin.put_records(
        "User",
        [
            {
                "LastName": f"R{i}",
                "Username": f"r{i}@x.example",
                "Email": f"r{i}@x.example",
                "Alias": f"r{i}",
            }
            for i in range(2)
        ],
    )["ids"]
    _settings(kafka_settings, "none", "  unmapped_user_tasks: hold")
    topics = Topics(kafka_settings)
    held, marker_user = "u9", _user_on_the_partition_of("u9", kafka_settings.partitions)

    def user_event(user: str, action: str, sf_user: str | None) -> dict[str, Any]:
        return {
            "event_id": f"{user}-{action}-{sf_user}",
            "occurred_at": datetime.now(UTC),
            "user_id": user,
            "action": action,
            "salesforce_user_id": sf_user,
        }

    publish(
        kafka_settings,
        topics.users.name,
        "UserEvent",
        [user_event(u, "DISCONNECTED", None) for u in (held, marker_user)],
    )
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    ref = contact_ref(engage_contact_id="h1", salesforce_id=who)
    calls = [call_event(user_id=held, contact=ref) for _ in range(6)]
    marker = call_event(user_id=marker_user, contact=ref)
    publish(kafka_settings, topics.calls.name, "CallLogged", [*calls, marker])
    parked = read_topic(kafka_settings, topics.parked.name, expect=7, timeout=120)
    assert {Serde().decode("ParkedActivity", r.value)["reason"] for r in parked} == {
        "user-not-connected"
    }
    assert _tasks(admin) == []

    publish(
        kafka_settings, topics.users.name, "UserEvent",
        [user_event(held, "CONNECTED", owner)],
    )
    wait_until(lambda: len(_tasks(admin)) >= 6, 120, what="6 released Tasks")
    by_event = Counter(t["Engage_Activity_Id__c"] for t in _tasks(admin))
    assert by_event == Counter(c["event_id"] for c in calls)
    assert {t["OwnerId"] for t in _tasks(admin)} == {owner}

    # A second CONNECTED (now another Salesforce user) releases nothing again: had it
    # re-sent the Tasks, their owner would move to `later_owner`. The marker user's
    # CONNECTED comes after it on the same partition, its Task on the same parent:
    # once the marker's Task exists, anything the second CONNECTED caused is written.
    publish(
        kafka_settings, topics.users.name, "UserEvent",
        [user_event(held, "CONNECTED", later_owner),
         user_event(marker_user, "CONNECTED", owner)],
    )
    wait_until(lambda: len(_tasks(admin)) >= 7, 120, what="the marker's Task")
    tasks = _tasks(admin)
    assert Counter(t["Engage_Activity_Id__c"] for t in tasks) == Counter(
        c["event_id"] for c in [*calls, marker]
    )
    assert {t["OwnerId"] for t in tasks} == {owner}
