"""Engage's copy in SQLite: the rebuild path keeps the newest version of each contact,
and name+phone matching still finds exactly the unlinked contacts."""

from __future__ import annotations

import json
import marshal
from dataclasses import replace
from pathlib import Path

import pytest

from domain.contacts.models import EngageContact
from streams.contacts.store import ContactStore

ADA = EngageContact(
    "ec-1",
    None,
    None,
    "Ada@Example.com",
    "Ada",
    "Lovelace",
    "(415) 555-0100",
    updated_at_ms=100,
)


def test_rebuild_keeps_the_newest_version_of_each_contact_in_any_order() -> None:
    store = ContactStore()
    store.put(replace(ADA, title="held", updated_at_ms=300))
    older = replace(ADA, title="older", updated_at_ms=200)
    other_v1 = replace(ADA, engage_contact_id="ec-2", title="v1", updated_at_ms=100)
    other_v3 = replace(other_v1, title="v3", updated_at_ms=300)
    other_v2 = replace(other_v1, title="v2", updated_at_ms=200)
    with store.batch():
        store.put_many_if_newer([older, other_v1, other_v3, other_v2])
    held, other = store.get("ec-1"), store.get("ec-2")
    assert held is not None and held.title == "held"
    assert other is not None and other.title == "v3"


def test_a_newer_version_from_the_topic_replaces_every_lookup_key() -> None:
    store = ContactStore()
    store.put_many_if_newer([ADA])
    linked = replace(
        ADA, salesforce_id="003000000000001AAA", email="ada@new.org", updated_at_ms=200
    )
    store.put_many_if_newer([linked])
    assert store.by_email("ada@example.com") is None
    found = store.by_salesforce_id("003000000000001AAA")
    assert found is not None and found.email == "ada@new.org"


def test_name_and_phone_find_an_unlinked_contact_and_never_a_linked_one() -> None:
    store = ContactStore()
    store.put_many_if_newer([ADA])
    assert store.unlinked_by_name_phone("ada", "LOVELACE", "+1 415 555 0100") == ADA
    linked = replace(ADA, salesforce_id="003000000000001AAA", updated_at_ms=200)
    store.put(linked)
    assert store.unlinked_by_name_phone("Ada", "Lovelace", "4155550100") is None
    # Unlinked again (its record deleted in Salesforce): matchable again.
    store.put(replace(linked, salesforce_id=None, updated_at_ms=300))
    found = store.unlinked_by_name_phone("Ada", "Lovelace", "4155550100")
    assert found is not None and found.updated_at_ms == 300


def test_bodies_are_stored_with_marshal_and_json_ones_are_still_read() -> None:
    store = ContactStore()
    store.put(ADA)
    (body,) = store.db.execute("SELECT body FROM contacts").fetchone()
    assert isinstance(body, bytes) and marshal.loads(body) == ADA.to_record()
    # A body as earlier versions wrote it (JSON text) reads back the same.
    json_body = json.dumps(replace(ADA, engage_contact_id="ec-2").to_record())
    store.db.execute(
        "INSERT INTO contacts VALUES ('ec-2', NULL, NULL, NULL, 100, ?)", (json_body,)
    )
    assert store.get("ec-2") == replace(ADA, engage_contact_id="ec-2")
    assert store.get("ec-1") == ADA


def test_salesforce_ids_of_a_batch_find_each_ids_latest_contact_in_one_call() -> None:
    store = ContactStore()
    linked = [
        replace(ADA, engage_contact_id=f"ec-{i}", salesforce_id=f"00Q{i:015d}")
        for i in range(1200)  # past one statement's share of ids
    ]
    store.put_many_if_newer(linked)
    # A second contact linked to the same Lead, newer: it is the one found.
    newer = replace(linked[7], engage_contact_id="ec-merged", updated_at_ms=900)
    store.put(newer)
    ids = [c.salesforce_id or "" for c in linked]
    asked = [*ids, "00Q-absent", ids[0]]  # an absent id and a repeated one
    found = store.by_salesforce_ids(asked)
    assert set(found) == {c.salesforce_id for c in linked}
    assert found[newer.salesforce_id or ""] == newer
    assert all(
        found[sf_id] == store.by_salesforce_id(sf_id) for sf_id in list(found)[:50]
    )


@pytest.mark.parametrize("where", ["memory", "file"])
def test_a_batch_that_raises_leaves_the_store_as_it_was(
    where: str, tmp_path: Path
) -> None:
    store = ContactStore(":memory:" if where == "memory" else tmp_path / "c.sqlite3")
    with store.batch():
        store.put_many_if_newer(
            replace(ADA, engage_contact_id=f"ec-{i}", salesforce_id=f"003{i}")
            for i in range(5000)
        )
    with pytest.raises(RuntimeError), store.batch():
        # Enough to spill SQLite's page cache to the file before the end.
        for i in range(5000):
            store.put(replace(ADA, engage_contact_id=f"new-{i}", title="x" * 200))
        store.delete("ec-1")
        raise RuntimeError("Kafka did not acknowledge the batch")
    assert store.count() == 5000
    assert store.get("ec-1") is not None and store.get("new-0") is None
