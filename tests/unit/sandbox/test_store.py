"""Store behaviours: persistence, lookups, nested transactions, tokens, counters."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sandbox import ids
from sandbox.store import Store

INDEXED = {"Task": ("Engage_Activity_Id__c",), "Lead": ("Email",)}


def _task(n: int, ext: str | None = None, deleted: bool = False) -> dict[str, object]:
    return {
        "Id": ids.make_id("00T", n),
        "IsDeleted": deleted,
        "SystemModstamp": "2024-05-01T00:00:00.000+0000",
        "Engage_Activity_Id__c": ext,
    }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db.sqlite3", INDEXED)
    yield s
    s.close()


def test_records_survive_reopen(tmp_path: Path) -> None:
    s = Store(tmp_path / "db.sqlite3", INDEXED)
    s.put("Task", _task(1, "a"))
    s.close()
    again = Store(tmp_path / "db.sqlite3", INDEXED)
    assert again.get(ids.make_id("00T", 1)) == ("Task", _task(1, "a"))
    assert again.find("Task", "Engage_Activity_Id__c", "A") == [ids.make_id("00T", 1)]
    again.close()


def test_find_is_case_insensitive_trimmed_and_skips_deleted(store: Store) -> None:
    store.put("Task", _task(1, "Ext-1"))
    store.put("Task", _task(2, "ext-1 ", deleted=True))
    assert store.find("Task", "Engage_Activity_Id__c", " EXT-1") == [
        ids.make_id("00T", 1)
    ]
    assert (
        len(store.find("Task", "Engage_Activity_Id__c", "ext-1", include_deleted=True))
        == 2
    )


def test_lookup_keys_follow_updates(store: Store) -> None:
    store.put("Task", _task(1, "old"))
    store.put("Task", _task(1, "new"))
    assert store.find("Task", "Engage_Activity_Id__c", "old") == []
    assert store.find("Task", "Engage_Activity_Id__c", "new") == [ids.make_id("00T", 1)]
    store.put("Task", _task(1, None))
    assert store.find("Task", "Engage_Activity_Id__c", "new") == []


def test_nested_transaction_rolls_back_only_the_inner_part(store: Store) -> None:
    with store.transaction():
        store.put("Task", _task(1))
        with pytest.raises(RuntimeError), store.transaction():
            store.put("Task", _task(2))
            raise RuntimeError("undo inner")
        store.put("Task", _task(3))
    assert [r["Id"] for r in store.all("Task")] == [
        ids.make_id("00T", 1),
        ids.make_id("00T", 3),
    ]


def test_outer_rollback_discards_everything(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put("Task", _task(1))
        with store.transaction():
            store.put("Task", _task(2))
        raise RuntimeError("undo all")
    assert store.all("Task") == []


def test_a_put_failing_halfway_at_the_top_leaves_neither_row_nor_keys(
    store: Store,
) -> None:
    class Unkeyable(str):
        def __str__(self) -> str:
            raise RuntimeError("no lookup key")

    store.put("Task", _task(1, "kept"))
    # The row is written, then its lookup key cannot be made: put raises halfway.
    with pytest.raises(RuntimeError):
        store.put("Task", _task(1, Unkeyable("lost")))
    assert store.find("Task", "Engage_Activity_Id__c", "kept") == [
        ids.make_id("00T", 1)
    ]
    assert store.find("Task", "Engage_Activity_Id__c", "lost") == []


def test_a_put_inside_a_savepoint_is_undone_with_it(store: Store) -> None:
    # A put joins the enclosing transaction; the savepoint of whoever catches
    # the error undoes the row and its lookup keys together.
    with store.transaction():
        with pytest.raises(RuntimeError), store.transaction():
            store.put("Task", _task(2, "inner"))
            raise RuntimeError("undo inner")
        store.put("Task", _task(3, "outer"))
    assert store.find("Task", "Engage_Activity_Id__c", "inner") == []
    assert store.get(ids.make_id("00T", 2)) is None
    assert store.find("Task", "Engage_Activity_Id__c", "outer") == [
        ids.make_id("00T", 3)
    ]


def test_all_orders_by_id_and_filters_deleted(store: Store) -> None:
    for n in (3, 1, 2):
        store.put("Task", _task(n, deleted=n == 2))
    assert [r["Id"] for r in store.all("Task")] == [
        ids.make_id("00T", 1),
        ids.make_id("00T", 3),
    ]
    assert len(store.all("Task", include_deleted=True)) == 3
    assert store.counts() == {"Task": 2}


def test_next_id_is_unique_and_persistent(tmp_path: Path) -> None:
    s = Store(tmp_path / "db.sqlite3", INDEXED)
    first = [s.next_id("Lead") for _ in range(3)]
    s.close()
    s = Store(tmp_path / "db.sqlite3", INDEXED)
    later = s.next_id("Lead")
    s.close()
    assert len(set(first + [later])) == 4
    assert all(i.startswith("00Q") for i in first)


def test_tokens_and_revocation(store: Store) -> None:
    store.add_token("a1", "access", "u", "c", 1.0)
    store.add_token("r1", "refresh", "u", "c", 1.0)
    assert store.get_token("a1") == {
        "kind": "access",
        "username": "u",
        "client_id": "c",
        "issued_at": 1.0,
        "revoked": 0,
    }
    assert store.revoke_tokens() == 1
    assert store.get_token("a1")["revoked"] == 1
    assert store.get_token("r1")["revoked"] == 0
    assert store.get_token("missing") is None


def test_api_call_counter_stops_at_limit(store: Store) -> None:
    assert [store.try_consume_api_call(2) for _ in range(3)] == [
        (True, 1),
        (True, 2),
        (False, 2),
    ]
    assert store.counter("api_usage") == 2


def test_api_counter_is_exact_under_threads(store: Store) -> None:
    def work() -> None:
        for _ in range(200):
            store.try_consume_api_call(10_000)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.counter("api_usage") == 800


def test_settings_round_trip(store: Store) -> None:
    assert store.get_setting("x", {"d": 1}) == {"d": 1}
    store.set_setting("x", {"rules": [1, 2]})
    assert store.get_setting("x") == {"rules": [1, 2]}
