"""The sandbox org driven over HTTPS by simple-salesforce, as the pipeline uses it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_external_id

from sandbox.admin import SandboxAdmin
from sandbox.client import CaPinnedSession
from sandbox.org import SandboxOrg

EXT = "Engage_Activity_Id__c"
PAGE_SIZE = 5


def password_token(org: SandboxOrg) -> dict[str, Any]:
    c = org.credentials
    resp = CaPinnedSession(org.ca_path).post(
        f"{org.url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "username": c.username,
            "password": c.password,
        },
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def jwt_assertion(org: SandboxOrg, aud: str | None = None, **claims: Any) -> str:
    c = org.credentials
    payload = {
        "iss": c.client_id,
        "sub": c.username,
        "aud": aud or org.url,
        "exp": int(time.time()) + 180,
        **claims,
    }
    return jwt.encode(payload, c.private_key_path.read_bytes(), algorithm="RS256")


def token_call(org: SandboxOrg, **form: str) -> requests.Response:
    return CaPinnedSession(org.ca_path).post(
        f"{org.url}/services/oauth2/token", data=form, timeout=10
    )


def client(org: SandboxOrg, token: str) -> Salesforce:
    return Salesforce(
        instance_url=org.url,
        session_id=token,
        session=CaPinnedSession(org.ca_path),
        version="59.0",
    )


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxOrg]:
    with SandboxOrg(tmp_path_factory.mktemp("org"), page_size=PAGE_SIZE) as running:
        yield running


@pytest.fixture
def admin(org: SandboxOrg) -> Iterator[SandboxAdmin]:
    adm = SandboxAdmin(org.url, org.ca_path)
    adm.reset()
    adm.set_limit(5_000_000, reset_usage=True)
    yield adm
    adm.close()


@pytest.fixture
def sf(org: SandboxOrg, admin: SandboxAdmin) -> Salesforce:
    return client(org, password_token(org)["access_token"])


# -- OAuth ---------------------------------------------------------------------
def test_password_flow_shape(org: SandboxOrg, admin: SandboxAdmin) -> None:
    body = password_token(org)
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
        "refresh_token",
    }
    assert body["instance_url"] == org.url
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    assert body["access_token"].startswith("00D")
    assert admin.api_calls() == 0  # OAuth is not an API call


def test_jwt_flow_and_its_errors(org: SandboxOrg, admin: SandboxAdmin) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    for aud in (org.url, "https://login.salesforce.com", "https://test.salesforce.com"):
        resp = token_call(org, grant_type=grant, assertion=jwt_assertion(org, aud))
        assert resp.status_code == 200, resp.text
        assert "refresh_token" not in resp.json() and "expires_in" not in resp.json()
    sf = client(org, resp.json()["access_token"])
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    bad = token_call(
        org, grant_type=grant, assertion=jwt_assertion(org, "https://evil.example")
    )
    assert (bad.status_code, bad.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "audience is invalid"},
    )
    late = token_call(
        org, grant_type=grant, assertion=jwt_assertion(org, exp=int(time.time()) + 3600)
    )
    assert late.json()["error_description"] == "invalid assertion"
    other_key = jwt.encode(
        {
            "iss": org.credentials.client_id,
            "sub": org.credentials.username,
            "aud": org.url,
            "exp": int(time.time()) + 60,
        },
        (org.data_dir / "server.key").read_bytes(),
        algorithm="RS256",
    )
    forged = token_call(org, grant_type=grant, assertion=other_key)
    assert forged.json() == {
        "error": "invalid_grant",
        "error_description": "invalid assertion",
    }


def test_refresh_client_credentials_and_bad_logins(org: SandboxOrg) -> None:
    c = org.credentials
    refresh = password_token(org)["refresh_token"]
    again = token_call(
        org, grant_type="refresh_token", refresh_token=refresh, client_id=c.client_id
    )
    assert again.status_code == 200 and "refresh_token" not in again.json()
    cc = CaPinnedSession(org.ca_path).post(
        f"{org.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(c.client_id, c.client_secret),
        timeout=10,
    )
    assert cc.status_code == 200 and cc.json()["access_token"]
    wrong = token_call(
        org,
        grant_type="password",
        client_id=c.client_id,
        client_secret=c.client_secret,
        username=c.username,
        password="nope",
    )
    assert (wrong.status_code, wrong.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "authentication failure"},
    )
    revoked = token_call(
        org, grant_type="refresh_token", refresh_token="5Aepnope", client_id=c.client_id
    )
    assert revoked.json()["error_description"] == "expired access/refresh token"
    unknown = token_call(org, grant_type="magic")
    assert unknown.json()["error"] == "unsupported_grant_type"


# -- query / CRUD --------------------------------------------------------------
def test_create_query_and_paging(
    org: SandboxOrg, sf: Salesforce, admin: SandboxAdmin
) -> None:
    for i in range(12):
        result = sf.Lead.create(
            {
                "LastName": f"L{i:02d}",
                "Company": "Acme",
                "Title": "VP Sales" if i % 3 == 0 else None,
            }
        )
        assert result["success"] is True and result["id"].startswith("00Q")
    before = org.api_calls_used()
    got = sf.query_all("SELECT Id, LastName FROM Lead ORDER BY LastName")
    assert got["totalSize"] == 12
    assert [r["LastName"] for r in got["records"]] == [f"L{i:02d}" for i in range(12)]
    assert org.api_calls_used() - before == 3  # 12 rows in pages of 5
    first = sf.query("SELECT Id FROM Lead")
    assert first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    not_sales = sf.query("SELECT Id FROM Lead WHERE Title != 'vp sales'")
    assert not_sales["totalSize"] == 8
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FRM Lead")
    assert info.value.content == [
        {"message": "unexpected token: 'FRM'", "errorCode": "MALFORMED_QUERY"}
    ]


def test_get_update_delete_and_query_all(sf: Salesforce) -> None:
    rid = sf.Contact.create({"LastName": "Smith", "Email": "S@X.io"})["id"]
    assert sf.Contact.update(rid, {"Title": "CEO"}) == 204
    record = sf.Contact.get(rid)
    assert record["Title"] == "CEO" and record["SystemModstamp"].endswith(".000+0000")
    assert sf.Contact.delete(rid) == 204
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Contact.get(rid)
    assert info.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    deleted = sf.query_all("SELECT Id, IsDeleted FROM Contact", include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in deleted["records"]] == [(rid, True)]
    now = datetime.now(UTC)
    gone = sf.Contact.deleted(now - timedelta(minutes=5), now + timedelta(minutes=1))
    assert [d["id"] for d in gone["deletedRecords"]] == [rid]


def test_upsert_by_external_id(sf: Salesforce) -> None:
    ext = format_external_id(EXT, "call/42")
    body = {"Subject": "Call", "TaskSubtype": "Call", "Status": "Completed"}
    first = sf.Task.upsert(ext, body, raw_response=True)
    assert first.status_code == 201
    assert first.json()["created"] is True
    second = sf.Task.upsert(ext, {"Subject": "Call again"}, raw_response=True)
    assert second.status_code == 200
    assert second.json() == {
        "id": first.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Task.upsert(ext, body)
    assert info.value.content == [
        {
            "message": "Unable to create/update fields: TaskSubtype. Please check the "
            "security settings of this field and verify that it is read/write "
            "for your profile or permission set.",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["TaskSubtype"],
        }
    ]
    assert sf.Task.get_by_custom_id(EXT, "call/42")["Subject"] == "Call again"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Task.upsert("Subject/x", {"Status": "Completed"})


def test_upsert_multiple_matches_is_300(
    org: SandboxOrg, sf: Salesforce, admin: SandboxAdmin
) -> None:
    admin.set_config(ext_id_unique=False)
    try:
        admin.put_records("Task", [{EXT: "same"}, {EXT: "same"}])
        with pytest.raises(SalesforceMoreThanOneRecord) as info:
            sf.Task.upsert(f"{EXT}/same", {"Subject": "x"})
        assert len(info.value.content) == 2
        fields = {f["name"]: f for f in sf.Task.describe()["fields"]}
        assert fields[EXT]["unique"] is False
    finally:
        admin.set_config(ext_id_unique=True)


# -- collections / composite ---------------------------------------------------
def test_collections_upsert_200_and_201st_rejected(
    org: SandboxOrg, sf: Salesforce
) -> None:
    records = [
        {
            "attributes": {"type": "Task"},
            EXT: f"act-{i}",
            "Subject": f"Call {i}",
            "Status": "Completed",
            "TaskSubtype": "Call",
        }
        for i in range(200)
    ]
    path = f"composite/sobjects/Task/{EXT}"
    before = org.api_calls_used()
    result = sf.restful(
        path, method="PATCH", json={"allOrNone": False, "records": records}
    )
    assert len(result) == 200 and all(r["success"] and r["created"] for r in result)
    assert org.api_calls_used() - before == 1
    updates = [{k: v for k, v in r.items() if k != "TaskSubtype"} for r in records]
    again = sf.restful(path, method="PATCH", json={"records": updates})
    assert not any(r["created"] for r in again)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful(path, method="PATCH", json={"records": records + [records[0]]})
    assert info.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_composite_request(sf: Salesforce, org: SandboxOrg) -> None:
    before = org.api_calls_used()
    out = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "PATCH",
                    "url": f"/services/data/v59.0/sobjects/Task/{EXT}/comp-1",
                    "referenceId": "refTask",
                    "body": {"Subject": "Call"},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v59.0/sobjects/Task/"
                    "@{refTask.id}?fields=Subject",
                    "referenceId": "refGet",
                },
            ],
        },
    )["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [201, 200]
    assert out[0]["body"]["created"] is True
    assert out[1]["body"]["Subject"] == "Call"
    assert org.api_calls_used() - before == 1


def test_describe(sf: Salesforce) -> None:
    task = sf.Task.describe()
    fields = {f["name"]: f for f in task["fields"]}
    assert fields["TaskSubtype"]["updateable"] is False
    assert fields[EXT]["externalId"] is True
    assert fields["Engage_Call_Duration_Minutes__c"]["type"] == "double"
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Task", "Lead", "Contact", "Account", "User"} <= names


# -- limits / sessions ---------------------------------------------------------
def test_limits_and_usage_header(
    org: SandboxOrg, sf: Salesforce, admin: SandboxAdmin
) -> None:
    limits = sf.limits()
    used = org.api_calls_used()
    assert limits["DailyApiRequests"]["Max"] == 5_000_000
    assert limits["DailyApiRequests"]["Remaining"] == 5_000_000 - used
    sf.query("SELECT COUNT() FROM Lead")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (org.api_calls_used(), 5_000_000)
    assert admin.stats()["api_calls"] == org.api_calls_used()


def test_request_limit_exceeded(
    org: SandboxOrg, sf: Salesforce, admin: SandboxAdmin
) -> None:
    admin.set_limit(org.api_calls_used() + 1)
    sf.query("SELECT COUNT() FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT COUNT() FROM Lead")
    assert info.value.status == 403
    assert info.value.content == [
        {
            "message": "TotalRequests Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    admin.set_limit(5_000_000)
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_expired_token(sf: Salesforce, admin: SandboxAdmin) -> None:
    sf.query("SELECT COUNT() FROM Lead")
    assert admin.expire_tokens() >= 1
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query("SELECT COUNT() FROM Lead")
    assert info.value.status == 401
    assert info.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_missing_bearer_is_401(org: SandboxOrg, admin: SandboxAdmin) -> None:
    resp = CaPinnedSession(org.ca_path).get(
        f"{org.url}/services/data/v59.0/limits", timeout=10
    )
    assert resp.status_code == 401
    assert resp.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    versions = CaPinnedSession(org.ca_path).get(f"{org.url}/services/data/", timeout=10)
    assert {
        "label": "v59.0",
        "url": "/services/data/v59.0",
        "version": "59.0",
    } in versions.json()


# -- rules ---------------------------------------------------------------------
def test_duplicate_rule_blocks_and_alert_can_be_overridden(
    sf: Salesforce, admin: SandboxAdmin
) -> None:
    contact = sf.Contact.create({"LastName": "Dup", "Email": "Dup@Example.com"})["id"]
    admin.set_rules(
        duplicate_rules=[
            {"object": "Lead", "name": "Lead_Email_Block", "action": "block"},
            {"object": "Contact", "name": "Contact_Email_Alert", "action": "alert"},
        ]
    )
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.create({"LastName": "X", "Company": "Y", "Email": " dup@example.COM"})
    entry = info.value.content[0]
    assert entry["errorCode"] == "DUPLICATES_DETECTED"
    assert entry["duplicateResult"]["allowSave"] is False
    matches = entry["duplicateResult"]["matchResults"][0]["matchRecords"]
    assert [m["record"]["Id"] for m in matches] == [contact]
    with pytest.raises(SalesforceMalformedRequest):
        sf.Contact.create({"LastName": "Z", "Email": "dup@example.com"})
    allowed = sf.Contact.create(
        {"LastName": "Z", "Email": "dup@example.com"},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )
    assert allowed["success"] is True
    result = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {
                    "attributes": {"type": "Lead"},
                    "LastName": "X",
                    "Company": "Y",
                    "Email": "dup@example.com",
                }
            ]
        },
    )
    assert result == [
        {
            "id": None,
            "success": False,
            "errors": [
                {
                    "statusCode": "DUPLICATES_DETECTED",
                    "message": "Use one of these records?",
                    "fields": [],
                }
            ],
        }
    ]


def test_validation_rule(sf: Salesforce, admin: SandboxAdmin) -> None:
    admin.set_rules(
        validation_rules=[
            {
                "object": "Lead",
                "name": "Phone_10_Digits",
                "error_field": "Phone",
                "condition": {"kind": "min_digits", "field": "Phone", "digits": 10},
                "message": "Phone must have at least 10 digits",
            }
        ]
    )
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.create({"LastName": "X", "Company": "Y", "Phone": "555-1234"})
    assert info.value.content == [
        {
            "message": "Phone must have at least 10 digits",
            "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "fields": ["Phone"],
        }
    ]
    assert sf.Lead.create({"LastName": "X", "Company": "Y", "Phone": "(415) 555-0123"})[
        "success"
    ]
    assert admin.rules()["validation_rules"][0]["name"] == "Phone_10_Digits"


# -- faults --------------------------------------------------------------------
def test_dropped_connection_is_a_connection_error(
    sf: Salesforce, admin: SandboxAdmin
) -> None:
    admin.set_faults(next=[{"fault": "DROP_CONNECTION", "count": 1}])
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.query("SELECT COUNT() FROM Lead")
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_drop_after_write_commits_but_loses_the_answer(
    sf: Salesforce, admin: SandboxAdmin
) -> None:
    admin.set_faults(next=[{"fault": "DROP_AFTER_WRITE", "count": 1}])
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Task.upsert(f"{EXT}/lost-answer", {"Subject": "Call"})
    again = sf.Task.upsert(f"{EXT}/lost-answer", {"Subject": "Call"}, raw_response=True)
    assert again.json()["created"] is False


def test_injected_errors(sf: Salesforce, admin: SandboxAdmin) -> None:
    admin.set_faults(
        next=[
            {"fault": "SERVER_UNAVAILABLE", "count": 1},
            {"fault": "UNABLE_TO_LOCK_ROW", "count": 1},
        ]
    )
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query("SELECT COUNT() FROM Lead")
    assert info.value.status == 503
    assert info.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    with pytest.raises(SalesforceMalformedRequest) as lock:
        sf.Account.create({"Name": "Acme"})
    assert lock.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    admin.set_faults(seed=1, rates={"UNABLE_TO_LOCK_ROW": 0.5})
    result = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(40)
            ]
        },
    )
    codes = {e["statusCode"] for r in result for e in r["errors"]}
    assert codes == {"UNABLE_TO_LOCK_ROW"}
    assert 0 < sum(r["success"] for r in result) < 40
    assert admin.faults()["injected"]["UNABLE_TO_LOCK_ROW"] >= 2


# -- durability / concurrency / admin ------------------------------------------
def test_restart_keeps_records_and_tokens(tmp_path: Path) -> None:
    org = SandboxOrg(tmp_path, page_size=PAGE_SIZE).start()
    try:
        token = password_token(org)["access_token"]
        rid = client(org, token).Lead.create({"LastName": "Kept", "Company": "C"})["id"]
        creds = org.credentials
    finally:
        org.stop()
    org = SandboxOrg(tmp_path, page_size=PAGE_SIZE).start()
    try:
        assert org.credentials == creds
        assert client(org, token).Lead.get(rid)["LastName"] == "Kept"
    finally:
        org.stop()


def test_concurrent_upserts_from_threads(org: SandboxOrg, sf: Salesforce) -> None:
    token = password_token(org)["access_token"]
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        local = client(org, token)
        try:
            for i in range(15):
                local.Task.upsert(f"{EXT}/w{worker}-{i % 5}", {"Subject": f"{i}"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 20


def test_admin_records_and_seed(
    org: SandboxOrg, sf: Salesforce, admin: SandboxAdmin
) -> None:
    seeded = admin.seed(leads=20, contacts=9, seed=3)
    assert len(seeded["leads"]) == 20 and len(seeded["contacts"]) == 9
    stats = admin.stats()
    assert stats["records"]["Lead"] == 20 and stats["records"]["Account"] == 3
    titles = [r["Title"] for r in admin.records("Lead")]
    assert any(t and "Sales" in t for t in titles)
    stamp = "2024-05-01T12:00:00.000+0000"
    put = admin.put_records(
        "Lead",
        [
            {
                "Id": seeded["leads"][0],
                "Title": "Old edit",
                "SystemModstamp": stamp,
                "LastModifiedDate": stamp,
            }
        ],
        convert=[{"lead_id": seeded["leads"][1]}],
        merge=[{"master_id": seeded["leads"][2], "loser_ids": [seeded["leads"][3]]}],
    )
    assert put["created"] == [False]
    rows = sf.query_all(
        f"SELECT Id, Title, SystemModstamp FROM Lead WHERE SystemModstamp = {stamp}"
    )["records"]
    assert [(r["Id"], r["Title"]) for r in rows] == [(seeded["leads"][0], "Old edit")]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.update(seeded["leads"][1], {"Title": "x"})
    assert info.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    merged = [
        r
        for r in admin.records("Lead", include_deleted=True)
        if r["Id"] == seeded["leads"][3]
    ][0]
    assert (
        merged["IsDeleted"] is True and merged["MasterRecordId"] == seeded["leads"][2]
    )
    assert admin.api_calls() == org.api_calls_used()


def test_serve_runs_until_sigterm(tmp_path: Path) -> None:
    import os
    import selectors
    import signal
    import subprocess
    import sys

    # `python -m sandbox` reads the same SANDBOX_* settings as `engage-sync sandbox`.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=env
        | {
            "SANDBOX_DATA_DIR": str(tmp_path),
            "SANDBOX_PORT": "0",
            "SANDBOX_SEED_DEMO": "true",
            # Not the default metrics port: a running `up` may hold it.
            "METRICS_PORT": "0",
        },
    )
    try:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        line = ""
        while "listening on" not in line:
            assert time.monotonic() < deadline, "sandbox did not start"
            if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                line = proc.stdout.readline()
                assert line, "sandbox exited early"
        url = line.rsplit(" ", 1)[-1].strip()
        admin = SandboxAdmin(url, tmp_path / "ca.pem")
        assert admin.stats()["records"]["Lead"] == 50
        admin.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
