"""Sync health: letters by reason over time, resubmission state and its guard, and
the ambiguous-match queue and pick (TestClient on a fake source, no broker)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.kafka.dlq_board import Board, Guarded
from connectors.kafka.dlq_reader import DeadLetter, locator
from connectors.kafka.resubmissions import Resubmitted, read_all, settle
from connectors.salesforce.ambiguous import Ambiguous, pick_command, queue
from engage_sync.connection.model import Status
from engage_sync.console.app import create_app
from engage_sync.console.security import hash_password
from ground.settings import ConsoleSettings, load

PASSWORD = "correct horse battery"
DLQ = "engage.dlq"
CMDS = "salesforce.commands"
RULE = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
NOW_MS = int(datetime.now(UTC).timestamp() * 1000)
DAY_MS = 86_400_000
LEAD_A, LEAD_B = "00Q5e00000AAAAAEA1", "00Q5e00000BBBBBEA1"


def _letter(
    offset: int, reason: str = RULE, at_ms: int = NOW_MS, source_offset: int = 0
) -> DeadLetter:
    return DeadLetter(
        0, offset, at_ms, b"k", b"v", CMDS, 0, source_offset or 100 + offset,
        reason, "engage_sync.Refused", f"{reason}: This subject is blocked",
    )  # fmt: skip


@dataclass
class FakeHealth:
    """The page's port: a board in memory; resubmits recorded, never sent."""

    board_: Board
    queue: list[Ambiguous] = field(default_factory=list)
    resubmitted: list[tuple[list[str], str]] = field(default_factory=list)
    picks: list[tuple[str, str]] = field(default_factory=list)

    def board(self) -> Board:
        return self.board_

    def preview(self, dl: DeadLetter) -> dict[str, Any]:
        return {"schema": "SalesforceCommand", "decoded": {"offset": dl.offset}}

    def resubmit(self, board: Board, chosen: list[DeadLetter], by: str) -> Guarded:
        out = Guarded()
        for dl in chosen:
            rec = board.record_of(dl)
            if rec is not None:
                out.refused.append((dl, rec))
                continue
            out.report.sent.append((dl, locator(DLQ, dl)))
            board.records[locator(DLQ, dl)] = Resubmitted(
                locator(DLQ, dl), by, NOW_MS, CMDS, 0, 500 + dl.offset
            )
        self.resubmitted.append(([locator(DLQ, d) for d, _ in out.report.sent], by))
        return out

    def ambiguous(self) -> list[Ambiguous]:
        return list(self.queue)

    def pick(self, entry: Ambiguous, chosen: str) -> str:
        self.picks.append((entry.engage_contact_id, chosen))
        return pick_command(entry, chosen).command_id

    def candidates(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return {i: {"object": "Lead", "Name": f"Ada {i[-3:]}"} for i in ids}


def _client(source: FakeHealth) -> TestClient:
    settings = load(ConsoleSettings, CONSOLE_PASSWORD_HASH=hash_password(PASSWORD))
    app = create_app(settings, lambda: Status(taken_at=datetime.now(UTC)))
    app.state.sync_health = source
    client = TestClient(app, follow_redirects=False)
    token = _csrf(client.get("/login").text)
    client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    return client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _board(
    *letters: DeadLetter, records: dict[str, Resubmitted] | None = None
) -> Board:
    return Board(DLQ, list(letters), dict(records or {}))


def test_page_groups_letters_by_reason_with_counts_per_day_and_open_count() -> None:
    done = _letter(2, at_ms=NOW_MS - DAY_MS)
    board = _board(
        _letter(1), done, _letter(3, "policy-refused"),
        records={locator(DLQ, done): Resubmitted(
            locator(DLQ, done), "admin", NOW_MS, CMDS, 0, 9, "written")},
    )  # fmt: skip
    html = _client(FakeHealth(board)).get("/sync-health").text
    row = re.search(rf'<tr data-reason="{RULE}">(.*?)</tr>', html, re.S)
    assert row
    cells = re.findall(r'<td class="num"[^>]*>(\d*)</td>', row.group(1))
    # total, not resubmitted, then the last seven days: one yesterday, one today
    assert cells == ["2", "1", "", "", "", "", "", "1", "1"]
    assert "Resubmit 1 not yet resubmitted" in row.group(1)
    assert 'data-reason="policy-refused"' in html


def test_each_letter_shows_its_decoded_event_message_and_resubmission_state() -> None:
    done = _letter(2)
    rec = Resubmitted(locator(DLQ, done), "ada", NOW_MS, CMDS, 0, 9, "written")
    board = _board(_letter(1), done, records={rec.letter: rec})
    html = _client(FakeHealth(board)).get(f"/sync-health?reason={RULE}").text
    letters = dict(re.findall(r'data-letter="([^"]+)"(.*?)</article>', html, re.S))
    open_, written = letters[f"{DLQ}/0/1"], letters[f"{DLQ}/0/2"]
    assert "This subject is blocked" in open_ and "&#34;offset&#34;: 1" in open_
    assert "not resubmitted" in open_ and 'data-action="resubmit-letter"' in open_
    assert "resubmitted, written" in written and "by ada" in written
    assert 'data-action="resubmit-letter"' not in written


def test_only_letters_salesforce_refused_are_labelled_with_salesforces_message() -> (
    None
):
    ours = DeadLetter(
        0, 2, NOW_MS, b"k", b"\x00", "engage.calls", 0, 7, "undecodable",
        "connectors.kafka.serde.DecodeError", "not Avro: bad magic byte",
    )  # fmt: skip
    board = _board(_letter(1), ours, _letter(3, "policy-refused"))
    html = _client(FakeHealth(board)).get("/sync-health").text
    letters = dict(re.findall(r'data-letter="([^"]+)"(.*?)</article>', html, re.S))
    label = re.compile(r"<dt>([^<]*)</dt><dd data-field=\"message\">")
    assert [unescape(x) for x in label.findall(letters[f"{DLQ}/0/1"])] == [
        "Salesforce's message"
    ]
    assert label.findall(letters[f"{DLQ}/0/2"]) == ["Error"]
    assert label.findall(letters[f"{DLQ}/0/3"]) == ["Error"]  # our write policy


def test_resubmit_one_letter_records_who_and_refuses_it_the_second_time() -> None:
    fake = FakeHealth(_board(_letter(1), _letter(2)))
    client = _client(fake)
    token = _csrf(client.get("/sync-health").text)
    form = {"csrf_token": token, "letter": f"{DLQ}/0/1", "reason": RULE}
    first = client.post("/sync-health/resubmit", data=form)
    assert first.status_code == 303
    assert "sent=1" in first.headers["location"]
    assert fake.resubmitted == [([f"{DLQ}/0/1"], "admin")]
    again = client.post("/sync-health/resubmit", data=form)
    assert "sent=0&skipped=1" in again.headers["location"]
    shown = client.get(again.headers["location"]).text
    assert "Resubmitted 0 dead letter(s); 1 skipped as already resubmitted" in shown


def test_resubmit_all_of_a_reason_sends_only_the_letters_not_yet_resubmitted() -> None:
    done = _letter(2)
    rec = Resubmitted(locator(DLQ, done), "ada", NOW_MS, CMDS, 0, 9, "written")
    fake = FakeHealth(
        _board(_letter(1), done, _letter(3), _letter(4, "policy-refused"),
               records={rec.letter: rec})
    )  # fmt: skip
    client = _client(fake)
    token = _csrf(client.get("/sync-health").text)
    client.post("/sync-health/resubmit", data={"csrf_token": token, "reason": RULE})
    assert fake.resubmitted == [([f"{DLQ}/0/1", f"{DLQ}/0/3"], "admin")]


def test_pick_sends_a_link_command_for_the_chosen_candidate_only() -> None:
    entry = Ambiguous("ec-1", LEAD_A, (LEAD_A, LEAD_B), "link-ev-1", NOW_MS)
    fake = FakeHealth(_board(), queue=[entry])
    client = _client(fake)
    html = client.get("/sync-health").text
    assert f"Ada {LEAD_B[-3:]}" in html and 'data-contact="ec-1"' in html
    token = _csrf(html)
    done = client.post(
        "/sync-health/pick",
        data={"csrf_token": token, "engage_contact_id": "ec-1",
              "salesforce_id": LEAD_B},
    )  # fmt: skip
    assert done.status_code == 303 and fake.picks == [("ec-1", LEAD_B)]
    refused = client.post(
        "/sync-health/pick",
        data={"csrf_token": token, "engage_contact_id": "ec-1",
              "salesforce_id": "00Q5e00000ZZZZZEA1"},
    )  # fmt: skip
    assert refused.status_code == 409 and fake.picks == [("ec-1", LEAD_B)]
    command = pick_command(entry, LEAD_B).to_avro()
    assert (command["operation"], command["record_id"]) == ("MATCH", LEAD_B)
    assert command["sobject"] == "Lead"


def test_settle_fails_on_a_new_letter_from_where_it_landed_and_writes_on_commit() -> (
    None
):
    def pending(n: int) -> Resubmitted:
        return Resubmitted(f"{DLQ}/0/{n}", "ada", NOW_MS, CMDS, 0, 200 + n)

    records = {r.letter: r for r in map(pending, (1, 2, 3))}
    again = _letter(7, source_offset=201)  # the resubmission of letter 1 failed
    settled = {
        r.letter: r
        for r in settle(records, [again], DLQ, {(CMDS, 0): 203})  # past 201, 202
    }
    assert settled[f"{DLQ}/0/1"].outcome == "failed"
    assert settled[f"{DLQ}/0/1"].again_as == f"{DLQ}/0/7"
    assert "This subject is blocked" in settled[f"{DLQ}/0/1"].message
    assert settled[f"{DLQ}/0/2"].outcome == "written"
    assert f"{DLQ}/0/3" not in settled  # offset 203 not consumed yet: pending
    assert settled[f"{DLQ}/0/1"].describe().startswith("resubmitted, failed again")
    assert settled[f"{DLQ}/0/2"].describe() == "resubmitted, written"
    calls = Resubmitted("x", "ada", 1, "engage.dialer.calls", 0, 1, "written")
    assert calls.describe() == "resubmitted, processed"  # its Task is written later


@dataclass
class _Msg:
    k: bytes | None
    v: bytes | None

    def key(self) -> bytes | None:
        return self.k

    def value(self) -> bytes | None:
        return self.v


class _Reader:
    def __init__(self, messages: list[_Msg]) -> None:
        self.messages = messages

    def read_to_end(self, topic: str) -> list[_Msg]:
        return self.messages


def test_the_record_topic_keeps_the_last_record_per_letter_and_skips_garbage() -> None:
    first = Resubmitted(f"{DLQ}/0/1", "ada", 1, CMDS, 0, 5)
    later = Resubmitted(f"{DLQ}/0/1", "ada", 1, CMDS, 0, 5, "written")
    gone = Resubmitted(f"{DLQ}/0/2", "bob", 1, CMDS, 0, 6)
    found = read_all(
        _Reader([
            _Msg(f"{DLQ}/0/1".encode(), first.to_json()), _Msg(b"x", b"{not json"),
            _Msg(f"{DLQ}/0/2".encode(), gone.to_json()),
            _Msg(f"{DLQ}/0/1".encode(), later.to_json()),
            _Msg(f"{DLQ}/0/2".encode(), None),
        ]),  # type: ignore[arg-type]
        "t",
    )  # fmt: skip
    assert list(found) == [f"{DLQ}/0/1"] and found[f"{DLQ}/0/1"] == later


class _Serde:
    """Decodes a value that is the index of one of `bodies`."""

    def __init__(self, bodies: list[dict[str, Any]]) -> None:
        self.bodies = bodies

    def decode(self, schema: str, raw: bytes) -> dict[str, Any]:
        return self.bodies[int(raw)]


def _result(event_id: str, status: str, **more: Any) -> dict[str, Any]:
    return {"event_id": event_id, "status_code": status, "success": True,
            "engage_contact_id": "ec-1", "salesforce_id": LEAD_A,
            "written_at": datetime.now(UTC) - timedelta(minutes=1)} | more  # fmt: skip


@pytest.mark.parametrize("answered", [False, True])
def test_queue_lists_ambiguous_matches_until_a_pick_is_answered(
    answered: bool,
) -> None:
    bodies = [
        _result("link-1", "ambiguous-match", candidates=[LEAD_A, LEAD_B]),
        _result("link-2", "LINKED", engage_contact_id="ec-2"),
    ]
    if answered:
        bodies.append(_result(f"pick-link-1-{LEAD_B}", "LINKED"))
    reader = _Reader([_Msg(b"k", str(i).encode()) for i in range(len(bodies))])
    found = queue(reader, _Serde(bodies), "results")  # type: ignore[arg-type]
    if answered:
        assert found == []
    else:
        assert [(a.engage_contact_id, a.candidates) for a in found] == [
            ("ec-1", (LEAD_A, LEAD_B))
        ]


class _Down(FakeHealth):
    def board(self) -> Board:
        raise TimeoutError("partition 0 of engage.dlq stalled")


def test_an_unreadable_dead_letter_topic_is_said_on_the_page_not_a_crash() -> None:
    answer = _client(_Down(_board())).get("/sync-health")
    assert answer.status_code == 200
    assert "dead letters unreadable: partition 0 of engage.dlq stalled" in answer.text
