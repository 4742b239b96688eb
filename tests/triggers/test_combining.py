from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.combining import AndTrigger as APSAndTrigger
from apscheduler.triggers.combining import OrTrigger as APSOrTrigger
from apscheduler.triggers.cron import CronTrigger as APSCronTrigger
from apscheduler.triggers.interval import IntervalTrigger as APSIntervalTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsched.testing import check_trigger
from nbsched.triggers import (
    AndTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    MaxIterationsReached,
    OrTrigger,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 1, 5, 0, tzinfo=UTC)  # a Monday


def take(trigger, count: int) -> list[datetime | None]:
    return [trigger.next() for _ in range(count)]


def every(start: datetime = START, **kwargs: Any) -> IntervalTrigger:
    return IntervalTrigger(**kwargs, start_time=start)


# --- AndTrigger ------------------------------------------------------------------------------


def test_and_fires_when_all_agree() -> None:
    trigger = AndTrigger([every(hours=2), every(hours=3)])
    assert take(trigger, 3) == [START + timedelta(hours=h) for h in (0, 6, 12)]


def test_and_threshold_returns_the_earliest_of_close_fire_times() -> None:
    late = START + timedelta(seconds=30)
    trigger = AndTrigger([every(late, hours=1), every(START, minutes=20)], threshold=60)
    assert take(trigger, 2) == [START, START + timedelta(hours=1)]
    strict = AndTrigger([every(late, hours=1), every(START, minutes=20)], threshold=0)
    with pytest.raises(MaxIterationsReached):
        strict.next()


def test_and_threshold_accepts_timedelta() -> None:
    trigger = AndTrigger([every(hours=1)], threshold=timedelta(minutes=2))
    assert trigger.threshold == timedelta(minutes=2)


def test_and_is_exhausted_when_any_trigger_is() -> None:
    trigger = AndTrigger([every(hours=1), DateTrigger(START + timedelta(hours=5))])
    assert take(trigger, 4) == [START + timedelta(hours=5), None, None, None]


def test_and_gives_up_after_max_iterations() -> None:
    never = AndTrigger(
        [every(hours=2), every(START + timedelta(hours=1), hours=2)],
        threshold=0,
        max_iterations=50,
    )
    with pytest.raises(MaxIterationsReached, match="no common fire time found in 50 iterations"):
        never.next()


def test_and_catches_up_a_lagging_interval_in_one_jump() -> None:
    calls = []

    class Counting(IntervalTrigger):
        __slots__ = ()

        def next(self):
            calls.append(1)
            return super().next()

    seconds = Counting(seconds=1, start_time=START)
    trigger = AndTrigger([seconds, DateTrigger(START + timedelta(days=30))], threshold=0)
    assert trigger.next() == START + timedelta(days=30)
    assert len(calls) <= 3  # not the 2.6 million calls of stepping


def test_and_compares_instants_not_wall_clocks_across_fall_back() -> None:
    # 02:30 second occurrence (01:30 UTC) is later than 02:45 first occurrence (00:45 UTC).
    second_0230 = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1)
    first_0245 = datetime(2026, 10, 25, 2, 45, tzinfo=BERLIN)
    trigger = AndTrigger(
        [DateTrigger(second_0230), DateTrigger(first_0245)], threshold=timedelta(hours=1)
    )
    fire_time = trigger.next()
    assert fire_time == first_0245 and fire_time.utcoffset() == timedelta(hours=2)  # type: ignore[union-attr]


