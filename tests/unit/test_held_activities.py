"""Activities held for a user who is not connected are written, once each, with the
owner of the CONNECTED event; none is lost to a park racing the release."""

from __future__ import annotations

import threading
from typing import Any

from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.crm_settings.document import parse_document
from ground.settings import KafkaSettings
from streams.activity.processor import ActivityProcessor, Context
from streams.users.directory import UserDirectory
from tests.factories import call_event, contact_ref
from tests.ports import MemoryParkedIndex, RecordingProducer

WHO, OWNER, OTHER = "0035e00000AbCdEEAV", "005000000000001AAA", "005000000000002AAA"
KAFKA = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
CRM = parse_document(
    "objects: {Contact: {sync: false}}\nsync_settings: {unmapped_user_tasks: hold}\n"
)


def _processor(
    users: Any = None,
) -> tuple[ActivityProcessor, RecordingProducer, Any]:
    users = users or UserDirectory(KAFKA, lambda: CRM)
    producer = RecordingProducer()
    context = Context(users=users, settings=lambda: CRM, parked=MemoryParkedIndex())
    return ActivityProcessor(Topics(KAFKA), Serde(), producer, context), producer, users


def _call(user: str = "u1", who: str | None = WHO) -> dict[str, Any]:
    return call_event(
        user_id=user, contact=contact_ref(engage_contact_id="ec-1", salesforce_id=who)
    )


def _tasks(processor: ActivityProcessor, producer: RecordingProducer) -> list[dict]:
    topic = processor.topics.commands.name
    return [
        c["fields"]
        for c in producer.decoded(topic, "SalesforceCommand")
        if c["sobject"] == "Task"
    ]


def _route(processor: ActivityProcessor, event: dict[str, Any]) -> bool:
    return processor.route(event, "CallLogged", processor.topics.calls.name)


def test_a_held_call_is_released_once_with_the_connected_users_owner() -> None:
    processor, producer, users = _processor()
    users.apply("u1", "DISCONNECTED", None)
    call = _call()
    _route(processor, call)
    assert _tasks(processor, producer) == []
    users.apply("u1", "CONNECTED", OWNER)

    assert processor.release_held("u1") == 1
    (task,) = _tasks(processor, producer)
    assert (task["Engage_Activity_Id__c"], task["OwnerId"]) == (call["event_id"], OWNER)
    parked_topic = processor.topics.parked.name
    assert producer.sent[-1] == (parked_topic, None, call["event_id"].encode())
    assert processor.context.parked.items == {}

    users.apply("u1", "CONNECTED", OTHER)  # a second CONNECTED
    assert processor.release_held("u1") == 0
    assert len(_tasks(processor, producer)) == 1


def test_releasing_one_user_leaves_another_users_activities_held() -> None:
    processor, producer, users = _processor()
    for user in ("u1", "u2"):
        users.apply(user, "DISCONNECTED", None)
        _route(processor, _call(user))
    users.apply("u1", "CONNECTED", OWNER)
    assert processor.release_held("u1") == 1
    assert processor.release_held() == 0  # u2 is still on hold
    (held,) = processor.context.parked.items.values()
    assert held["activity"]["user_id"] == "u2"


def test_the_start_up_release_writes_every_user_connected_meanwhile() -> None:
    processor, producer, users = _processor()
    for user in ("u1", "u2", "u3"):
        users.apply(user, "DISCONNECTED", None)
        _route(processor, _call(user))
    users.apply("u1", "CONNECTED", OWNER)
    users.apply("u2", "CONNECTED", OTHER)
    assert processor.release_held() == 2
    owners = {t["OwnerId"] for t in _tasks(processor, producer)}
    assert owners == {OWNER, OTHER}


