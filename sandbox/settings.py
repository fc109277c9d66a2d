"""The sandbox org's settings (SANDBOX_* env, its fault plan, its metrics port)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandbox.faults import FaultPlan, FaultPlanError

# The one default data dir, for `engage-sync sandbox` and `python -m sandbox` alike.
DEFAULT_DATA_DIR = Path(".engage-sync/sandbox")
DEFAULT_METRICS_PORT = 9104


class SandboxSettingsError(ValueError):
    """A sandbox setting is wrong, or its port cannot be used; one line naming it."""


class SandboxSettings(BaseSettings):
    """The local Salesforce sandbox org."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    data_dir: Path = Field(DEFAULT_DATA_DIR, alias="SANDBOX_DATA_DIR")
    host: str = Field("127.0.0.1", alias="SANDBOX_HOST")
    port: int = Field(8443, ge=0, le=65535, alias="SANDBOX_PORT")
    daily_api_limit: int = Field(5_000_000, ge=1, alias="SANDBOX_DAILY_API_LIMIT")
    page_size: int = Field(2000, ge=1, le=2000, alias="SANDBOX_PAGE_SIZE")
    seed_demo: bool = Field(False, alias="SANDBOX_SEED_DEMO")
    token_ttl_seconds: float | None = Field(
        None, gt=0, alias="SANDBOX_TOKEN_TTL_SECONDS"
    )
    fault_plan_source: str | None = Field(None, alias="SANDBOX_FAULT_PLAN")
    # The same variables as the pipeline's processes: one way to move a port.
    metrics_port: int = Field(
        DEFAULT_METRICS_PORT, ge=0, le=65535, alias="METRICS_PORT"
    )
    metrics_host: str = Field("0.0.0.0", alias="METRICS_HOST")  # noqa: S104

    @field_validator("fault_plan_source")
    @classmethod
    def _plan(cls, value: str | None) -> str | None:
        if value:
            read_fault_plan(value)
        return value or None

    @property
    def fault_plan(self) -> dict[str, Any] | None:
        """The fault plan in force at start, or None for none."""
        source = self.fault_plan_source
        return read_fault_plan(source) if source else None


def read_fault_plan(value: str) -> dict[str, Any]:
    """Read a fault plan from JSON text or `@path` of a JSON file.

    Args:
        value: the SANDBOX_FAULT_PLAN value.

    Returns:
        The plan, checked as the admin API checks it.

    Raises:
        ValueError: the file is missing or the text is not a fault plan.
    """
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise ValueError(f"file {path} does not exist")
        text = path.read_text()
    try:
        plan = json.loads(text)
        FaultPlan.from_json(plan)
    except (FaultPlanError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not a fault plan ({exc})") from None
    return dict(plan)


def load_settings() -> SandboxSettings:
    """Read SandboxSettings from the environment.

    Returns:
        The settings.

    Raises:
        SandboxSettingsError: one line naming the variable and what is wrong.
    """
    try:
        return SandboxSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        where = loc[0] if loc else "sandbox"
        field = SandboxSettings.model_fields.get(where)
        where = field.alias if field is not None and field.alias else where
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise SandboxSettingsError(f"{where}: {message}") from None
