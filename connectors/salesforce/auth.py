"""OAuth 2.0 at the org's token endpoint (JWT bearer or password), CA-pinned session."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests
from pydantic import SecretStr

from connectors.salesforce.errors import (
    ErrorKind,
    FatalError,
    Problem,
    classify_exception,
    to_exception,
)
from ground.settings import SalesforceSettings


class PinnedCASession(requests.Session):
    """A session that trusts exactly one CA bundle.

    requests lets REQUESTS_CA_BUNDLE override `Session.verify` whenever a call does not
    pass `verify=` itself, and simple-salesforce never does; this machine (and many
    corporate ones) set that variable globally.
    """

    def __init__(self, ca_bundle: Path | None) -> None:
        super().__init__()
        self._ca_bundle = str(ca_bundle) if ca_bundle else None

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:  # type: ignore[override]
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._ca_bundle is not None:
            merged["verify"] = self._ca_bundle
        return merged


@dataclass(frozen=True)
class Token:
    access_token: SecretStr
    instance_url: str


class Authenticator:
    """Obtains access tokens; a bare SALESFORCE_ACCESS_TOKEN cannot be refreshed."""

    def __init__(self, settings: SalesforceSettings, session: requests.Session) -> None:
        self._settings = settings
        self._session = session

    @property
    def can_refresh(self) -> bool:
        return self._settings.flow != "token"

    def token(self) -> Token:
        s = self._settings
        if s.flow == "token":
            assert s.access_token is not None and s.instance_url is not None
            return Token(s.access_token, s.instance_url)
        if s.flow == "jwt":
            form = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self._assertion(),
            }
        else:
            form = {
                "grant_type": "password",
                "client_id": s.client_id or "",
                "client_secret": s.client_secret.get_secret_value()
                if s.client_secret
                else "",
                "username": s.username or "",
                "password": s.password.get_secret_value() if s.password else "",
            }
        return self._post(form)

    def _assertion(self) -> str:
        s = self._settings
        assert s.private_key_file is not None
        claims = {
            "iss": s.client_id,
            "sub": s.username,
            "aud": s.login_url,
            "exp": int(time.time()) + 180,
        }
        try:
            key = s.private_key_file.read_text(encoding="utf-8")
            return jwt.encode(claims, key, algorithm="RS256")
        except (OSError, ValueError, jwt.InvalidKeyError) as exc:
            # No login can be signed with it: a setting to fix, not a bug to trace.
            raise FatalError(
                Problem(
                    ErrorKind.FATAL,
                    "BAD_PRIVATE_KEY",
                    f"cannot sign the jwt login with {s.private_key_file} "
                    f"({type(exc).__name__}: {str(exc)[:120]}): check "
                    "SALESFORCE_PRIVATE_KEY_FILE (a PEM RSA private key)",
                )
            ) from None

    def _post(self, form: dict[str, str]) -> Token:
        url = f"{self._settings.login_url}/services/oauth2/token"
        try:
            answer = self._session.post(
                url, data=form, timeout=self._settings.timeout_seconds
            )
        except requests.RequestException as exc:
            raise to_exception(classify_exception(exc)) from None
        if answer.status_code >= 500:
            raise to_exception(
                Problem(
                    ErrorKind.RETRIABLE, f"HTTP_{answer.status_code}", answer.text[:200]
                )
            )
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or "access_token" not in body:
            error = body.get("error", f"HTTP {answer.status_code}")
            description = body.get("error_description", "")
            raise FatalError(
                Problem(
                    ErrorKind.FATAL,
                    "AUTHENTICATION_FAILED",
                    f"Salesforce refused the {self._settings.flow} login at {url} "
                    f"({error}: {description}): check SALESFORCE_CLIENT_ID, "
                    "SALESFORCE_USERNAME and the key or password",
                    status=answer.status_code,
                )
            )
        return Token(SecretStr(body["access_token"]), body["instance_url"].rstrip("/"))
