"""Realistic activity traffic (issue 14 item 2) and its publication.

100,000 activities (a tenth under BENCH_QUICK): 80% calls with sentiment and
comments, 20% email events of all eight kinds, for 5,000 contacts — 3,750 linked and
in Engage's copy, 1,250 linked but not in it (the copy-on-first-contact path), each
event carrying the Salesforce id — plus 2% for unlinked contacts (parked) and 1% bad
events (dead letters).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.contacts.models import EngageContact
from ground.settings import KafkaSettings
from tests.factories import (
    CALL_RESULTS,
    EMAIL_TYPES,
    call_event,
    contact_ref,
    email_event,
)

CONTACTS = 5_000
IN_COPY = 3_750
UNLINKED_SHARE = 0.02
BAD_SHARE = 0.01
CALL_SHARE = 0.8
SENTIMENTS = (
    "BAD_TIMING",
    "NOT_INTERESTED",
    "REQUEST_FOR_CALLBACK",
    "NEXT_STEP_BOOKED",
    None,
)


@dataclass(frozen=True)
class Traffic:
    """Encoded messages by topic, with what they should lead to."""

    calls: list[tuple[bytes, bytes]]
    emails: list[tuple[bytes, bytes]]
    copy: list[EngageContact]
    expected_tasks: int
    expected_parked: int
    expected_bad: int
    expected_copies: int

    @property
    def events(self) -> int:
        return len(self.calls) + len(self.emails)

    @property
    def outputs(self) -> int:
        """What the worker writes for it: commands, parked, dead letters."""
        return (
            self.expected_tasks
            + self.expected_parked
            + self.expected_bad
            + self.expected_copies
        )


def _sf_id(i: int) -> str:
    prefix = "003" if i % 4 else "00Q"  # a quarter of them Leads
    return f"{prefix}{i:012d}AAA"


def _person(i: int, linked: bool = True) -> dict[str, Any]:
    return contact_ref(
        engage_contact_id=f"ec-{i}",
        salesforce_id=_sf_id(i) if linked else None,
        email=f"person{i}@example.org",
        first_name=f"First{i}",
        last_name=f"Last{i}",
        phone=f"+1415{200 + i // 10_000 % 800:03d}{i % 10_000:04d}",
        company=f"Company {i % 300}",
    )


def _copy_of(i: int) -> EngageContact:
    sf_id = _sf_id(i)
    return EngageContact(
        engage_contact_id=f"ec-{i}",
        salesforce_id=sf_id,
        salesforce_object="Lead" if sf_id.startswith("00Q") else "Contact",
        email=f"person{i}@example.org",
        first_name=f"First{i}",
        last_name=f"Last{i}",
        phone=f"+1415{200 + i // 10_000 % 800:03d}{i % 10_000:04d}",
        company=f"Company {i % 300}",
        updated_at_ms=1,
    )


def _call(rng: random.Random, n: int, contact: dict[str, Any]) -> dict[str, Any]:
    result = rng.choice(CALL_RESULTS)
    return call_event(
        event_id=f"call-{n}",
        occurred_at=datetime.now(UTC),
        user_id=f"engage-user-{n % 20}",
        contact=contact,
        call_result=result,
        sentiment=rng.choice(SENTIMENTS),
        comments=f"Talked about renewal and next steps for account {n % 97}.",
        voicemail_title="Callback please" if result == "LEFT_MESSAGE" else None,
        duration_seconds=rng.randint(5, 1800),
    )


def _email(rng: random.Random, n: int, contact: dict[str, Any]) -> dict[str, Any]:
    kind = EMAIL_TYPES[n % len(EMAIL_TYPES)]
    return email_event(
        event_id=f"email-{n}",
        occurred_at=datetime.now(UTC),
        user_id=f"engage-user-{n % 20}",
        contact=contact,
        event_type=kind,
        link_text="Pricing page" if kind == "LINK_CLICKED" else None,
        body="Hi — following up on our call." if kind == "SENT" else None,
    )


def build(n: int, seed: int = 14) -> Traffic:
    """n activities as the module docstring says, encoded with the pipeline's serde."""
    rng, serde = random.Random(seed), Serde()
    calls: list[tuple[bytes, bytes]] = []
    emails: list[tuple[bytes, bytes]] = []
    parked = bad = 0
    touched_outside_copy: set[int] = set()
    for k in range(n):
        roll = rng.random()
        if roll < BAD_SHARE:
            calls.append((f"bad-{k}".encode(), b"\x00not avro"))
            bad += 1
            continue
        if roll < BAD_SHARE + UNLINKED_SHARE:
            contact, parked = _person(CONTACTS + k % 500, linked=False), parked + 1
        else:
            i = rng.randrange(CONTACTS)
            contact = _person(i)
            if i >= IN_COPY:
                touched_outside_copy.add(i)
        key = contact["engage_contact_id"].encode()
        if rng.random() < CALL_SHARE:
            calls.append((key, serde.encode("CallLogged", _call(rng, k, contact))))
        else:
            emails.append((key, serde.encode("EmailEvent", _email(rng, k, contact))))
    return Traffic(
        calls,
        emails,
        [_copy_of(i) for i in range(IN_COPY)],
        expected_tasks=n - parked - bad,
        expected_parked=parked,
        expected_bad=bad,
        expected_copies=len(touched_outside_copy),
    )


def publish_copy(settings: KafkaSettings, traffic: Traffic) -> None:
    """Engage's copy of the 3,750 contacts, on `engage.contacts` before the worker."""
    serde, producer = Serde(), AckingProducer(settings, **{"linger.ms": 20})
    topic = Topics(settings).contacts.name
    for contact in traffic.copy:
        producer.produce(
            topic,
            serde.encode("EngageContact", contact.to_record()),
            contact.engage_contact_id.encode(),
        )
    producer.flush()


def publish(settings: KafkaSettings, traffic: Traffic) -> None:
    """Every activity, calls and emails on their own topics, then wait for acks."""
    topics = Topics(settings)
    producer = AckingProducer(settings, **{"linger.ms": 20})
    for topic, messages in (
        (topics.calls.name, traffic.calls),
        (topics.emails.name, traffic.emails),
    ):
        for key, value in messages:
            producer.produce(topic, value, key)
    producer.flush()
