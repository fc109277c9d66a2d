from __future__ import annotations

import pytest

from sandbox import ids


def test_known_real_id_checksum() -> None:
    assert ids.to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert ids.checksum("001A0000006Vm9r") == "IAC"


def test_18_char_id_round_trips_and_suffix_is_case_insensitive() -> None:
    assert ids.to18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"
    assert ids.to18("001A0000006Vm9riac") == "001A0000006Vm9rIAC"


@pytest.mark.parametrize(
    "bad", ["", "abc", "001A0000006Vm9r!", "001A0000006Vm9rXXX", "001A0000006Vm9rIA"]
)
def test_malformed_ids_are_rejected(bad: str) -> None:
    assert not ids.is_valid(bad)
    with pytest.raises(ValueError):
        ids.to18(bad)


def test_case_differences_change_the_checksum() -> None:
    assert ids.checksum("003000000000abc") != ids.checksum("003000000000ABC")


@pytest.mark.parametrize("name", ["Account", "Contact", "Lead", "Task", "User"])
def test_make_id_uses_prefix_and_valid_checksum(name: str) -> None:
    rid = ids.make_id(ids.PREFIXES[name], 12345)
    assert len(rid) == 18
    assert rid.startswith(ids.PREFIXES[name])
    assert ids.to18(rid[:15]) == rid
    assert ids.object_for(rid) == name


def test_generated_ids_sort_in_sequence_order() -> None:
    made = [ids.make_id("00T", n) for n in (1, 9, 10, 61, 62, 63, 3844, 100000)]
    assert sorted(made) == made
    assert len(set(made)) == len(made)
