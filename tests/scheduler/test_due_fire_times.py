"""The pure functions that decide what a due schedule produces (``_processing``): a trigger
that breaks the contract is caught at the fire time that breaks it, and the work per schedule
per wake-up is bounded, with the coalesce policy kept exact across wake-ups."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nbsched import CoalescePolicy, TriggerContractError
from nbsched._schedulers._processing import (
    MAX_JOBS_PER_WAKEUP,
    due_fire_times,
    skip_fire_times_before,
)
from nbsched.abc import Trigger
from nbsched.triggers import CronTrigger, IntervalTrigger

UTC = timezone.utc
START = datetime(2026, 1, 1, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


class Scripted(Trigger):
    """Returns the given values, then the last one forever (a repeating trigger)."""

    def __init__(self, values: list[Any]) -> None:
        self.values = list(values)
        self.calls = 0

    def next(self) -> Any:
        self.calls += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]

    def __getstate__(self) -> Any:
        return {"version": 1}

    def __setstate__(self, state: Any) -> None:
        raise NotImplementedError


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


@pytest.mark.parametrize("policy", list(CoalescePolicy))
@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ([at(1)], "strictly increase"),  # the same fire time forever
        ([at(2), at(1)], "strictly increase"),  # backwards
        ([at(1), at(2), at(2)], "strictly increase"),
        ([datetime(2026, 1, 1, 0, 0, 1)], "timezone-aware"),
        (["2026-01-01T00:00:01+00:00"], "datetime or None"),
    ],
)
def test_a_trigger_breaking_the_contract_is_caught_where_it_breaks_it(
    values: list[Any], rule: str, policy: CoalescePolicy
) -> None:
    trigger = Scripted(values)
    with pytest.raises(TriggerContractError, match=rule) as info:
        due_fire_times(trigger, at(0), at(100), policy)
    assert trigger.calls <= len(values) + 1  # stopped at once, not after the loop ran on
    assert "next()" in info.value.detail


@pytest.mark.parametrize("policy", list(CoalescePolicy))
def test_a_trigger_not_yet_past_the_pending_fire_time_is_advanced_once(
    policy: CoalescePolicy,
) -> None:
    """A Schedule built by hand with ``next_fire_time`` = the trigger's first fire time and the
    trigger not advanced: its first next() repeats the pending fire time, once; no duplicate."""
    trigger = IntervalTrigger(seconds=10, start_time=START)
    fire_times, last, upcoming, cut_short = due_fire_times(trigger, at(0), at(25), policy)
    expected = {"all": [at(0), at(10), at(20)], "earliest": [at(0)], "latest": [at(20)]}
    assert fire_times == expected[policy.name]
    assert (last, upcoming, cut_short) == (at(20), at(30), False)
    with pytest.raises(TriggerContractError, match="strictly increase"):
        due_fire_times(Scripted([at(0)]), at(0), at(100), policy)  # a repeat once more: caught


def test_instants_not_wall_times_are_compared() -> None:
    """Second-pass fire times of a repeated hour (fold=1) compare lower by wall time."""
    start = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)  # 02:40 CEST, then 02:00 CET
    trigger = CronTrigger(minute="*/20", hour="*", timezone=BERLIN, start_time=start)
    first = trigger.next()
    assert first is not None
    fire_times, last, upcoming, cut_short = due_fire_times(
        trigger, first, start + timedelta(hours=1), CoalescePolicy.all
    )
    assert [t.astimezone(UTC) for t in fire_times] == [
        start + timedelta(minutes=20 * i) for i in range(4)
    ]
    assert not cut_short and upcoming is not None and upcoming.astimezone(UTC) > last


def test_all_is_bounded_per_wakeup_and_continues_exactly() -> None:
    trigger = IntervalTrigger(seconds=1, start_time=START)
    pending = trigger.next()
    now = at(2499)  # 2500 due fire times
    seen: list[datetime] = []
    rounds = 0
    while pending is not None and pending <= now:
        fire_times, last, pending, cut_short = due_fire_times(
            trigger, pending, now, CoalescePolicy.all
        )
        assert len(fire_times) <= MAX_JOBS_PER_WAKEUP
        assert cut_short == (pending is not None and pending <= now)
        seen += fire_times
        rounds += 1
    assert seen == [at(i) for i in range(2500)]
    assert rounds == 3 and pending == at(2500)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(CoalescePolicy.latest, [at(2499)]), (CoalescePolicy.earliest, [at(0)])],
)
def test_coalescing_is_exact_when_skipping_takes_several_wakeups(
    policy: CoalescePolicy, expected: list[datetime]
) -> None:
    trigger = IntervalTrigger(seconds=1, start_time=START)
    pending = trigger.next()
    now = at(2499)
    jobs: list[datetime] = []
    continuing = False
    rounds = 0
    while pending is not None and pending <= now:
        fire_times, last, pending, cut_short = due_fire_times(
            trigger, pending, now, policy, continuing=continuing, max_steps=1000
        )
        jobs += fire_times
        continuing = cut_short
        rounds += 1
    assert jobs == expected
    assert rounds == 3 and pending == at(2500) and last == at(2499)


def test_skipping_on_resume_catches_a_repeating_trigger() -> None:
    with pytest.raises(TriggerContractError, match="strictly increase"):
        skip_fire_times_before(Scripted([at(1)]), at(0), at(100))
    assert skip_fire_times_before(Scripted([at(1), at(2), at(200)]), at(0), at(100)) == at(200)


@pytest.mark.parametrize(
    ("policy", "continuing", "expected"),
    [
        (CoalescePolicy.earliest, False, [at(1)]),
        (CoalescePolicy.earliest, True, []),  # its coalesced job exists already
        (CoalescePolicy.latest, False, [at(1)]),
        (CoalescePolicy.latest, True, [at(1)]),
        (CoalescePolicy.all, False, [at(1)]),
        (CoalescePolicy.all, True, [at(1)]),
    ],
)
def test_a_trigger_that_ran_out_gives_its_last_fire_time(
    policy: CoalescePolicy, continuing: bool, expected: list[datetime]
) -> None:
    trigger = Scripted([None])
    got = due_fire_times(trigger, at(1), at(5), policy, continuing=continuing)
    assert got == (expected, at(1), None, False)
    assert trigger.calls == 1
