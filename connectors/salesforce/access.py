"""Start-up check of the connection the guide requires: API access, the edition, and
what the integration user may read, create and edit.

The guide: the connecting user needs Read, Create and Edit on Accounts, Contacts,
Leads (and Read on Users); we also write Tasks, keyed by `Engage_Activity_Id__c`,
and, where the CRM settings map them both ways, `HasOptedOutOfEmail` and
`Lead.Status`. Without this check a missing permission surfaces mid-stream as a
fatal write error (or a poller that reads nothing), after work was accepted.

Calls spent: the global describe (every object's createable/updateable/queryable
for this user), one SOQL query for the edition, and one describe per object whose
fields matter (Task, plus Lead/Contact when a write-back is mapped); the caller
gets those describes back, so nothing is described twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from connectors.salesforce.errors import FatalError
from domain.crm_settings.models import CrmSettings, ObjectName
from ground.settings import ConfigError

Permission = Literal["read", "create", "edit"]
Describe = dict[str, Any]

EXTERNAL_ID = "Engage_Activity_Id__c"  # the Task field every write is keyed by
REQUIRED: dict[str, tuple[Permission, ...]] = {
    "Account": ("read", "create", "edit"),
    "Contact": ("read", "create", "edit"),
    "Lead": ("read", "create", "edit"),
    "User": ("read",),
    # Salesforce grants Create only with Read; describing Task needs it too.
    "Task": ("read", "create", "edit"),
}
# Organization.OrganizationType values the guide accepts ("include API access").
EDITIONS = frozenset(
    {
        "Enterprise Edition",
        "Unlimited Edition",
        "Developer Edition",
        "Performance Edition",
    }
)
# Engage's only write-backs, written when mapped bi-directionally (the guide):
# (object, Engage field, Salesforce field).
WRITE_BACKS: tuple[tuple[ObjectName, str, str], ...] = (
    ("Lead", "status", "Status"),
    ("Lead", "email_opt_out", "HasOptedOutOfEmail"),
    ("Contact", "email_opt_out", "HasOptedOutOfEmail"),
)
_FLAG: dict[Permission, str] = {
    "read": "queryable",
    "create": "createable",
    "edit": "updateable",
}
_NEEDED = "Engage needs Enterprise, Unlimited, Developer or Performance Edition"
_SETUP = (
    f"if Task.{EXTERNAL_ID} does not exist, create it as a Text(255) custom field "
    "with 'External ID' and 'Unique' ticked (README: Salesforce setup)"
)


class AccessRefused(ConfigError):
    """The org or the user's permissions cannot carry the sync (exit code 2)."""

    def __init__(self, message: str) -> None:
        SystemExit.__init__(self, f"engage-sync: {message}")
        self.message = message


class DescribingClient(Protocol):
    """The calls the check makes (`SalesforceClient` has them)."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any: ...

    def describe(self, sobject: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Refusal:
    """One missing grant: what the user cannot do, and what to grant."""

    cannot: str  # "create Task", "see Task.Engage_Activity_Id__c"
    grant: str  # "Create on Task", "Edit access on Task.Engage_Activity_Id__c"


def written_fields(crm: CrmSettings | None) -> list[tuple[str, str]]:
    """(object, field) of the write-backs the settings map (bi-directionally)."""
    if crm is None:
        return []
    return [
        (obj, field)
        for obj, engage, field in WRITE_BACKS
        if any(
            r.engage == engage
            and r.salesforce == field
            and r.direction == "bidirectional_most_recent"
            for r in crm.mapping(obj)
        )
    ]


def edition_problem(edition: str | None) -> str | None:
    """Why the org's edition cannot carry the sync; None when it can."""
    if edition in EDITIONS:
        return None
    return f"the Salesforce org is {edition or 'of an unknown edition'}: {_NEEDED}"


def granted(global_describe: Describe, name: str) -> dict[Permission, bool]:
    """What the user may do on `name`, from the global describe's per-user flags
    (an object the user cannot read is not listed at all)."""
    listed = {o.get("name"): o for o in global_describe.get("sobjects") or []}
    entry = listed.get(name) or {}
    return {p: bool(entry.get(flag)) for p, flag in _FLAG.items()}