def test_and_with_cron_office_hours() -> None:
    office = CronTrigger(hour="9-17", day_of_week="mon-fri", timezone=BERLIN, start_time=START)
    trigger = AndTrigger([office, every(datetime(2026, 1, 5, 9, tzinfo=BERLIN), hours=2)])
    fire_times = take(trigger, 12)
    assert [(t.weekday(), t.hour) for t in fire_times] == [  # type: ignore[union-attr]
        (0, 9), (0, 11), (0, 13), (0, 15), (0, 17),
        (1, 9), (1, 11), (1, 13), (1, 15), (1, 17),
        (2, 9), (2, 11),
    ]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    first=st.integers(1, 48 * 60),
    second=st.integers(1, 48 * 60),
    shift=st.integers(0, 5),
    threshold=st.sampled_from([0, 1, 30]),
)
def test_property_and_matches_apscheduler_4_in_utc(
    first: int, second: int, shift: int, threshold: int
) -> None:
    # Two intervals of a and b minutes meet iff the offset of their starts is a multiple of
    # gcd(a, b): keep to those, so both libraries have fire times to compare.
    second_start = START + timedelta(minutes=shift * math.gcd(first, second))
    ours = AndTrigger(
        [every(minutes=first), every(second_start, minutes=second)], threshold=threshold
    )
    theirs = APSAndTrigger(
        [
            APSIntervalTrigger(minutes=first, start_time=START),
            APSIntervalTrigger(minutes=second, start_time=second_start),
        ],
        threshold=threshold,
    )
    assert take(ours, 5) == take(theirs, 5)


def test_and_matches_apscheduler_4_with_cron_in_utc() -> None:
    fields = {"minute": "*/15", "hour": "9-17", "day_of_week": "mon-fri"}
    ours = AndTrigger(
        [
            CronTrigger(**fields, timezone="UTC", start_time=START),
            every(hours=1, minutes=5),
        ]
    )
    theirs = APSAndTrigger(
        [
            APSCronTrigger(**fields, timezone="UTC", start_time=START),
            APSIntervalTrigger(hours=1, minutes=5, start_time=START),
        ]
    )
    assert take(ours, 40) == take(theirs, 40)


# --- OrTrigger -------------------------------------------------------------------------------


def test_or_merges_in_time_order_and_fires_shared_moments_once() -> None:
    trigger = OrTrigger([every(hours=2), every(hours=3)])
    assert take(trigger, 5) == [START + timedelta(hours=h) for h in (0, 2, 3, 4, 6)]


def test_or_shared_moment_in_different_zones_fires_once() -> None:
    trigger = OrTrigger([DateTrigger(START), DateTrigger(START.astimezone(BERLIN))])
    assert take(trigger, 3) == [START, None, None]


def test_or_is_exhausted_when_all_triggers_are() -> None:
    trigger = OrTrigger([DateTrigger(START + timedelta(hours=1)), DateTrigger(START)])
    assert take(trigger, 4) == [START, START + timedelta(hours=1), None, None]


def test_or_orders_instants_across_fall_back() -> None:
    second_0230 = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1)
    first_0245 = datetime(2026, 10, 25, 2, 45, tzinfo=BERLIN)
    trigger = OrTrigger([DateTrigger(second_0230), DateTrigger(first_0245)])
    fire_times = take(trigger, 2)
    assert [t.utcoffset() for t in fire_times] == [timedelta(hours=2), timedelta(hours=1)]  # type: ignore[union-attr]


def test_or_matches_apscheduler_4_in_utc() -> None:
    ours = OrTrigger([every(minutes=7), every(START + timedelta(minutes=3), minutes=11)])
    theirs = APSOrTrigger(
        [
            APSIntervalTrigger(minutes=7, start_time=START),
            APSIntervalTrigger(minutes=11, start_time=START + timedelta(minutes=3)),
        ]
    )
    assert take(ours, 200) == take(theirs, 200)


def test_and_of_or_fast_forwards_through_the_or() -> None:
    either = OrTrigger([every(hours=5), every(hours=7)])
    trigger = AndTrigger([either, DateTrigger(START + timedelta(hours=35))])
    assert trigger.next() == START + timedelta(hours=35)


# --- both ------------------------------------------------------------------------------------


