"""Demo traffic for `engage-sync up`: realistic calls/emails, a few unlinked/broken.

Everything the demo sends refers to records and users the sandbox org really has, so
its Tasks are written; the only events meant to fail are the few deliberately broken
ones, counted in `DemoTraffic.deliberate_bad` and labelled on the live status.
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings

SUBJECTS = [
    "Discovery call",
    "Follow-up",
    "Pricing question",
    "Intro",
    "Renewal check-in",
]
EMAIL_SUBJECTS = [
    "Quick question",
    "Our platform",
    "Re: next steps",
    "Case study",
    "Pricing",
]
LINKS = ["Pricing page", "Customer story", "Product tour", "Book a meeting"]
# Engage's users in the demo; `demo_settings` maps each to a seeded Salesforce User.
DEMO_USERS = ("u1", "u2", "u3")
# Share of events sent as undecodable bytes, to show the dead-letter topic at work.
BROKEN_SHARE = 0.01


def contact_ref(record: dict[str, Any] | None) -> dict[str, Any]:
    if record is None:
        return {
            "engage_contact_id": f"ec-{uuid.uuid4().hex[:12]}",
            "salesforce_id": None,
            "email": f"new.{uuid.uuid4().hex[:6]}@example.org",
            "first_name": "New",
            "last_name": "Prospect",
        }
    return {
        "engage_contact_id": f"ec-{record['Id']}",
        "salesforce_id": record["Id"],
        "email": record.get("Email"),
        "first_name": record.get("FirstName"),
        "last_name": record.get("LastName"),
        "phone": record.get("Phone"),
        "title": record.get("Title"),
    }


def random_call(rng: random.Random, contact: dict[str, Any]) -> dict[str, Any]:
    result = rng.choice(
        [
            "CONNECTED_DIRECT_LINE",
            "CONNECTED_SWITCHBOARD",
            "REFERRED_TO_COLLEAGUE",
            "LEFT_MESSAGE",
            "NO_ANSWER",
            "WRONG_NUMBER",
            "GATEKEEPER_BLOCKED",
        ]
    )
    conversation = result.startswith("CONNECTED") or result == "REFERRED_TO_COLLEAGUE"
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "user_id": rng.choice(DEMO_USERS),
        "contact": contact,
        "subject": rng.choice(SUBJECTS),
        "call_result": result,
        "sentiment": rng.choice(["NEXT_STEP_BOOKED", "REQUEST_FOR_CALLBACK", "NO_FIT"])
        if conversation
        else None,
        "comments": rng.choice([None, "Asked for a demo next week", "Budget in Q3"]),
        "voicemail_title": "Intro voicemail" if result == "LEFT_MESSAGE" else None,
        "recording_url": f"https://calls.example.org/{uuid.uuid4().hex[:8]}"
        if conversation
        else None,
        "duration_seconds": rng.randint(5, 900) if conversation else rng.randint(0, 40),
    }


def random_email(rng: random.Random, contact: dict[str, Any]) -> dict[str, Any]:
    event_type = rng.choice(
        [
            "SENT",
            "OPENED",
            "OPENED",
            "LINK_CLICKED",
            "REPLIED",
            "CONTENT_VIEWED",
            "CONTENT_DOWNLOADED",
            "FAILED",
            "UNSUBSCRIBED",
        ]
    )
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "user_id": rng.choice(DEMO_USERS),
        "contact": contact,
        "event_type": event_type,
        "email_subject": rng.choice(EMAIL_SUBJECTS),
        "link_text": rng.choice(LINKS)
        if event_type in ("LINK_CLICKED", "CONTENT_VIEWED")
        else None,
        "body": "Hi there,\nthought this might help.\n— Sam"
        if event_type == "SENT"
        else None,
    }


def demo_settings(
    example: Traversable, reps: Sequence[dict[str, Any]], out: Path
) -> Path:
    """The example CRM settings with `users` mapped to the org's own sales reps.

    The example's `users` entry is a placeholder id that no org has; applied as is,
    every Task of that Engage user was refused (INVALID_CROSS_REFERENCE_KEY on
    OwnerId). Engage users beyond the reps fall back to the integration user.
    """
    if not reps:
        raise ValueError("the sandbox org has no sales reps (Users) to own Tasks")
    document = yaml.safe_load(example.read_text(encoding="utf-8"))
    document["users"] = {
        user: reps[i % len(reps)]["Id"] for i, user in enumerate(DEMO_USERS)
    }
    out.write_text(
        "# Written by `engage-sync up` from " + example.name + ": users mapped to\n"
        "# the sandbox org's sales reps.\n" + yaml.safe_dump(document, sort_keys=False),
        encoding="utf-8",
    )
    return out


class DemoTraffic(threading.Thread):
    """Publishes a steady stream of events until stopped."""

    def __init__(
        self,
        kafka: KafkaSettings,
        people: Sequence[dict[str, Any]],
        rate: float,
        seed: int = 7,
    ) -> None:
        super().__init__(name="demo-traffic", daemon=True)
        self.topics, self.serde = Topics(kafka), Serde.for_kafka(kafka)
        self.producer = AckingProducer(kafka)
        self.people, self.rate = list(people), max(0.1, rate)
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.sent = 0
        self.deliberate_bad = 0  # broken on purpose: each ends as one dead letter

    def run(self) -> None:
        while not self.stop_event.wait(1 / self.rate):
            self.publish_one()
            if self.sent % 50 == 0:
                self.producer.flush()
        self.producer.flush()

    def publish_one(self) -> None:
        rng = self.rng
        roll = rng.random()
        person = None if roll < 0.05 or not self.people else rng.choice(self.people)
        contact = contact_ref(person)
        key = contact["engage_contact_id"].encode()
        if roll > 1 - BROKEN_SHARE:
            # A broken upstream producer: shows the dead-letter topic at work.
            self.producer.produce(self.topics.calls.name, os.urandom(24), key)
            self.deliberate_bad += 1
        elif rng.random() < 0.4:
            self.producer.produce(
                self.topics.calls.name,
                self.serde.encode("CallLogged", random_call(rng, contact)),
                key,
            )
        else:
            self.producer.produce(
                self.topics.emails.name,
                self.serde.encode("EmailEvent", random_email(rng, contact)),
                key,
            )
        self.sent += 1