class _AttemptLock:
    """The context's lock, telling when another thread starts waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.waiting = threading.Event()

    def __enter__(self) -> None:
        if threading.current_thread().name == "release":
            self.waiting.set()
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class _SlowLookup:
    """A directory whose owner look-up for the call stops halfway, so the release
    can start exactly between the look-up ("on hold") and the park."""

    def __init__(self, directory: UserDirectory) -> None:
        self.directory = directory
        self.looked_up, self.go = threading.Event(), threading.Event()

    def owner(self, user_id: str) -> Any:
        found = self.directory.owner(user_id)
        if threading.current_thread().name == "route":
            self.looked_up.set()
            assert self.go.wait(10)
        return found

    def apply(self, *args: Any) -> None:
        self.directory.apply(*args)


def test_a_call_parked_while_its_user_connects_is_released_not_lost() -> None:
    lookup = _SlowLookup(UserDirectory(KAFKA, lambda: CRM))
    processor, producer, _ = _processor(lookup)
    lock = _AttemptLock()
    processor.context.link_lock = lock  # type: ignore[assignment]
    lookup.apply("u1", "DISCONNECTED", None)
    call = _call()
    route = threading.Thread(target=_route, args=(processor, call), name="route")
    route.start()
    assert lookup.looked_up.wait(10)  # the call is found "on hold", not parked yet
    lookup.apply("u1", "CONNECTED", OWNER)  # the directory sees the user connect
    release = threading.Thread(target=processor.release_held, args=("u1",))
    release.name = "release"
    release.start()
    assert lock.waiting.wait(10)  # the release waits for the park to finish
    lookup.go.set()
    route.join(10)
    release.join(10)
    (task,) = _tasks(processor, producer)
    assert (task["Engage_Activity_Id__c"], task["OwnerId"]) == (call["event_id"], OWNER)
    assert processor.context.parked.items == {}


def test_a_linked_contacts_activity_whose_user_is_held_stays_parked() -> None:
    processor, producer, users = _processor()
    users.apply("u1", "DISCONNECTED", None)
    call = _call(who=None)
    _route(processor, call)  # parked: the contact has no Salesforce id yet
    assert processor.release("ec-1", WHO) == 0  # linked, but its user is on hold
    (held,) = processor.context.parked.items.values()
    assert held["reason"] == "user-not-connected"
    parked_topic = processor.topics.parked.name
    last = [v for t, v, k in producer.sent if t == parked_topic][-1]
    assert last is not None, "the re-park must not be followed by a tombstone"

    users.apply("u1", "CONNECTED", OWNER)
    assert processor.release_held("u1") == 1
    (task,) = _tasks(processor, producer)
    assert (task["WhoId"], task["OwnerId"]) == (WHO, OWNER)


class _Message:
    def __init__(self, value: bytes, offset: int) -> None:
        self._value, self._offset = value, offset

    def value(self) -> bytes:
        return self._value

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset


def test_the_directory_applies_each_event_once_when_it_reads_the_topic_again() -> None:
    # Its follower reads engage.users from the start after `load` read it all: an
    # old CONNECTED read again must neither undo a later DISCONNECTED nor release.
    directory = UserDirectory(KAFKA, lambda: CRM)
    serde = Serde()

    def event(action: str, sf_user: str | None, offset: int) -> _Message:
        value = serde.encode(
            "UserEvent",
            {
                "event_id": f"e{offset}",
                "occurred_at": call_event()["occurred_at"],
                "user_id": "u1",
                "action": action,
                "salesforce_user_id": sf_user,
            },
        )
        return _Message(value, offset)

    history = [event("CONNECTED", OWNER, 0), event("DISCONNECTED", None, 1)]
    for msg in history:
        assert directory._apply(msg) == "u1"
    assert [directory._apply(msg) for msg in history] == [None, None]
    assert directory.owner("u1") == ("hold", None)
    assert directory._apply(event("CONNECTED", OTHER, 2)) == "u1"
    assert directory.owner("u1") == ("user", OTHER)


def test_the_parked_index_finds_a_users_held_activities_one_per_event() -> None:
    from streams.activity.parking import ParkedIndex

    index = ParkedIndex(KAFKA)

    def parked(event_id: str, user: str, reason: str) -> dict[str, Any]:
        activity = {"user_id": user, "contact": {"engage_contact_id": "ec-1"}}
        return {
            "event_id": event_id,
            "reason": reason,
            "engage_contact_id": "ec-1",
            "activity": activity,
        }

    index.add(parked("a", "u1", "contact-not-linked"))
    index.add(parked("b", "u2", "user-not-connected"))
    index.add(parked("a", "u1", "user-not-connected"))  # parked again, for its user
    assert [i["event_id"] for i in index.held("user-not-connected", "u1")] == ["a"]
    assert sorted(i["event_id"] for i in index.held("user-not-connected")) == [
        "a",
        "b",
    ]
    assert index.count() == 2 and index.reason("ec-1", "a") == "user-not-connected"
    index.remove("a")
    assert index.held("user-not-connected", "u1") == []
    assert [i["event_id"] for i in index.for_contact("ec-1")] == ["b"]
