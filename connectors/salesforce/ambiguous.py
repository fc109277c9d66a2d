"""The ambiguous-match queue: people two Salesforce records matched, and the pick.

The linker does not dead-letter an ambiguous match: it links the best candidate
(search order, then recency) and reports `ambiguous-match` with every candidate on
`salesforce.results`. The queue is those reports not yet settled by an admin's
pick; a pick is a link command with the chosen id (a verify-by-id, as for an add
that carries an id), so Engage's copy, parked activities and write-backs follow
the writer's answer exactly as for any other link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.kafka import clients
from connectors.kafka.ends import MissingTopic, TopicReader
from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from connectors.salesforce.outcomes import AMBIGUOUS
from connectors.salesforce.outcomes import LINKED_STATUSES as LINKED
from domain.commands import ReadById
from domain.ids import object_of
from ground.settings import KafkaSettings

PICK_PREFIX = "pick-"


@dataclass(frozen=True)
class Ambiguous:
    """One person two or more Salesforce records matched."""

    engage_contact_id: str
    linked_id: str | None  # the candidate the linker chose meanwhile
    candidates: tuple[str, ...]
    event_id: str
    at_ms: int
    message: str | None = None


def queue(reader: TopicReader, serde: Serde, results_topic: str) -> list[Ambiguous]:
    """Ambiguous matches no answered pick settled yet, oldest first.

    Undecodable results are skipped: they are no link report.
    """
    open_: dict[str, Ambiguous] = {}
    try:
        for msg in reader.read_to_end(results_topic):
            try:
                result: dict[str, Any] = serde.decode("WriteResult", msg.value())
            except DecodeError:
                continue
            ecid = result.get("engage_contact_id")
            if not ecid:
                continue
            status, event_id = result["status_code"], result["event_id"]
            if status == AMBIGUOUS and len(result.get("candidates") or ()) > 1:
                open_[ecid] = Ambiguous(
                    ecid,
                    result.get("salesforce_id"),
                    tuple(result["candidates"]),
                    event_id,
                    _ms(result.get("written_at")),
                    result.get("message"),
                )
            elif event_id.startswith(PICK_PREFIX) and result["success"]:
                if status in LINKED:
                    open_.pop(ecid, None)
    except MissingTopic:
        return []
    return sorted(open_.values(), key=lambda a: (a.at_ms, a.engage_contact_id))


def _ms(value: Any) -> int:
    if hasattr(value, "timestamp"):
        return int(value.timestamp() * 1000)
    return int(value or 0)


def pick_command(entry: Ambiguous, chosen: str) -> ReadById:
    """The link command for the admin's choice.

    Raises:
        ValueError: `chosen` is not one of the candidates.
    """
    if chosen not in entry.candidates:
        raise ValueError(
            f"{chosen} is not a candidate of {entry.engage_contact_id}: "
            f"choose one of {', '.join(entry.candidates)}"
        )
    return ReadById(
        command_id=f"{PICK_PREFIX}{entry.event_id}-{chosen}",
        sobject=object_of(chosen) or "Contact",
        record_id=chosen,
        engage_contact_id=entry.engage_contact_id,
    )


def send_pick(
    settings: KafkaSettings, serde: Serde, entry: Ambiguous, chosen: str
) -> str:
    """Publish the pick to `salesforce.commands`; returns its command id.

    Keyed by the chosen id, as an add's verify-by-id is, so commands about one
    record stay in order in one writer.

    Raises:
        ValueError: `chosen` is not one of the candidates.
        clients.DeliveryFailed: Kafka did not acknowledge it.
    """
    command = pick_command(entry, chosen)
    producer = clients.producer(settings)
    producer.produce(
        Topics(settings).commands.name,
        serde.encode("SalesforceCommand", command.to_avro()),
        chosen.encode(),
    )
    if producer.flush(30):
        raise clients.DeliveryFailed("the pick was not acknowledged by Kafka")
    return command.command_id
