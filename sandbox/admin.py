"""SandboxAdmin: a small Python client for the /_sandbox admin endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.client import CaPinnedSession


class SandboxAdminError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"sandbox admin call failed ({status}): {body}")
        self.status = status
        self.body = body


class SandboxAdmin:
    def __init__(self, url: str, ca_path: Path | str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.session = CaPinnedSession(ca_path)
        self.timeout = timeout

    def close(self) -> None:
        self.session.close()

    def _call(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        resp = self.session.request(
            method,
            f"{self.url}/_sandbox/{path}",
            json=json,
            params=params,
            timeout=self.timeout,
        )
        body = resp.json() if resp.content else None
        if resp.status_code >= 300:
            raise SandboxAdminError(resp.status_code, body)
        return body

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "stats"))

    def api_calls(self) -> int:
        return int(self.stats()["api_calls"])

    def set_limit(
        self, daily_api_limit: int | None = None, reset_usage: bool = False
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"reset_usage": reset_usage}
        if daily_api_limit is not None:
            body["daily_api_limit"] = daily_api_limit
        return dict(self._call("POST", "limits", body))

    def faults(self) -> dict[str, Any]:
        return dict(self._call("GET", "faults"))

    def set_faults(
        self, plan: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Replace the fault plan, e.g. set_faults({"next": [...]}) or rates=..."""
        return dict(self._call("POST", "faults", {**(plan or {}), **fields}))

    def clear_faults(self) -> dict[str, Any]:
        return self.set_faults({})

    def expire_tokens(self, include_refresh: bool = False) -> int:
        body = self._call("POST", "tokens/expire", {"include_refresh": include_refresh})
        return int(body["expired"])

    def rules(self) -> dict[str, Any]:
        return dict(self._call("GET", "rules"))

    def set_rules(
        self,
        validation_rules: list[dict[str, Any]] | None = None,
        duplicate_rules: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return dict(
            self._call(
                "POST",
                "rules",
                {
                    "validation_rules": validation_rules or [],
                    "duplicate_rules": duplicate_rules or [],
                },
            )
        )

    def config(self) -> dict[str, Any]:
        return dict(self._call("GET", "config"))

    def set_config(self, **config: bool) -> dict[str, Any]:
        return dict(self._call("POST", "config", config))

    def access(self) -> dict[str, Any]:
        return dict(self._call("GET", "access"))

    def set_access(
        self,
        *,
        edition: str = "Enterprise Edition",
        api_enabled: bool = True,
        objects: dict[str, dict[str, bool]] | None = None,
        fields: dict[str, dict[str, bool]] | None = None,
    ) -> dict[str, Any]:
        """Replace the integration user's permissions (unnamed ones: allowed).

        Args:
            edition: Organization.OrganizationType, e.g. "Professional Edition".
            api_enabled: False: every REST call answers API_DISABLED_FOR_ORG.
            objects: per sObject, e.g. {"Task": {"create": False}}.
            fields: per "Object.Field", e.g. {"Lead.Status": {"updateable": False}}.
        """
        body = {
            "edition": edition,
            "api_enabled": api_enabled,
            "objects": objects or {},
            "fields": fields or {},
        }
        return dict(self._call("POST", "access", body))

    def put_records(
        self,
        sobject: str,
        records: list[dict[str, Any]] | None = None,
        *,
        delete: list[str] | None = None,
        merge: list[dict[str, Any]] | None = None,
        convert: list[dict[str, Any]] | None = None,
        touch_parents: bool = False,
    ) -> dict[str, Any]:
        return dict(
            self._call(
                "POST",
                f"records/{sobject}",
                {
                    "records": records or [],
                    "delete": delete or [],
                    "merge": merge or [],
                    "convert": convert or [],
                    "touch_parents": touch_parents,
                },
            )
        )

    def records(
        self, sobject: str, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        body = self._call(
            "GET",
            f"records/{sobject}",
            params={"include_deleted": "1" if include_deleted else "0"},
        )
        return list(body["records"])

    def seed(self, leads: int = 0, contacts: int = 0, seed: int = 0) -> dict[str, Any]:
        return dict(
            self._call(
                "POST", "seed", {"leads": leads, "contacts": contacts, "seed": seed}
            )
        )

    def reset(self) -> None:
        self._call("POST", "reset", {})