def object_refusals(global_describe: Describe) -> list[Refusal]:
    """The object permissions missing, from the global describe's per-user flags
    (an object the user cannot read is not listed at all)."""
    listed = {o.get("name"): o for o in global_describe.get("sobjects") or []}
    out = []
    for name, permissions in REQUIRED.items():
        entry = listed.get(name)
        for permission in permissions:
            if entry is None or not entry.get(_FLAG[permission]):
                out.append(
                    Refusal(f"{permission} {name}", f"{_label(permission)} on {name}")
                )
    return out


def field_refusals(
    describes: Mapping[str, Describe], crm: CrmSettings | None
) -> list[Refusal]:
    """The field-level security missing: the Task key visible and createable, each
    mapped write-back field visible and updateable (objects not in `describes`,
    which the user cannot read, are left to `object_refusals`)."""
    needs = [("Task", EXTERNAL_ID, "createable")] + [
        (obj, field, "updateable") for obj, field in written_fields(crm)
    ]
    out = []
    for obj, field, flag in needs:
        if obj not in describes:
            continue
        found = {f.get("name"): f for f in describes[obj].get("fields") or []}
        where = f"{obj}.{field}"
        if field not in found:
            out.append(Refusal(f"see {where}", f"Read and Edit access on {where}"))
        elif not found[field].get(flag):
            verb = "create" if flag == "createable" else "edit"
            out.append(Refusal(f"{verb} {where}", f"Edit access on {where}"))
    return out


def refusal_line(user: str | None, refusals: list[Refusal]) -> str:
    """The one line that names every missing grant and where to grant it."""
    who = f"Salesforce user {user}" if user else "the Salesforce user"
    line = (
        f"{who} cannot {', '.join(r.cannot for r in refusals)}: grant "
        f"{', '.join(r.grant for r in refusals)} to its profile or permission set"
    )
    if any(r.cannot == f"see Task.{EXTERNAL_ID}" for r in refusals):
        line += f" ({_SETUP})"
    return line


def require_access(
    client: DescribingClient,
    crm: CrmSettings | None,
    user: str | None,
    known: Mapping[str, Describe] | None = None,
) -> dict[str, Describe]:
    """Stop with one line unless the org and the user can carry the sync.

    Args:
        client: a connected Salesforce client.
        crm: the CRM settings in force (or being applied); None: none yet.
        user: the integration user's name, for the line.
        known: describes the caller already has (not fetched again).

    Returns:
        Every describe fetched or given, by object name (Task among them).

    Raises:
        AccessRefused: no API access, an edition without it, or a missing grant.
    """
    describes = dict(known or {})
    try:
        listing = client.request("GET", "sobjects")
    except FatalError as exc:
        if exc.problem.code not in ("API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"):
            raise
        raise AccessRefused(
            f"the Salesforce org refuses API calls ({exc.problem.code}: "
            f"{exc.problem.message}): {_NEEDED}, with API access on for the org "
            "and 'API Enabled' on the user's profile"
        ) from None
    rows = client.request(
        "GET", "query", params={"q": "SELECT OrganizationType FROM Organization"}
    ).get("records") or [{}]
    problem = edition_problem(rows[0].get("OrganizationType"))
    if problem is not None:
        raise AccessRefused(problem)
    refusals = object_refusals(listing)
    # An object the user cannot read cannot be described either (404).
    listed = {o.get("name"): o for o in listing.get("sobjects") or []}
    unreadable = {n for n in REQUIRED if not (listed.get(n) or {}).get("queryable")}
    wanted = {"Task"} | {obj for obj, _ in written_fields(crm)}
    for name in sorted(wanted - unreadable - set(describes)):
        describes[name] = client.describe(name)
    refusals += field_refusals(
        {k: v for k, v in describes.items() if k not in unreadable}, crm
    )
    if refusals:
        raise AccessRefused(refusal_line(user, refusals))
    return describes


def _label(permission: Permission) -> str:
    return permission.capitalize()
