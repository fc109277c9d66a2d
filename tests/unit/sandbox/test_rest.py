"""REST handlers in-process: collections, composite, paging, replication, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from sandbox import ids
from sandbox.protocol import Request, Response
from sandbox.rest import RestApi
from sandbox.state import OrgState

V = "/services/data/v59.0"


@pytest.fixture
def api(state: OrgState) -> RestApi:
    return RestApi(state)


def call(
    api: RestApi,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return api.handle(Request.with_json(method, V + path, body, headers))


def tasks(n: int, prefix: str = "E") -> list[dict[str, Any]]:
    return [
        {
            "attributes": {"type": "Task"},
            "Engage_Activity_Id__c": f"{prefix}{i}",
            "Subject": f"Call {i}",
            "Status": "Completed",
            "TaskSubtype": "Call",
        }
        for i in range(n)
    ]


def test_collections_upsert_200_created_then_the_same_200_updated(api: RestApi) -> None:
    path = "/composite/sobjects/Task/Engage_Activity_Id__c"
    first = call(api, "PATCH", path, {"allOrNone": False, "records": tasks(200)})
    assert first.status == 200
    assert all(r["success"] and r["created"] for r in first.body)
    again = [{k: v for k, v in t.items() if k != "TaskSubtype"} for t in tasks(200)]
    second = call(api, "PATCH", path, {"allOrNone": False, "records": again})
    assert [r["id"] for r in second.body] == [r["id"] for r in first.body]
    assert not any(r["created"] for r in second.body)


def test_collections_over_200_rejected(api: RestApi) -> None:
    resp = call(
        api,
        "PATCH",
        "/composite/sobjects/Task/Engage_Activity_Id__c",
        {"records": tasks(201)},
    )
    assert resp.status == 400
    assert resp.body == [
        {
            "message": "record limit reached. cannot submit more than "
            "200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]


def test_collections_duplicate_external_ids_in_one_request(api: RestApi) -> None:
    records = tasks(3)
    records[2]["Engage_Activity_Id__c"] = "e0"  # same as records[0], other case
    body = call(
        api,
        "PATCH",
        "/composite/sobjects/Task/Engage_Activity_Id__c",
        {"records": records},
    ).body
    assert [r["success"] for r in body] == [False, True, False]
    assert body[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"


def test_collections_all_or_none_rolls_back(api: RestApi, state: OrgState) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "A"},
        {"attributes": {"type": "Task"}, "ActivityDate": "not-a-date"},
        {"attributes": {"type": "Lead"}, "LastName": "B", "Company": "C"},
    ]
    body = call(
        api, "POST", "/composite/sobjects", {"allOrNone": True, "records": records}
    ).body
    assert body[1] == {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
                "message": "Due Date Only: value not of required type: not-a-date",
                "fields": ["ActivityDate"],
            }
        ],
    }
    for i in (0, 2):
        assert body[i]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert state.store.counts().get("Contact", 0) == 0
    body = call(
        api, "POST", "/composite/sobjects", {"allOrNone": False, "records": records}
    ).body
    assert [r["success"] for r in body] == [True, False, True]
    assert body[0]["id"].startswith("003") and body[2]["id"].startswith("00Q")


def test_collections_update_retrieve_delete(api: RestApi) -> None:
    created = call(
        api,
        "POST",
        "/composite/sobjects",
        {
            "records": [
                {"attributes": {"type": "Contact"}, "LastName": f"C{i}"}
                for i in range(3)
            ]
        },
    )
    cids = [r["id"] for r in created.body]
    upd = call(
        api,
        "PATCH",
        "/composite/sobjects",
        {
            "records": [
                {"attributes": {"type": "Contact"}, "id": cids[0], "Title": "CEO"},
                {
                    "attributes": {"type": "Contact"},
                    "id": ids.make_id("003", 99999),
                    "Title": "x",
                },
                {"attributes": {"type": "Contact"}, "Title": "no id"},
            ]
        },
    ).body
    assert upd[0] == {"id": cids[0], "success": True, "errors": []}
    assert upd[1]["errors"][0]["statusCode"] == "NOT_FOUND"
    assert upd[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    got = api.handle(
        Request.build(
            "GET",
            f"{V}/composite/sobjects/Contact?ids={cids[0]},{cids[1]},"
            f"{ids.make_id('003', 99999)}&fields=LastName,Title",
        )
    ).body
    assert got[0]["Title"] == "CEO" and got[1]["LastName"] == "C1" and got[2] is None
    deleted = api.handle(
        Request.build("DELETE", f"{V}/composite/sobjects?ids={cids[2]}&allOrNone=false")
    ).body
    assert deleted == [{"id": cids[2], "success": True, "errors": []}]


def test_composite_references_and_all_or_none(api: RestApi, state: OrgState) -> None:
    ok = call(
        api,
        "POST",
        "/composite",
        {
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Contact",
                    "referenceId": "refC",
                    "body": {"LastName": "Smith"},
                },
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Task",
                    "referenceId": "refT",
                    "body": {"Subject": "Call", "WhoId": "@{refC.id}"},
                },
                {
                    "method": "GET",
                    "url": f"{V}/sobjects/Task/@{{refT.id}}?fields=WhoId",
                    "referenceId": "refGet",
                },
            ],
        },
    ).body["compositeResponse"]
    assert [r["httpStatusCode"] for r in ok] == [201, 201, 200]
    assert ok[2]["body"]["WhoId"] == ok[0]["body"]["id"]
    assert ok[0]["httpHeaders"]["Location"].endswith(ok[0]["body"]["id"])
    before = state.store.counts()
    bad = call(
        api,
        "POST",
        "/composite",
        {
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Contact",
                    "referenceId": "c1",
                    "body": {"LastName": "Jones"},
                },
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Task",
                    "referenceId": "t1",
                    "body": {"CallType": "Sideways", "WhoId": "@{c1.id}"},
                },
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Task",
                    "referenceId": "t2",
                    "body": {"Subject": "never runs"},
                },
            ],
        },
    ).body["compositeResponse"]
    assert [r["httpStatusCode"] for r in bad] == [400, 400, 400]
    assert bad[1]["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    for i in (0, 2):
        assert bad[i]["body"] == [
            {
                "errorCode": "PROCESSING_HALTED",
                "message": "The transaction was rolled back since another operation in "
                "the same transaction failed.",
            }
        ]
    assert state.store.counts() == before


def test_composite_without_all_or_none_halts_only_dependents(api: RestApi) -> None:
    out = call(
        api,
        "POST",
        "/composite",
        {
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Contact",
                    "referenceId": "c1",
                    "body": {},
                },
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Task",
                    "referenceId": "t1",
                    "body": {"WhoId": "@{c1.id}"},
                },
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Account",
                    "referenceId": "a1",
                    "body": {"Name": "ok"},
                },
            ]
        },
    ).body["compositeResponse"]
    assert out[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert out[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "No value for c1" in out[1]["body"][0]["message"]
    assert out[2]["httpStatusCode"] == 201


def test_composite_limits(api: RestApi) -> None:
    sub = {"method": "GET", "url": f"{V}/limits", "referenceId": "r"}
    many = [dict(sub, referenceId=f"r{i}") for i in range(26)]
    assert call(api, "POST", "/composite", {"compositeRequest": many}).status == 400
    queries = [
        {
            "method": "GET",
            "url": f"{V}/query?q=SELECT+Id+FROM+Lead",
            "referenceId": f"q{i}",
        }
        for i in range(6)
    ]
    assert call(api, "POST", "/composite", {"compositeRequest": queries}).status == 400


def test_query_paging_and_invalid_locator(api: RestApi, state: OrgState) -> None:
    state.page_size = 2
    call(
        api,
        "POST",
        "/composite/sobjects",
        {
            "records": [
                {"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(5)
            ]
        },
    )
    first = api.handle(
        Request.build("GET", f"{V}/query?q=SELECT+Name+FROM+Account+ORDER+BY+Name")
    ).body
    assert first["totalSize"] == 5 and first["done"] is False
    names = [r["Name"] for r in first["records"]]
    url = first["nextRecordsUrl"]
    assert url.startswith(f"{V}/query/01g") and url.endswith("-2")
    while url:
        page = api.handle(Request.build("GET", url)).body
        names += [r["Name"] for r in page["records"]]
        url = page.get("nextRecordsUrl")
    assert names == [f"A{i}" for i in range(5)]
    assert page["done"] is True and "nextRecordsUrl" not in page
    bad = api.handle(Request.build("GET", f"{V}/query/01gXXX-2"))
    assert bad.status == 400 and bad.body[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_updated_and_deleted(api: RestApi, state: OrgState) -> None:
    rid = call(api, "POST", "/sobjects/Contact/", {"LastName": "A"}).body["id"]
    call(api, "DELETE", f"/sobjects/Contact/{rid}")
    now = datetime.now(UTC)
    start = quote((now - timedelta(minutes=2)).isoformat(timespec="seconds"))
    end = quote((now + timedelta(minutes=2)).isoformat(timespec="seconds"))
    got = api.handle(
        Request.build("GET", f"{V}/sobjects/Contact/deleted/?start={start}&end={end}")
    ).body
    assert [d["id"] for d in got["deletedRecords"]] == [rid]
    assert got["latestDateCovered"].endswith(":00.000+0000")
    upd = api.handle(
        Request.build("GET", f"{V}/sobjects/Contact/updated/?start={start}&end={end}")
    ).body
    assert upd["ids"] == []  # deleted rows are not "updated"
    too_old = quote((now - timedelta(days=31)).isoformat(timespec="seconds"))
    old = api.handle(
        Request.build("GET", f"{V}/sobjects/Contact/updated/?start={too_old}&end={end}")
    )
    assert old.status == 400 and old.body[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_limits_and_describe(api: RestApi, state: OrgState) -> None:
    state.store.set_counter("api_usage", 7)
    limits = call(api, "GET", "/limits").body
    assert limits["DailyApiRequests"] == {"Max": 1000, "Remaining": 993}
    describe = call(api, "GET", "/sobjects/Task/describe").body
    fields = {f["name"]: f for f in describe["fields"]}
    assert describe["keyPrefix"] == "00T"
    assert (
        fields["TaskSubtype"]["createable"] and not fields["TaskSubtype"]["updateable"]
    )
    assert fields["CallType"]["restrictedPicklist"] is True
    ext = fields["Engage_Activity_Id__c"]
    assert (ext["externalId"], ext["unique"], ext["idLookup"]) == (True, True, True)
    status = fields["Status"]
    assert [p["value"] for p in status["picklistValues"] if p["defaultValue"]] == [
        "Not Started"
    ]
    assert fields["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    lead = {
        f["name"]: f for f in call(api, "GET", "/sobjects/Lead/describe").body["fields"]
    }
    assert lead["LastName"]["nillable"] is False and lead["LastName"]["length"] == 80


def test_single_record_routes(api: RestApi) -> None:
    created = call(api, "POST", "/sobjects/Account/", {"Name": "Acme"})
    assert created.status == 201 and created.body["success"] is True
    rid = created.body["id"]
    got = call(api, "GET", f"/sobjects/Account/{rid}")
    assert got.body["Name"] == "Acme" and got.body["attributes"]["type"] == "Account"
    assert call(api, "PATCH", f"/sobjects/Account/{rid}", {"Name": "B"}).status == 204
    assert call(api, "GET", "/sobjects/Nope/describe").status == 404
    up = call(
        api, "PATCH", "/sobjects/Task/Engage_Activity_Id__c/a%2Fb", {"Subject": "x"}
    )
    assert up.status == 201 and up.body["created"] is True
    by_ext = call(api, "GET", "/sobjects/Task/Engage_Activity_Id__c/a%2Fb")
    assert by_ext.body["Engage_Activity_Id__c"] == "a/b"