@pytest.mark.parametrize("combining", [AndTrigger, OrTrigger])
@pytest.mark.parametrize(
    ("triggers", "error", "message"),
    [
        ([], ValueError, "triggers: expected at least one trigger, got an empty list"),
        ("every 5 minutes", TypeError, "triggers: expected a list of triggers, got 'every"),
        (None, TypeError, "triggers: expected a list of triggers, got None"),
        ([DateTrigger(START), "0 9 * * *"], TypeError,
         "triggers[1]: expected a Trigger (nbsched.abc.Trigger), got str '0 9 * * *'"),
    ],
)  # fmt: skip
def test_bad_triggers(combining, triggers: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        combining(triggers)


def test_a_single_trigger_is_not_a_list() -> None:
    with pytest.raises(TypeError, match="^triggers: expected a list of triggers, got DateTrigger"):
        OrTrigger(DateTrigger(START))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"threshold": -1}, ValueError, "threshold: must be zero or positive, got -1"),
        ({"threshold": "1s"}, TypeError, "threshold: expected a timedelta or a number of seconds"),
        ({"max_iterations": 0}, ValueError, "max_iterations: must be at least 1, got 0"),
        ({"max_iterations": 2.5}, TypeError, "max_iterations: expected an int, got 2.5"),
    ],
)
def test_and_bad_options(kwargs: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        AndTrigger([DateTrigger(START)], **kwargs)


def test_str_and_repr() -> None:
    date = DateTrigger(datetime(2026, 12, 1, 18, tzinfo=BERLIN))
    interval = every(datetime(2026, 1, 1, 9, tzinfo=BERLIN), hours=2)
    both = AndTrigger([interval, OrTrigger([date, interval])])
    assert str(both) == (
        "when all of (within 1 second): every 2 hours from 2026-01-01 09:00 (Europe/Berlin); "
        "(when any of: once at 2026-12-01 18:00 (Europe/Berlin); every 2 hours from "
        "2026-01-01 09:00 (Europe/Berlin))"
    )
    assert str(AndTrigger([date], threshold=0)) == (
        "when all of: once at 2026-12-01 18:00 (Europe/Berlin)"
    )
    assert repr(both) == (
        f"AndTrigger([{interval!r}, OrTrigger([{date!r}, {interval!r}])], threshold=1.0, "
        f"max_iterations=10000)"
    )


def _tree() -> AndTrigger:
    office = CronTrigger(hour="9-17", day_of_week="mon-fri", timezone=BERLIN, start_time=START)
    return AndTrigger(
        [
            OrTrigger([office, DateTrigger(datetime(2026, 1, 10, 12, tzinfo=BERLIN))]),
            every(datetime(2026, 1, 5, 9, tzinfo=BERLIN), hours=1),
        ],
        threshold=timedelta(seconds=2.5),
        max_iterations=500,
    )


@pytest.mark.parametrize("advance", [0, 1, 7])
def test_state_round_trip(round_trip, advance: int) -> None:
    round_trip(_tree(), advance)
    round_trip(OrTrigger([every(hours=5), every(hours=7), DateTrigger(START)]), advance)


def test_state_round_trip_when_exhausted(round_trip) -> None:
    assert round_trip(AndTrigger([DateTrigger(START), every(hours=1)]), 2) == [None] * 20
    assert round_trip(OrTrigger([DateTrigger(START)]), 2) == [None] * 20


def test_contract_across_dst(dst_zone) -> None:
    start = (dst_zone.fold.utc - timedelta(hours=3)).astimezone(dst_zone.zone)
    check_trigger(OrTrigger([every(start, minutes=20), every(start, minutes=45)]), n=300, seed=4)
    check_trigger(AndTrigger([every(start, minutes=20), every(start, minutes=30)]), n=300, seed=4)


@pytest.mark.parametrize("combining", [AndTrigger, OrTrigger])
def test_refuses_unknown_state_version(combining) -> None:
    trigger = combining([DateTrigger(START)])
    state = trigger.__getstate__()
    state["version"] = 0
    with pytest.raises(ValueError, match=f"{combining.__name__} state has version 0"):
        trigger.__setstate__(state)
