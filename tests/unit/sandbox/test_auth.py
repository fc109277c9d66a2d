"""OAuth token endpoint and bearer checks, in-process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from sandbox import auth, tls
from sandbox.auth import JWT_GRANT, OAuthError, check_bearer, token_endpoint
from sandbox.errors import ApiError
from sandbox.state import OrgState


def password_form(state: OrgState, **over: str) -> dict[str, str]:
    c = state.creds
    return {
        "grant_type": "password",
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "username": c.username,
        "password": c.password,
        **over,
    }


def oauth_error(
    state: OrgState, form: dict[str, str], authorization: str | None = None
) -> dict[str, Any]:
    with pytest.raises(OAuthError) as info:
        token_endpoint(state, form, authorization)
    assert info.value.status == 400
    return info.value.body


def test_password_flow_issues_persisted_tokens(state: OrgState) -> None:
    body = token_endpoint(state, password_form(state), None)
    assert "expires_in" not in body
    assert int(body["issued_at"]) <= int(time.time() * 1000)
    assert body["id"].endswith(f"/{state.creds.org_id}/{state.creds.user_id}")
    assert check_bearer(state, f"Bearer {body['access_token']}") == state.creds.username
    assert state.store.get_token(body["refresh_token"])["kind"] == "refresh"


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        (
            {"client_id": "x"},
            {
                "error": "invalid_client_id",
                "error_description": "client identifier invalid",
            },
        ),
        (
            {"client_secret": "x"},
            {
                "error": "invalid_client",
                "error_description": "invalid client credentials",
            },
        ),
        (
            {"password": "x"},
            {"error": "invalid_grant", "error_description": "authentication failure"},
        ),
        (
            {"username": "x"},
            {"error": "invalid_grant", "error_description": "authentication failure"},
        ),
        (
            {"grant_type": "implicit"},
            {
                "error": "unsupported_grant_type",
                "error_description": "grant type not supported",
            },
        ),
    ],
)
def test_password_flow_errors(
    state: OrgState, over: dict[str, str], expected: dict[str, str]
) -> None:
    assert oauth_error(state, password_form(state, **over)) == expected


def test_refresh_token_flow_and_revocation(state: OrgState) -> None:
    refresh = token_endpoint(state, password_form(state), None)["refresh_token"]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "client_id": state.creds.client_id,
    }
    assert token_endpoint(state, form, None)["access_token"]
    state.store.revoke_tokens(("access", "refresh"))
    assert (
        oauth_error(state, form)["error_description"] == "expired access/refresh token"
    )


def test_client_credentials_with_basic_auth(state: OrgState) -> None:
    import base64

    c = state.creds
    header = (
        "Basic "
        + base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode()
    )
    body = token_endpoint(state, {"grant_type": "client_credentials"}, header)
    assert "refresh_token" not in body
    bad = "Basic " + base64.b64encode(f"{c.client_id}:nope".encode()).decode()
    assert (
        oauth_error(state, {"grant_type": "client_credentials"}, bad)["error"]
        == "invalid_client"
    )


@pytest.fixture
def jwt_state(state: OrgState, tmp_path: Path) -> tuple[OrgState, bytes]:
    public = tls.ensure_jwt_key(tmp_path)
    state.creds.jwt_public_key_pem = public
    return state, (tmp_path / tls.JWT_KEY).read_bytes()


def _assertion(state: OrgState, key: bytes, **over: Any) -> str:
    claims = {
        "iss": state.creds.client_id,
        "sub": state.creds.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 170,
        **over,
    }
    return jwt.encode(claims, key, algorithm="RS256")


def test_jwt_bearer_flow(jwt_state: tuple[OrgState, bytes]) -> None:
    state, key = jwt_state
    body = token_endpoint(
        state, {"grant_type": JWT_GRANT, "assertion": _assertion(state, key)}, None
    )
    assert set(body) == {"access_token", "scope", "instance_url", "id", "token_type"}


@pytest.mark.parametrize(
    ("over", "error", "description"),
    [
        ({"iss": "someone"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "other@x.com"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"aud": "https://example.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 10}, "invalid_grant", "invalid assertion"),
        ({"exp": int(time.time()) + 3600}, "invalid_grant", "invalid assertion"),
    ],
)
def test_jwt_bearer_errors(
    jwt_state: tuple[OrgState, bytes],
    over: dict[str, Any],
    error: str,
    description: str,
) -> None:
    state, key = jwt_state
    body = oauth_error(
        state, {"grant_type": JWT_GRANT, "assertion": _assertion(state, key, **over)}
    )
    assert body == {"error": error, "error_description": description}


def test_jwt_not_a_jwt(jwt_state: tuple[OrgState, bytes]) -> None:
    state, _ = jwt_state
    assert oauth_error(state, {"grant_type": JWT_GRANT, "assertion": "abc"}) == {
        "error": "invalid_grant",
        "error_description": "invalid assertion",
    }


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer nope"])
def test_bad_bearer_headers(state: OrgState, header: str | None) -> None:
    with pytest.raises(ApiError) as info:
        check_bearer(state, header)
    assert info.value.status == 401
    assert info.value.body() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_token_ttl(state: OrgState, monkeypatch: pytest.MonkeyPatch) -> None:
    token = token_endpoint(state, password_form(state), None)["access_token"]
    state.token_ttl = 60
    check_bearer(state, f"Bearer {token}")
    real = time.time
    monkeypatch.setattr(auth.time, "time", lambda: real() + 61)
    with pytest.raises(ApiError):
        check_bearer(state, f"Bearer {token}")


def test_expired_tokens_stay_expired(state: OrgState) -> None:
    token = token_endpoint(state, password_form(state), None)["access_token"]
    state.store.revoke_tokens()
    with pytest.raises(ApiError):
        check_bearer(state, f"OAuth {token}")
