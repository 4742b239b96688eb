"""clone_trigger: an independent copy in the same state, whether it copies the slots of a
built-in trigger or makes a state round trip for any other."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from trigger_samples import SAMPLES, START, take

from nbsched._marshalling import clone_trigger
from nbsched.abc import Trigger
from nbsched.triggers import AndTrigger, DateTrigger, IntervalTrigger, OrTrigger


@pytest.mark.parametrize("advanced", [0, 1, 4])
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_a_clone_continues_alike_and_apart(kind: str, advanced: int) -> None:
    original, reference = SAMPLES[kind](), SAMPLES[kind]()
    take(original, advanced)
    take(reference, advanced)
    clone = clone_trigger(original)
    assert type(clone) is type(original)
    assert clone == original  # the same state
    from_clone = take(clone, 30)  # across the DST change: runs, repeated and missing hours
    expected = take(reference, 30)
    assert from_clone == expected
    assert [t and t.utcoffset() for t in from_clone] == [t and t.utcoffset() for t in expected]
    # the original did not move while the clone ran, and moves on by itself
    assert take(original, 30) == from_clone


def test_slot_copy_is_only_for_the_classes_that_declare_it() -> None:
    class Tagged(IntervalTrigger):
        """A user's subclass with state of its own (kept through its state)."""

        def __init__(self, *args: Any, tag: str, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.tag = tag

        def __getstate__(self) -> dict[str, Any]:
            return {**super().__getstate__(), "tag": self.tag}

        def __setstate__(self, state: dict[str, Any]) -> None:
            super().__setstate__(state)
            self.tag = state["tag"]

    trigger = Tagged(minutes=5, start_time=START, tag="mine")
    trigger.next()
    clone = clone_trigger(trigger)
    assert isinstance(clone, Tagged) and clone.tag == "mine"
    assert clone.next() == trigger.next() == START + timedelta(minutes=5)


def test_a_subclass_of_a_combining_trigger_is_cloned_through_its_state() -> None:
    class Named(OrTrigger):
        """A user's subclass with state of its own (kept through its state)."""

        __slots__ = ("name",)

        def __init__(self, triggers: list[Trigger], name: str) -> None:
            super().__init__(triggers)
            self.name = name

        def __getstate__(self) -> dict[str, Any]:
            return {**super().__getstate__(), "name": self.name}

        def __setstate__(self, state: dict[str, Any]) -> None:
            super().__setstate__(state)
            self.name = state["name"]

    trigger = Named([IntervalTrigger(hours=5, start_time=START)], name="mine")
    trigger.next()
    clone = clone_trigger(trigger)
    assert isinstance(clone, Named) and clone.name == "mine"
    assert clone.next() == trigger.next() == START + timedelta(hours=5)


def test_a_clone_of_an_exhausted_and_trigger_is_exhausted_alike() -> None:
    trigger = AndTrigger([DateTrigger(START), IntervalTrigger(hours=1, start_time=START)])
    assert take(trigger, 2) == [START, None]
    clone = clone_trigger(trigger)
    assert clone == trigger
    assert clone.__getstate__()["done"] is True
    assert take(clone, 2) == [None, None]


@pytest.mark.parametrize("kind", ["interval", "cron", "calendar", "date"])
def test_a_slot_copy_copies_every_slot(kind: str) -> None:
    trigger = SAMPLES[kind]()
    take(trigger, 3)
    clone = clone_trigger(trigger)
    slots = type(trigger).__dict__["__slots__"]
    assert [getattr(clone, name) for name in slots] == [getattr(trigger, name) for name in slots]
    assert all(getattr(clone, name) is getattr(trigger, name) for name in slots)


def test_a_user_class_declaring_immutable_slots_is_copied_slot_by_slot() -> None:
    class Every(Trigger):
        """A user's trigger whose whole state is in slots, one with a mangled name."""

        __slots__ = ("step", "__position")
        _immutable_slots = True

        def __init__(self, step: timedelta) -> None:
            self.step = step
            self.__position = START

        def next(self) -> datetime:
            self.__position += self.step
            return self.__position

        def __getstate__(self) -> dict[str, Any]:
            raise AssertionError("copied through its slots, not its state")

        def __setstate__(self, state: dict[str, Any]) -> None:
            raise AssertionError("copied through its slots, not its state")

    trigger = Every(timedelta(hours=1))
    trigger.next()
    clone = clone_trigger(trigger)
    assert clone.next() == trigger.next() == START + timedelta(hours=2)
