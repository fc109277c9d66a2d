"""OAuth token endpoint (password, JWT, refresh, client credentials); bearer checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import jwt

from sandbox.errors import invalid_session
from sandbox.state import OrgState

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_PUBLIC_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
# simple-salesforce signs exp = now + 3 min; allow a little clock skew on top.
_MAX_JWT_LIFETIME = 180 + 30


class OAuthError(Exception):
    """A 400 (or 401) answer with the {"error", "error_description"} body."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description}


def _bad_grant(description: str = "authentication failure") -> OAuthError:
    return OAuthError("invalid_grant", description)


def _check_client(state: OrgState, form: dict[str, str], need_secret: bool) -> None:
    creds = state.creds
    if form.get("client_id") != creds.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    secret = form.get("client_secret")
    if (need_secret or secret is not None) and secret != creds.client_secret:
        raise OAuthError("invalid_client", "invalid client credentials")


def _basic_auth(header: str | None, form: dict[str, str]) -> dict[str, str]:
    if header and header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:]).decode()
        except ValueError:
            raise OAuthError("invalid_client", "invalid client credentials") from None
        client_id, _, secret = raw.partition(":")
        return {**form, "client_id": client_id, "client_secret": secret}
    return form


def _issue(
    state: OrgState, username: str, client_id: str, refresh: bool, signed: bool = True
) -> dict[str, Any]:
    creds = state.creds
    issued_ms = int(time.time() * 1000)
    token = f"{creds.org_id[:15]}!{secrets.token_urlsafe(72)}"
    state.store.add_token(token, "access", username, client_id, issued_ms / 1000)
    identity = f"https://login.salesforce.com/id/{creds.org_id}/{creds.user_id}"
    body: dict[str, Any] = {
        "access_token": token,
        "instance_url": state.url,
        "id": identity,
        "token_type": "Bearer",
        "scope": "api refresh_token" if refresh else "api",
    }
    if signed:
        # The JWT bearer answer carries neither issued_at nor signature.
        body["issued_at"] = str(issued_ms)
        mac = hmac.new(
            creds.client_secret.encode(),
            (identity + str(issued_ms)).encode(),
            hashlib.sha256,
        )
        body["signature"] = base64.b64encode(mac.digest()).decode()
    if refresh:
        refresh_token = f"5Aep{secrets.token_urlsafe(64)}"
        state.store.add_token(
            refresh_token, "refresh", username, client_id, issued_ms / 1000
        )
        body["refresh_token"] = refresh_token
    return body


def _jwt_flow(state: OrgState, assertion: str) -> dict[str, Any]:
    creds = state.creds
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _bad_grant("invalid assertion") from None
    if claims.get("iss") != creds.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    audiences = {
        *_PUBLIC_AUDIENCES,
        state.url,
        state.url + "/",
        state.url.replace("127.0.0.1", "localhost"),
    }
    if claims.get("aud") not in audiences:
        raise _bad_grant("audience is invalid")
    if claims.get("sub") != creds.username:
        raise _bad_grant("user hasn't approved this consumer")
    try:
        jwt.decode(
            assertion,
            creds.jwt_public_key_pem,
            algorithms=["RS256"],
            audience=claims.get("aud"),
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError:
        raise _bad_grant("invalid assertion") from None
    if float(claims["exp"]) > time.time() + _MAX_JWT_LIFETIME:
        raise _bad_grant("invalid assertion")
    return _issue(state, creds.username, creds.client_id, refresh=False, signed=False)


def token_endpoint(
    state: OrgState, form: dict[str, str], authorization: str | None
) -> dict[str, Any]:
    """Handle POST /services/oauth2/token; raises OAuthError on failure."""
    grant = form.get("grant_type")
    creds = state.creds
    if grant == "password":
        _check_client(state, form, need_secret=True)
        if (
            form.get("username") != creds.username
            or form.get("password") != creds.password
        ):
            raise _bad_grant("authentication failure")
        return _issue(state, creds.username, creds.client_id, refresh=True)
    if grant == JWT_GRANT:
        return _jwt_flow(state, form.get("assertion", ""))
    if grant == "refresh_token":
        _check_client(state, form, need_secret=False)
        row = state.store.get_token(form.get("refresh_token", ""))
        if row is None or row["kind"] != "refresh" or row["revoked"]:
            raise _bad_grant("expired access/refresh token")
        return _issue(state, row["username"], creds.client_id, refresh=False)
    if grant == "client_credentials":
        _check_client(state, _basic_auth(authorization, form), need_secret=True)
        return _issue(state, creds.username, creds.client_id, refresh=False)
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def check_bearer(state: OrgState, authorization: str | None) -> str:
    """Return the username behind a valid access token or raise 401."""
    if not authorization:
        raise invalid_session()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not token:
        raise invalid_session()
    row = state.store.get_token(token.strip())
    if row is None or row["kind"] != "access" or row["revoked"]:
        raise invalid_session()
    if state.token_ttl is not None and time.time() - row["issued_at"] > state.token_ttl:
        raise invalid_session()
    return str(row["username"])
