"""What the Connection page, `GET /api/v1/status` and `engage-sync status` show."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Org(BaseModel):
    """The Salesforce org and the user engage-sync acts as."""

    instance_url: str | None = None
    org_id: str | None = None
    name: str | None = None
    edition: str | None = None
    is_sandbox: bool | None = None
    integration_user: str | None = None
    integration_user_id: str | None = None


class ObjectAccess(BaseModel):
    """What the integration user may do with one object (describe's flags)."""

    object: str
    read: bool
    create: bool
    edit: bool


class ApiCalls(BaseModel):
    """API calls today: the org's use against its daily limit, and our share."""

    org_used: int | None = None
    org_limit: int | None = None
    our_calls_24h: int | None = None
    our_share: float
    our_allowance: int | None = None


class UserConnection(BaseModel):
    """One Engage user's latest event on `engage.users`."""

    user_id: str
    action: str
    salesforce_user_id: str | None = None
    occurred_at: datetime | None = None


class LastPoll(BaseModel):
    """A poller cursor: the newest `(SystemModstamp, Id)` published for an object."""

    object: str
    kind: str
    position: datetime
    last_id: str | None = None
    done: bool = False


class GroupLagRow(BaseModel):
    """One consumer group's lag, summed over its partitions."""

    group: str
    state: str
    members: int | None = None
    lag: int
    lag_seconds: float


class DeadLetterReason(BaseModel):
    """Dead letters of one reason (all source topics)."""

    reason: str
    count: int
    last_seen: datetime


class Status(BaseModel):
    """Everything the Connection page shows; `errors` names each part that failed."""

    taken_at: datetime
    org: Org = Field(default_factory=Org)
    permissions: list[ObjectAccess] = Field(default_factory=list)
    api: ApiCalls
    users: list[UserConnection] = Field(default_factory=list)
    polls: list[LastPoll] = Field(default_factory=list)
    lag: list[GroupLagRow] = Field(default_factory=list)
    dead_letters: list[DeadLetterReason] = Field(default_factory=list)
    errors: dict[str, str] = Field(default_factory=dict)
