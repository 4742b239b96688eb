"""A trigger written to a row by this process is read back from a private copy (no parsing):
what comes back is an independent trigger in the state the text describes, and text this
process did not write is parsed as always."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from trigger_samples import SAMPLES, START, take

from nbsched.datastores import _codec
from nbsched.datastores._codec import trigger_from_json, trigger_to_json
from nbsched.triggers import IntervalTrigger, OrTrigger


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_a_written_trigger_reads_back_independent_and_alike(kind: str) -> None:
    trigger, reference = SAMPLES[kind](), SAMPLES[kind]()
    take(trigger, 2)
    take(reference, 2)
    text = trigger_to_json(trigger)
    assert text in _codec._written
    parsed = json.loads(text)
    first, second = trigger_from_json(text), trigger_from_json(text)
    assert first is not second and first is not trigger
    assert first == trigger
    expected = take(reference, 5)
    assert take(first, 5) == expected
    assert take(second, 5) == expected  # the first read did not advance the second
    assert take(trigger, 5) == expected  # nor the trigger it was written from
    # the same text, written by another process (parsed): the same fire times
    _codec._written.clear()
    assert take(trigger_from_json(json.dumps(parsed, separators=(",", ":"))), 5) == expected


def test_a_trigger_advanced_after_writing_does_not_change_what_its_text_reads() -> None:
    trigger = IntervalTrigger(hours=7, start_time=START)
    trigger.next()
    text = trigger_to_json(trigger)
    take(trigger, 3)
    assert trigger_from_json(text).next() == START + timedelta(hours=7)


def test_a_user_trigger_is_not_kept_and_is_parsed() -> None:
    trigger = OrTrigger([IntervalTrigger(hours=7, start_time=START)])

    class Mine(OrTrigger):  # a subclass: cloned through its state, so not kept
        __slots__ = ()

    Mine.__module__ = __name__
    Mine.__qualname__ = "Mine"
    globals()["Mine"] = Mine
    try:
        mine = Mine([IntervalTrigger(hours=7, start_time=START)])
        text = trigger_to_json(mine)
        assert text not in _codec._written
        assert type(trigger_from_json(text)) is Mine
    finally:
        del globals()["Mine"]
    assert trigger_to_json(trigger) in _codec._written


def test_what_is_kept_stays_bounded() -> None:
    _codec._written.clear()
    for hours in range(1, _codec._WRITTEN_LIMIT + 50):
        trigger_to_json(IntervalTrigger(hours=hours, start_time=START))
    assert 0 < len(_codec._written) <= _codec._WRITTEN_LIMIT
