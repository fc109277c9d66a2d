"""Engage's copy in SQLite: the rebuild path keeps the newest version of each contact,
and name+phone matching still finds exactly the unlinked contacts."""

from __future__ import annotations

from dataclasses import replace

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
