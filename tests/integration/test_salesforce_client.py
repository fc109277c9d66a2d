"""The Salesforce client against the sandbox org: auth flows, refresh, errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from connectors.salesforce.auth import Authenticator, PinnedCASession
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.errors import FatalError, ThrottledError
from ground.settings import SalesforceSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import salesforce_env


def _settings(**env: Any) -> SalesforceSettings:
    return SalesforceSettings(**env)


def _jwt(org: Any) -> SalesforceSettings:
    return _settings(**salesforce_env(org))


def _password(org: Any) -> SalesforceSettings:
    creds = org.credentials
    return _settings(
        SALESFORCE_LOGIN_URL=org.url,
        SALESFORCE_CLIENT_ID=creds.client_id,
        SALESFORCE_CLIENT_SECRET=creds.client_secret,
        SALESFORCE_USERNAME=creds.username,
        SALESFORCE_PASSWORD=creds.password,
        SALESFORCE_CA_BUNDLE=str(org.ca_path),
    )


@pytest.mark.parametrize("flow", [_jwt, _password], ids=["jwt", "password"])
def test_each_oauth_flow_reaches_the_org_through_the_pinned_ca(
    flow: Any, sandbox_org: Any
) -> None:
    client = SalesforceClient(flow(sandbox_org)).connect()
    names = {f["name"] for f in client.describe("Task")["fields"]}
    assert "Engage_Activity_Id__c" in names
    assert client.api_usage is not None and client.api_usage[0] >= 1


def test_an_expired_session_is_refreshed_once_without_losing_the_call(
    sandbox_org: Any,
) -> None:
    client = SalesforceClient(_jwt(sandbox_org)).connect()
    SandboxAdmin(sandbox_org.url, sandbox_org.ca_path).expire_tokens()
    answer = client.upsert_collection(
        "Task",
        "Engage_Activity_Id__c",
        [{"Subject": "after expiry", "Engage_Activity_Id__c": "refresh-1"}],
    )
    assert answer[0]["success"] is True


def test_an_expired_bare_access_token_is_fatal_with_one_line(sandbox_org: Any) -> None:
    session = PinnedCASession(sandbox_org.ca_path)
    token = Authenticator(_jwt(sandbox_org), session).token()
    bare = _settings(
        SALESFORCE_INSTANCE_URL=token.instance_url,
        SALESFORCE_ACCESS_TOKEN=token.access_token.get_secret_value(),
        SALESFORCE_CA_BUNDLE=str(sandbox_org.ca_path),
    )
    client = SalesforceClient(bare).connect()
    client.describe("Task")
    SandboxAdmin(sandbox_org.url, sandbox_org.ca_path).expire_tokens()
    with pytest.raises(FatalError) as raised:
        client.describe("Task")
    message = raised.value.problem.message
    assert "\n" not in message
    assert "SALESFORCE_ACCESS_TOKEN" in message
    assert token.access_token.get_secret_value() not in message


def test_a_wrong_password_is_fatal_and_names_the_settings_to_check(
    sandbox_org: Any,
) -> None:
    wrong = _password(sandbox_org).model_copy(
        update={"password": SecretStr("not-the-password")}
    )
    with pytest.raises(FatalError) as raised:
        SalesforceClient(wrong).connect()
    assert "refused the password login" in raised.value.problem.message
    assert "not-the-password" not in str(raised.value)


def test_the_daily_limit_surfaces_as_throttled_not_fatal(sandbox_org: Any) -> None:
    client = SalesforceClient(_jwt(sandbox_org)).connect()
    client.describe("Task")
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.set_limit(admin.api_calls())
    with pytest.raises(ThrottledError) as raised:
        client.describe("Task")
    assert raised.value.problem.code == "REQUEST_LIMIT_EXCEEDED"
