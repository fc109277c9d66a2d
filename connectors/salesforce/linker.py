"""Links Engage contacts to Salesforce: match email, then name + phone, else create."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.salesforce import policy, soql
from connectors.salesforce.errors import ErrorKind, Problem, SkippableRecordError
from connectors.salesforce.ports import SalesforceApi
from connectors.salesforce.records import flatten
from connectors.salesforce.verify import RecordVerifier
from domain.contacts.mapping import salesforce_fields
from domain.contacts.normalize import name_phone_key, normalize_email
from domain.crm_settings.models import CrmSettings
from domain.ids import object_of

log = logging.getLogger(__name__)

MATCH_FIELDS = ("Id", "Email", "FirstName", "LastName", "Phone", "LastModifiedDate")
# Creation applies duplicate rules strictly: a match is linked, not duplicated.
NO_DUPLICATES = {"Sforce-Duplicate-Rule-Header": "allowSave=false"}


@dataclass
class Outcome:
    """What linking one command ended in."""

    success: bool
    status: str  # LINKED/CREATED/LINKED_BY_DUPLICATE_RULE/ambiguous-match/NO_MATCH/err
    salesforce_id: str | None = None
    sobject: str | None = None
    record: dict[str, Any] | None = None
    candidates: tuple[str, ...] = ()
    message: str | None = None
    fields: tuple[str, ...] = ()
    # The org refused the Contact's new Account; the Contact was created without it.
    account_refused: Problem | None = None


@dataclass
class Candidate:
    sobject: str
    values: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.values["Id"])


class Linker:
    """Runs MATCH and MATCH_OR_CREATE commands of one batch, in order.

    Candidates are fetched once per batch (one query per object and key kind) and
    records created earlier in the batch are matched too, so two adds of the same new
    person create one record, and a batch redelivered after a crash re-matches first.
    """

    def __init__(
        self, client: SalesforceApi, settings: Callable[[], CrmSettings | None]
    ) -> None:
        self.client, self._settings = client, settings
        self._createable: dict[str, frozenset[str]] = {}
        self._booleans: dict[str, frozenset[str]] = {}

    def sent_fields(self) -> dict[str, frozenset[str]]:
        """Per object, the fields the mapping in force sends: what a MATCH_OR_CREATE
        may carry beyond its match keys (`policy.check`'s `create_fields`)."""
        crm = self._settings() or CrmSettings(objects={})
        return {obj: self._mapped(crm, obj, None) for obj in ("Lead", "Contact")}

    def _mapped(
        self, crm: CrmSettings, obj: str, createable: frozenset[str] | None
    ) -> frozenset[str]:
        rows = crm.mapping(obj)  # type: ignore[arg-type]
        every = frozenset(salesforce_fields(rows))
        return policy.mapped_create_fields(
            rows, every if createable is None else createable
        )

    def _read_createable(self, obj: str) -> None:
        """The org's createable fields of `obj`, read once (one describe call)."""
        if obj not in self._createable:
            described = self.client.describe(obj).get("fields", [])
            self._createable[obj] = frozenset(
                str(f["name"]) for f in described if f.get("createable")
            )
            self._booleans[obj] = frozenset(
                str(f["name"]) for f in described if f.get("type") == "boolean"
            )

    def link(self, commands: Sequence[dict[str, Any]]) -> list[Outcome]:
        crm = self._settings() or CrmSettings(objects={})
        sync = crm.sync_settings
        region, order = sync.phone_region, list(sync.match_order)
        wanted = {obj: self._fields(crm, obj) for obj in order}
        by_email: dict[str, list[Candidate]] = {}
        by_np: dict[str, list[Candidate]] = {}
        emails = {normalize_email(c["fields"].get("Email")) for c in commands} - {None}
        last_names = {
            (c["fields"].get("LastName") or "").strip() for c in commands
        } - {""}
        for obj in order:
            for cand in self._query(obj, wanted[obj], "Email", sorted(emails)):  # type: ignore[arg-type]
                by_email.setdefault(
                    normalize_email(cand.values.get("Email")) or "", []
                ).append(cand)
            for cand in self._query(obj, wanted[obj], "LastName", sorted(last_names)):
                key = name_phone_key(
                    cand.values.get("FirstName"), cand.values.get("LastName"),
                    cand.values.get("Phone"), region,
                )
                if key:
                    by_np.setdefault(key, []).append(cand)
        verifier = RecordVerifier(self.client, lambda obj: self._fields(crm, obj))
        known = verifier.verify(c["record_id"] for c in commands if c.get("record_id"))
        outcomes = []
        for command in commands:
            if command.get("record_id"):
                v = known[command["record_id"]]
                outcomes.append(
                    Outcome(v.linked, v.status, v.salesforce_id, v.sobject,
                            v.values, message=v.message)
                )
                continue
            f = command["fields"]
            email = normalize_email(f.get("Email"))
            np_key = name_phone_key(
                f.get("FirstName"), f.get("LastName"), f.get("Phone"), region
            )
            found = (by_email.get(email) if email else None) or (
                by_np.get(np_key) if np_key else None
            )
            if found:
                outcomes.append(self._best(found, order))
                continue
            if command["operation"] == "MATCH":
                outcomes.append(Outcome(True, "NO_MATCH"))
                continue
            outcome = self._create(command, crm)
            outcomes.append(outcome)
            if outcome.success and outcome.salesforce_id:
                cand = Candidate(
                    outcome.sobject or command["sobject"], dict(outcome.record or {})
                )
                # Later adds of this person in the batch link to what was just made.
                if email:
                    by_email.setdefault(email, []).insert(0, cand)
                if np_key:
                    by_np.setdefault(np_key, []).insert(0, cand)
        return outcomes

    @staticmethod
    def _fields(crm: CrmSettings, obj: str) -> list[str]:
        mapped = salesforce_fields(crm.mapping(obj))  # type: ignore[arg-type]
        return list(dict.fromkeys([*MATCH_FIELDS, *mapped]))

    def _query(
        self, obj: str, fields: list[str], key: str, values: Iterable[str]
    ) -> list[Candidate]:
        values = list(values)
        out: list[Candidate] = []
        for start in range(0, len(values), 200):
            chunk = values[start : start + 200]
            where = f"{key} IN ({', '.join(soql.quote(v) for v in chunk)})"
            if obj == "Lead":
                where += " AND IsConverted = false"  # converted Leads are never linked
            query = soql.select(obj, fields, where=where)
            out += [
                Candidate(obj, flatten(r, fields)) for r in self.client.query_all(query)
            ]
        return out

    @staticmethod
    def _best(found: list[Candidate], order: Sequence[str]) -> Outcome:
        """The search order decides between objects; recency decides within one."""
        rank = {obj: i for i, obj in enumerate(order)}
        unique = list({c.id: c for c in found}.values())
        newest_first = sorted(
            unique,
            key=lambda c: str(c.values.get("LastModifiedDate") or ""),
            reverse=True,
        )
        best = min(
            newest_first, key=lambda c: rank.get(c.sobject, 99)  # stable: newest wins
        )
        ids = tuple(sorted(c.id for c in unique))
        status = "ambiguous-match" if len(ids) > 1 else "LINKED"
        return Outcome(
            True,
            status,
            best.id,
            best.sobject,
            best.values,
            ids if len(ids) > 1 else (),
        )

    def _create(self, command: dict[str, Any], crm: CrmSettings) -> Outcome:
        sobject = command["sobject"]
        self._read_createable(sobject)
        allowed = {sobject: self._mapped(crm, sobject, self._createable[sobject])}
        # Only what the mapping sends and the org lets us create; match keys the
        # mapping does not send (e.g. a Do Not Read/Write Phone) stay unwritten.
        body = {
            k: _typed(v, k in self._booleans[sobject])
            for k, v in command["fields"].items()
            if v not in (None, "") and k in allowed[sobject]
        }
        try:
            # Before any Account is made for it: a refused person makes no Account.
            policy.check(
                command | {"operation": "CREATE", "fields": body,
                           "engage_contact_id": None},
                allowed,
            )
        except policy.PolicyRefusal as exc:
            # e.g. no value and no default for a required field: reported, not forced.
            return Outcome(False, "policy-refused", message=str(exc))
        # A Contact's company is its Account's name (association, not a field).
        company = command["fields"].get(policy.ACCOUNT_NAME)
        refused: Problem | None = None
        if sobject == "Contact" and crm.sync_settings.auto_associate_accounts:
            account = self._account_for(company, command["fields"].get("Email"), crm)
            if isinstance(account, Problem):
                if crm.sync_settings.on_account_refused == "skip_contact":
                    return Outcome(
                        False, account.code, sobject="Account",
                        message=account.message, fields=account.fields,
                    )
                refused = account
            elif account:
                body["AccountId"] = account
        outcome = self._create_record(sobject, body, crm)
        outcome.account_refused = refused
        return outcome

    def _create_record(
        self, sobject: str, body: dict[str, Any], crm: CrmSettings
    ) -> Outcome:
        try:
            answer = self.client.request(
                "POST", f"sobjects/{sobject}/", json=body, headers=NO_DUPLICATES
            )
        except SkippableRecordError as exc:
            problem = exc.problem
            if problem.code == "DUPLICATES_DETECTED":
                matched = _duplicate_ids(problem.details)
                if matched:
                    values = self._read(sobject, matched[0], crm)
                    return Outcome(
                        True,
                        "LINKED_BY_DUPLICATE_RULE",
                        matched[0],
                        values.pop("__type", sobject),
                        values,
                        tuple(matched) if len(matched) > 1 else (),
                    )
            return Outcome(
                False, problem.code, message=problem.message, fields=problem.fields
            )
        new_id = str(answer["id"])
        values = {"Id": new_id, **body}
        return Outcome(True, "CREATED", new_id, sobject, values)

    def _read(self, sobject: str, record_id: str, crm: CrmSettings) -> dict[str, Any]:
        obj = object_of(record_id) or sobject
        fields = self._fields(crm, obj)
        rows = list(
            self.client.query_all(
                soql.select(obj, fields, where=f"Id = {soql.quote(record_id)}")
            )
        )
        return (flatten(rows[0], fields) if rows else {"Id": record_id}) | {
            "__type": obj
        }

    def _account_for(
        self, company: str | None, email: str | None, crm: CrmSettings
    ) -> str | Problem | None:
        """An existing Account by company name, then by the email's website domain;
        else a new one when settings say so, or the org's reason for refusing it."""
        company = (company or "").strip()
        email = normalize_email(email) or ""
        domain = email.split("@", 1)[1] if "@" in email else ""
        if company:
            where = f"Name = {soql.quote(company)}"
            query = soql.select("Account", ["Id"], where=where, limit=1)
            rows = list(self.client.query_all(query))
            if rows:
                return str(rows[0]["Id"])
        if domain:
            # LIKE also finds notacme.example for acme.example: the host decides.
            where = f"Website LIKE {soql.quote('%' + domain + '%')}"
            for row in self.client.query_all(
                soql.select("Account", ["Id", "Website"], where=where, limit=50)
            ):
                if _website_host(row.get("Website")) in (domain, "www." + domain):
                    return str(row["Id"])
        if company and crm.sync_settings.engage_created_accounts == "create":
            return self._create_account(company)
        return None

    def _create_account(self, company: str) -> str | Problem:
        """Create the Account under the write policy and the org's duplicate rules.

        Another writer may have created it since our query (a Contact of the same
        company keyed elsewhere): the duplicate rule's match is that Account.
        """
        body = {"Name": company}
        try:
            policy.check({"operation": "CREATE", "sobject": "Account", "fields": body})
            answer = self.client.request(
                "POST", "sobjects/Account/", json=body, headers=NO_DUPLICATES
            )
        except policy.PolicyRefusal as exc:
            return Problem(ErrorKind.SKIPPABLE, "policy-refused", str(exc))
        except SkippableRecordError as exc:
            matched = _duplicate_ids(exc.problem.details)
            if exc.problem.code == "DUPLICATES_DETECTED" and matched:
                log.info("Account %r is %s (duplicate rule)", company, matched[0])
                return matched[0]
            return exc.problem
        return str(answer["id"])


def _typed(value: Any, boolean: bool) -> Any:
    """Engage keeps every value as text; a checkbox takes a JSON true or false."""
    if boolean and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _website_host(website: str | None) -> str:
    """`https://www.acme.example:443/about` -> `www.acme.example`."""
    text = (website or "").strip().lower()
    text = text.split("://", 1)[-1]
    return text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].rstrip(".")


def _duplicate_ids(details: Any) -> list[str]:
    result = (details or {}).get("duplicateResult") or {}
    ids = []
    for match in result.get("matchResults", []):
        for rec in match.get("matchRecords", []):
            rid = (rec.get("record") or {}).get("Id")
            if rid:
                ids.append(rid)
    return ids
