"""`fast_init` keeps a frozen, slotted dataclass what it was, with a cheaper init."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from domain.commands import TaskUpsert
from ground.frozen import fast_init
from streams.activity.models import FormattedTask, TaskDraft


def _stamp() -> list[int]:
    return [1]


@fast_init
@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 2
    tags: list[int] = field(default_factory=_stamp)
    label: str = field(default="p", kw_only=True)


def test_init_sets_arguments_defaults_and_factories_as_the_dataclass_does() -> None:
    assert Point(1) == Point(1, 2, [1], label="p")
    assert Point(1, 3, [4], label="q") == Point(x=1, y=3, tags=[4], label="q")
    assert Point(1).tags is not Point(1).tags  # a fresh value per instance
    with pytest.raises(TypeError):
        Point(1, 2, [1], "p")  # type: ignore[misc]  # label stays keyword-only
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


def test_instances_stay_frozen_and_replaceable() -> None:
    point = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 5  # type: ignore[misc]
    assert dataclasses.replace(point, y=7) == Point(1, 7)
    assert pickle.loads(pickle.dumps(TaskUpsert(command_id="c", fields={})))


def test_the_per_event_value_objects_use_the_cheaper_init() -> None:
    for cls in (TaskDraft, FormattedTask, TaskUpsert):
        assert "set_" in (cls.__init__.__doc__ or ""), cls


def test_classes_it_cannot_serve_are_refused_at_import() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclass(slots=True)
    class Mutable:
        x: int

    for cls in (NoSlots, Mutable):
        with pytest.raises(TypeError):
            fast_init(cls)
