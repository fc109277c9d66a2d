"""Salesforce REST client: simple-salesforce on a pinned session, classified errors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as _SSFError
from simple_salesforce.exceptions import SalesforceExpiredSession

from connectors.salesforce.auth import Authenticator, PinnedCASession
from connectors.salesforce.errors import (
    ErrorKind,
    FatalError,
    Problem,
    classify_exception,
    classify_response,
    to_exception,
)
from ground import metrics
from ground.settings import SalesforceSettings

log = logging.getLogger(__name__)

COLLECTION_LIMIT = 200
# A Composite request is one API call and may carry 5 sObject-Collection subrequests.
COMPOSITE_COLLECTIONS = 5
COMPOSITE_LIMIT = COLLECTION_LIMIT * COMPOSITE_COLLECTIONS


class SalesforceClient:
    """Calls the REST API; every failure leaves as a typed, classified error.

    Args:
        settings: connection and credential settings.
    """

    def __init__(self, settings: SalesforceSettings) -> None:
        self._settings = settings
        self._session = PinnedCASession(settings.ca_bundle)
        self._auth = Authenticator(settings, self._session)
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self.calls = 0
        self.api_usage: tuple[int, int] | None = None
        # Told about every call, so all our processes together stay within budget.
        self.on_call: Callable[[int], None] | None = None
        self.process = "engage-sync"

    def connect(self) -> SalesforceClient:
        token = self._auth.token()
        self._sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token.get_secret_value(),
            session=self._session,
            version=self._settings.api_version,
        )
        return self

    @property
    def user(self) -> str | None:
        """The integration user's name (None for a bare access token)."""
        return self._settings.username

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self.connect()
        assert self._sf is not None
        return self._sf

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call (under /services/data/vXX.X/); expired tokens refresh once."""
        for attempt in (1, 2):
            try:
                return self._call(method, path, **kwargs)
            except SalesforceExpiredSession as exc:
                if attempt == 2 or not self._auth.can_refresh:
                    raise FatalError(
                        Problem(
                            ErrorKind.FATAL,
                            "INVALID_SESSION_ID",
                            "the Salesforce session expired and cannot be refreshed: "
                            + (
                                "SALESFORCE_ACCESS_TOKEN is a bare token; use the JWT "
                                "flow (SALESFORCE_PRIVATE_KEY_FILE) for long-running "
                                "processes"
                                if not self._auth.can_refresh
                                else str(exc.content)[:200]
                            ),
                            status=401,
                        )
                    ) from None
                log.info("Salesforce session expired; re-authenticating")
                self.connect()
        raise AssertionError("unreachable")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self._settings.timeout_seconds)
        sf = self.sf
        try:
            return sf.restful(path, method=method, **kwargs)
        except SalesforceExpiredSession:
            raise
        except _SSFError as exc:
            raise to_exception(classify_response(exc.status, exc.content)) from None
        except requests.RequestException as exc:
            raise to_exception(classify_exception(exc)) from None
        finally:
            self.calls += 1
            metrics.API_CALLS.labels(self.process).inc()
            if self.on_call is not None:
                self.on_call(1)
            usage = sf.api_usage.get("api-usage")
            if usage is not None:
                self._usage(int(usage.used), int(usage.total))

    def _usage(self, used: int, limit: int) -> None:
        self.api_usage = (used, limit)
        metrics.API_USED.set(used)
        metrics.API_LIMIT.set(limit)
        metrics.API_REMAINING.set(max(0, limit - used))

    def refresh_usage(self) -> tuple[int, int] | None:
        """Read the org's daily usage from /limits (also refreshed by every answer)."""
        daily = self.limits().get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            limit = int(daily["Max"])
            self._usage(limit - int(daily["Remaining"]), limit)
        return self.api_usage

    def describe(self, sobject: str) -> dict[str, Any]:
        return self.request("GET", f"sobjects/{sobject}/describe")  # type: ignore[no-any-return]

    def upsert_collection(
        self, sobject: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Upsert <= 200 same-type records by external id; one answer each, in order."""
        if len(records) > COLLECTION_LIMIT:
            raise ValueError(f"at most {COLLECTION_LIMIT} records per collection call")
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": sobject}} | dict(r) for r in records],
        }
        answer = self.request(
            "PATCH", f"composite/sobjects/{sobject}/{external_id_field}", json=body
        )
        if not isinstance(answer, list) or len(answer) != len(records):
            raise _bad_answer(answer)
        return answer

    def upsert_many(
        self, sobject: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Upsert <= 1,000 records in ONE call: a Composite of 5 x 200 collections.

        A subrequest refused as a whole for a record-level reason answers each of its
        records with that error; a transient or fatal one raises for the whole call.
        """
        if len(records) > COMPOSITE_LIMIT:
            raise ValueError(f"at most {COMPOSITE_LIMIT} records per composite call")
        if len(records) <= COLLECTION_LIMIT:
            return self.upsert_collection(sobject, external_id_field, records)
        chunks = [
            records[i : i + COLLECTION_LIMIT]
            for i in range(0, len(records), COLLECTION_LIMIT)
        ]
        base = f"/services/data/v{self._settings.api_version}"
        subrequests = [
            {
                "method": "PATCH",
                "url": f"{base}/composite/sobjects/{sobject}/{external_id_field}",
                "referenceId": f"chunk{n}",
                "body": {
                    "allOrNone": False,
                    "records": [
                        {"attributes": {"type": sobject}} | dict(r) for r in chunk
                    ],
                },
            }
            for n, chunk in enumerate(chunks)
        ]
        answer = self.request(
            "POST",
            "composite",
            json={"allOrNone": False, "compositeRequest": subrequests},
        )
        responses = (
            answer.get("compositeResponse") if isinstance(answer, dict) else None
        )
        if not isinstance(responses, list) or len(responses) != len(chunks):
            raise _bad_answer(answer)
        out: list[dict[str, Any]] = []
        for chunk, sub in zip(chunks, responses, strict=True):
            status, body = int(sub.get("httpStatusCode") or 0), sub.get("body")
            if status < 300 and isinstance(body, list) and len(body) == len(chunk):
                out.extend(body)
                continue
            problem = classify_response(status, body)
            if problem.kind is not ErrorKind.SKIPPABLE:
                # Redoing the whole composite is safe: every record is an upsert.
                raise to_exception(problem)
            error = {
                "statusCode": problem.code,
                "message": problem.message,
                "fields": list(problem.fields),
            }
            out.extend({"success": False, "errors": [error]} for _ in chunk)
        return out

    def update_collection(
        self, records: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Update up to 200 records by id (each carries `attributes.type` and `id`)."""
        if len(records) > COLLECTION_LIMIT:
            raise ValueError(f"at most {COLLECTION_LIMIT} records per collection call")
        answer = self.request(
            "PATCH",
            "composite/sobjects",
            json={"allOrNone": False, "records": list(records)},
        )
        if not isinstance(answer, list) or len(answer) != len(records):
            raise _bad_answer(answer)
        return answer

    def query_pages(
        self, soql: str, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Each page of a query (one API call each), following `nextRecordsUrl`.

        Args:
            soql: the query.
            include_deleted: use queryAll, which also returns deleted and merged rows.
        """
        resource = "queryAll" if include_deleted else "query"
        answer = self.request("GET", resource, params={"q": soql})
        while True:
            yield answer
            next_url = answer.get("nextRecordsUrl")
            if not next_url:
                return
            marker = f"/v{self._settings.api_version}/"
            answer = self.request("GET", next_url.split(marker, 1)[1])

    def query_all(
        self, soql: str, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        for page in self.query_pages(soql, include_deleted):
            yield from page.get("records", [])

    def count(self, soql: str) -> int:
        return int(self.request("GET", "query", params={"q": soql})["totalSize"])

    def limits(self) -> dict[str, Any]:
        return self.request("GET", "limits/")  # type: ignore[no-any-return]


def _bad_answer(answer: Any) -> Exception:
    """An answer of the wrong shape: retried, as Salesforce may have been cut off."""
    return to_exception(
        Problem(ErrorKind.RETRIABLE, "BAD_ANSWER", f"unexpected answer {answer!r:.200}")
    )
