"""The writer's ports: the Salesforce calls it makes, where outcomes go, how it waits.

`SalesforceClient`, the Kafka publisher in `writer.py` and `pacing.Pacer` are the real
adapters; unit tests pass in-memory fakes (tests/ports.py) that satisfy the same
protocols, so the writer's decisions, the linker and the write-backs run without a
broker or an org. The producer port is `connectors/kafka/ports.py`; the contacts
agents' ports are `streams/contacts/ports.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from connectors.kafka.deadletter import Origin
from connectors.salesforce.budget import Priority
from connectors.salesforce.errors import Problem
from connectors.salesforce.outcomes import Pending
from connectors.salesforce.pacing import Backoff


class SalesforceApi(Protocol):
    """The Salesforce REST calls the writer, linker and write-backs make."""

    def connect(self) -> Any:
        """Log in (or refresh the session)."""
        ...

    def describe(self, sobject: str) -> dict[str, Any]:
        """`sobjects/{sobject}/describe`."""
        ...

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call; raises the classified error of a refusal."""
        ...

    def query_all(
        self, soql: str, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every row of a SOQL query, following `nextRecordsUrl` (`queryAll` with
        `include_deleted`: deleted and merged rows too)."""
        ...

    def upsert_many(
        self, sobject: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Upsert records by external id; one answer per record, in order."""
        ...

    def update_collection(
        self, records: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Update records by id; one answer per record, in order."""
        ...


class Publisher(Protocol):
    """Where the writer's outcomes go: `salesforce.results` and `engage.dlq`."""

    def result(self, result: dict[str, Any]) -> None:
        """Queue one `WriteResult`."""
        ...

    def dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        """Queue the original command with the reason it was not written."""
        ...

    def flush(self) -> None:
        """Return once everything queued is durable; raise if any of it failed."""
        ...


class Outcomes(Protocol):
    """Where the write-backs report each command (`BatchWriter`, or a fake)."""

    def result_for(
        self,
        item: Pending,
        success: bool,
        status: str,
        message: str | None,
        salesforce_id: str | None = None,
    ) -> None:
        """Set the command's `WriteResult` (published with the rest of the batch)."""
        ...

    def dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        """Send the original command to the dead-letter topic with the reason."""
        ...


class Pacing(Protocol):
    """Every wait of the writer: backoffs, throttling, the API budget."""

    def backoff(self) -> Backoff:
        """A fresh backoff for one request."""
        ...

    def acquire(self, priority: Priority) -> None:
        """Return when the budget lets a call of this priority through."""
        ...

    def throttled(self, problem: Problem) -> None:
        """The org refused a call for its limits: hold every call until it recovers."""
        ...

    def retry_wait(self, backoff: Backoff, problem: Problem | None) -> None:
        """Wait the backoff's next delay (raising `Stopping` on SIGTERM)."""
        ...

    def retrying(self, work: Callable[[], None], priority: Priority) -> None:
        """Run `work` until it gets through transient trouble."""
        ...
