"""``__setstate__`` of every built-in trigger validates what it restores: a stored state that
could not have come from ``__getstate__()`` (zero or negative intervals, wrong types, naive
datetimes, an empty combining trigger, an unchecked ``max_iterations``...) is refused with a
``ValueError`` naming the field, never restored into a trigger that repeats a fire time, goes
backwards or raises something else later. Constructors turn ``OverflowError`` into a
``ValueError`` naming the argument."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbsched import TriggerContractError
from nbsched.abc import Trigger
from nbsched.testing import check_trigger
from nbsched.triggers import (
    AndTrigger,
    CalendarIntervalTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    MaxIterationsReached,
    OrTrigger,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 27, 9, tzinfo=BERLIN)

BUILT_IN: dict[str, Callable[[], Trigger]] = {
    "date": lambda: DateTrigger(START),
    "interval": lambda: IntervalTrigger(
        hours=2, start_time=START, end_time=START + timedelta(days=30)
    ),
    "calendar": lambda: CalendarIntervalTrigger(
        months=1,
        hour=9,
        start_date="2026-01-31",
        end_date="2030-01-01",
        timezone=BERLIN,
    ),
    "cron": lambda: CronTrigger(
        hour="9-17", day_of_week="mon-fri", start_time=START, end_time="2027-01-01T00:00:00+01:00"
    ),
    "crontab": lambda: CronTrigger.from_crontab("*/20 1-3 * * *", BERLIN, start_time=START),
    "and": lambda: AndTrigger(
        [CronTrigger(hour="9-17", timezone=BERLIN, start_time=START),
         IntervalTrigger(hours=2, start_time=START)],
        threshold=2,
        max_iterations=500,
    ),
    "or": lambda: OrTrigger(
        [IntervalTrigger(hours=5, start_time=START),
         CronTrigger(hour=2, timezone=BERLIN, start_time=START)]
    ),
}  # fmt: skip


def state_of(kind: str, advance: int = 2) -> dict[str, Any]:
    trigger = BUILT_IN[kind]()
    for _ in range(advance):
        trigger.next()
    return json.loads(json.dumps(trigger.__getstate__()))


def restore(kind: str, state: Any) -> Trigger:
    cls = type(BUILT_IN[kind]())
    trigger = cls.__new__(cls)
    trigger.__setstate__(state)
    return trigger


def child(trigger: Trigger) -> dict[str, Any]:
    cls = type(trigger)
    return {"type": f"{cls.__module__}:{cls.__qualname__}", "state": trigger.__getstate__()}


def put(path: tuple[Any, ...], value: Any) -> Callable[[Any], Any]:
    def mutate(state: Any) -> Any:
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return state

    return mutate


def drop(*path: Any) -> Callable[[Any], Any]:
    def mutate(state: Any) -> Any:
        target = state
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return state

    return mutate


ZERO_INTERVAL = {"weeks": 0, "days": 0, "hours": 0, "minutes": 0, "seconds": 0, "microseconds": 0}
ZERO_CALENDAR = {"years": 0, "months": 0, "weeks": 0, "days": 0}

HOSTILE: list[tuple[str, Callable[[Any], Any], str]] = [
    # (trigger, how the state is spoiled, the field the message must name)
    ("date", lambda s: [], "state"),
    ("date", lambda s: None, "state"),
    ("date", put(("run_time",), "2026-01-01T00:00:00"), "run_time"),
    ("date", put(("run_time",), 42), "run_time"),
    ("date", put(("run_time",), "soon"), "run_time"),
    ("date", put(("run_time",), "2026-01-01T00:00:00+01:00[Nowhere/Land]"), "run_time"),
    ("date", put(("run_time",), "2026-01-01T00:00:00+01:00[Europe/Berlin"), "run_time"),
    ("date", put(("run_time",), "9999-12-31T23:00:00-14:00[Etc/GMT+12]"), "run_time"),
    ("date", put(("completed",), "yes"), "completed"),
    ("date", drop("run_time"), "run_time"),
    ("interval", put(("interval",), ZERO_INTERVAL), "interval"),
    ("interval", put(("interval", "hours"), -2), "hours"),
    ("interval", put(("interval", "hours"), "2"), "hours"),
    ("interval", put(("interval", "hours"), True), "hours"),
    ("interval", put(("interval", "hours"), float("nan")), "hours"),
    ("interval", put(("interval", "hours"), float("inf")), "hours"),
    ("interval", put(("interval", "hours"), 10**30), "interval"),
    ("interval", put(("interval",), ZERO_INTERVAL | {"days": 999999999, "weeks": 1}), "interval"),
    ("interval", drop("interval", "weeks"), "weeks"),
    ("interval", put(("interval",), [2]), "interval"),
    ("interval", put(("start_time",), "2026-01-01T09:00:00"), "start_time"),
    ("interval", put(("start_time",), None), "start_time"),
    ("interval", put(("end_time",), "2020-01-01T00:00:00+00:00"), "end_time"),
    ("interval", put(("next_fire_time",), "2020-01-01T00:00:00+00:00"), "next_fire_time"),
    ("interval", put(("next_fire_time",), "2026-04-01T00:00:00"), "next_fire_time"),
    ("interval", put(("next_fire_time",), []), "next_fire_time"),
    ("calendar", put(("interval",), ZERO_CALENDAR), "interval"),
    ("calendar", put(("interval", "years"), -1), "years"),
    ("calendar", put(("interval", "days"), 1.5), "days"),
    ("calendar", put(("interval", "weeks"), 10**9), "interval"),
    ("calendar", put(("interval", "days"), 10**9), "interval"),
    ("calendar", drop("interval", "months"), "months"),
    ("calendar", put(("time",), [25, 0, 0]), "time"),
    ("calendar", put(("time",), [9, 0]), "time"),
    ("calendar", put(("time",), "09:00"), "time"),
    ("calendar", put(("time",), [9, 0, "0"]), "time"),
    ("calendar", put(("start_date",), "2026-13-01"), "start_date"),
    ("calendar", put(("start_date",), 20260101), "start_date"),
    ("calendar", put(("end_date",), "2020-01-01"), "end_date"),
    ("calendar", put(("timezone",), "Nowhere/Land"), "timezone"),
    ("calendar", put(("timezone",), "+99:00"), "timezone"),
    ("calendar", put(("timezone",), "+"), "timezone"),
    ("calendar", put(("timezone",), ""), "timezone"),
    ("calendar", put(("timezone",), "../../etc/passwd"), "timezone"),
    ("calendar", put(("timezone",), 5), "timezone"),
    ("calendar", put(("last_fire_date",), "2020-01-01"), "last_fire_date"),
    ("calendar", put(("last_fire_date",), "yesterday"), "last_fire_date"),
    ("calendar", put(("done",), "no"), "done"),
    ("cron", put(("fields", "hour"), 9), "hour"),
    ("cron", put(("fields", "hour"), "25"), "hour"),
    ("cron", put(("fields", "hour"), ""), "hour"),
    ("cron", put(("fields", "bogus"), "1"), "bogus"),
    ("cron", put(("fields",), ["hour"]), "fields"),
    ("cron", put(("fields",), None), "fields"),
    ("cron", put(("fields",), {"day": "31", "month": "feb"}), "never fire"),
    ("crontab", put(("crontab",), 5), "crontab"),
    ("crontab", put(("crontab",), "* * *"), "crontab"),
    ("cron", put(("timezone",), "Nowhere/Land"), "timezone"),
    ("cron", put(("timezone",), None), "timezone"),
    ("cron", put(("start_time",), "2026-01-01T09:00:00"), "start_time"),
    ("cron", put(("start_time",), None), "start_time"),
    ("cron", put(("end_time",), "2020-01-01T00:00:00+00:00"), "end_time"),
    ("cron", put(("last_fire_time",), "x"), "last_fire_time"),
    ("cron", put(("last_fire_time",), "2026-04-01T09:00:00"), "last_fire_time"),
    ("and", put(("triggers",), []), "triggers"),
    ("or", put(("triggers",), []), "triggers"),
    ("or", put(("triggers",), "x"), "triggers"),
    ("or", put(("triggers",), [5]), "['triggers'][0]"),
    ("or", put(("triggers",), [child(DateTrigger(START)),
                               {"type": "builtins:object", "state": {}}]),
     "['triggers'][1]"),
    ("or", put(("triggers", 0, "state", "interval", "hours"), 0), "['triggers'][0]"),
    ("or", put(("next_fire_times",), ["2026-01-01T00:00:00+00:00"]), "next_fire_times"),
    ("or", put(("next_fire_times",), "x"), "next_fire_times"),
    ("or", put(("next_fire_times", 0), "2026-01-01T00:00:00"), "['next_fire_times'][0]"),
    ("and", put(("threshold",), -1), "threshold"),
    ("and", put(("threshold",), "1"), "threshold"),
    ("and", put(("threshold",), float("nan")), "threshold"),
    ("and", put(("threshold",), 1e300), "threshold"),
    ("and", put(("max_iterations",), 0), "max_iterations"),
    ("and", put(("max_iterations",), "5"), "max_iterations"),
    ("and", put(("max_iterations",), 2.5), "max_iterations"),
    ("and", put(("max_iterations",), 10**12), "max_iterations"),
    ("and", put(("done",), "x"), "done"),
    ("and", drop("threshold"), "threshold"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "spoil", "field"),
    HOSTILE,
    ids=[f"{kind}-{index}" for index, (kind, _, _) in enumerate(HOSTILE)],
)
def test_hostile_state_is_refused_naming_the_field(
    kind: str, spoil: Callable[[Any], Any], field: str
) -> None:
    state = spoil(state_of(kind))
    with pytest.raises(ValueError) as info:
        restore(kind, state)
    message = str(info.value)
    assert message.startswith("state"), message
    assert field in message, message
    assert len(message) < 1000


@pytest.mark.parametrize("kind", sorted(BUILT_IN))
def test_every_state_getstate_gives_is_accepted(kind: str) -> None:
    for advance in (0, 1, 7):
        trigger = BUILT_IN[kind]()
        for _ in range(advance):
            trigger.next()
        restored = restore(kind, json.loads(json.dumps(trigger.__getstate__())))
        assert restored == trigger
    exhausted = BUILT_IN["date"]()
    list(exhausted)
    assert restore("date", exhausted.__getstate__()) == exhausted


def test_deeply_nested_combining_state_is_refused_with_a_short_message() -> None:
    state = state_of("or", advance=0)
    for _ in range(3000):
        nested = {"type": "nbsched.triggers.combining:OrTrigger", "state": state}
        state = {"version": 1, "triggers": [nested], "next_fire_times": None}
    with pytest.raises(ValueError) as info:
        restore("or", state)
    assert "['triggers'][0]" in str(info.value) and len(str(info.value)) < 1000


# --- hypothesis: whatever the stored data, ValueError or a trigger that keeps the contract ----

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.sampled_from([0, -1, 1, 10**9, 999999999, 2**63, float("nan"), float("inf"), -0.5, 1e300])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from([
        "2026-03-29T02:30:00+01:00", "2026-03-29T02:30:00",
        "2026-03-29T03:00:00+02:00[Europe/Berlin]",
        "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+00:00[UTC]",
        "2026-01-01", "0001-01-01", "9999-12-31", "Europe/Berlin", "+05:30", "-24:00", "+23:59:59",
        "UTC", "Nowhere/Land", "* * * * *", "*/0", "last", "1-5/2", "0 0 31 2 *",
    ])
)  # fmt: skip
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


@st.composite
def spoiled_states(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(sorted(BUILT_IN)))
    state: Any = state_of(kind, advance=draw(st.integers(0, 3)))
    for _ in range(draw(st.integers(1, 3))):
        places = [p for p in paths(state) if p != ("version",)]
        path = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            if action == "replace":
                state = draw(JSON_VALUES)
            continue
        parent = state
        for key in path[:-1]:
            parent = parent[key]
        if action == "replace" or not isinstance(parent, dict):
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[path[-1]]
        else:
            parent[draw(st.text(max_size=6))] = draw(JSON_VALUES)
    return kind, state


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spoiled_states())
def test_any_spoiled_state_is_refused_or_keeps_the_contract(case: tuple[str, Any]) -> None:
    kind, state = case
    original = copy.deepcopy(state)
    try:
        trigger = restore(kind, state)
    except ValueError as exc:
        assert str(exc).startswith("state"), exc
        return
    finally:
        assert state == original or state != state  # NaN inside: not equal to itself
    try:
        check_trigger(trigger, n=40, seed=1)
    except TriggerContractError as exc:
        # an AndTrigger whose triggers never agree says so: not a broken contract
        if not isinstance(exc.values, MaxIterationsReached):
            raise


# --- constructors: OverflowError becomes a ValueError naming the argument ----------------------

E14 = timezone(timedelta(hours=-14))
E12 = timezone(timedelta(hours=-12))
W14 = timezone(timedelta(hours=14))


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: IntervalTrigger(days=999999999, weeks=1, start_time=START), "weeks"),
        (lambda: IntervalTrigger(seconds=float("inf"), start_time=START), "seconds"),
        (lambda: IntervalTrigger(seconds=float("nan"), start_time=START), "seconds"),
        (lambda: IntervalTrigger(seconds=1e300, start_time=START), "seconds"),
        (lambda: IntervalTrigger(microseconds=10**30, start_time=START), "microseconds"),
        (lambda: IntervalTrigger(hours=1, start_time=datetime(9999, 12, 31, 23, tzinfo=E14)),
         "start_time"),
        (lambda: IntervalTrigger(hours=1, start_time=datetime(1, 1, 1, 1, tzinfo=W14)),
         "start_time"),
        (lambda: IntervalTrigger(hours=1, start_time=START,
                                 end_time=datetime(9999, 12, 31, 23, tzinfo=E14)), "end_time"),
        (lambda: CalendarIntervalTrigger(days=10**9, timezone="UTC"), "days"),
        (lambda: CalendarIntervalTrigger(weeks=10**9, timezone="UTC"), "weeks"),
        (lambda: CalendarIntervalTrigger(days=1, timezone="UTC",
                                         start_date=datetime(9999, 12, 31, 23, tzinfo=E14)),
         "start_date"),
        (lambda: DateTrigger(datetime(9999, 12, 31, 23, tzinfo=E14)), "run_time"),
        (lambda: DateTrigger(datetime(1, 1, 1, 1, tzinfo=W14)), "run_time"),
        (lambda: DateTrigger(datetime(1, 1, 1, 0, tzinfo=BERLIN)), "run_time"),
        (lambda: CronTrigger(hour=1, start_time=datetime(9999, 12, 31, 23, tzinfo=E14),
                             timezone="UTC"), "start_time"),
        (lambda: CronTrigger(hour=1, start_time=datetime(1, 1, 1, tzinfo=W14), timezone="UTC"),
         "start_time"),
        (lambda: AndTrigger([DateTrigger(START)], threshold=1e300), "threshold"),
        (lambda: AndTrigger([DateTrigger(START)], threshold=float("inf")), "threshold"),
        (lambda: AndTrigger([DateTrigger(START)], threshold=float("nan")), "threshold"),
        (lambda: AndTrigger([DateTrigger(START)], threshold=10**30), "threshold"),
        (lambda: AndTrigger([DateTrigger(START)], max_iterations=10**12), "max_iterations"),
    ],
)  # fmt: skip
def test_constructors_turn_overflow_into_a_value_error_naming_the_argument(
    make: Callable[[], Trigger], argument: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{re.escape(argument)}\b"):
        make()


AT_THE_END: list[Callable[[], Trigger]] = [
    lambda: CalendarIntervalTrigger(days=1, start_date="9999-12-31", timezone="UTC"),
    lambda: CalendarIntervalTrigger(days=1, start_date="9999-12-30", timezone=BERLIN),
    lambda: CalendarIntervalTrigger(days=1, hour=23, start_date="9999-12-25", timezone=E12),
    lambda: CronTrigger(hour=23, start_time=datetime(9999, 12, 30, tzinfo=UTC), timezone=BERLIN),
    lambda: CronTrigger(hour="*", minute="*",
                        start_time=datetime(9999, 12, 31, 22, 58, tzinfo=UTC),
                        timezone="Etc/GMT+12"),
    lambda: CronTrigger(minute="*/7", hour="11-13", start_time=datetime(9999, 12, 20, tzinfo=UTC),
                        timezone="America/Los_Angeles"),
    lambda: CronTrigger(hour="*", minute="*",
                        start_time=datetime(9999, 12, 31, 23, 10, tzinfo=UTC),
                        timezone="Etc/GMT+12"),
    lambda: IntervalTrigger(hours=1, start_time=datetime(9999, 12, 31, 22, tzinfo=UTC)),
    lambda: IntervalTrigger(hours=1, start_time=datetime(9999, 12, 31, 1, tzinfo=W14)),
    lambda: DateTrigger(datetime(9999, 12, 31, 23, 59, tzinfo=UTC)),
    lambda: OrTrigger([IntervalTrigger(hours=5, start_time=datetime(9999, 12, 31, 1, tzinfo=W14)),
                       CronTrigger(hour="*", start_time=datetime(9999, 12, 30, tzinfo=W14),
                                   timezone=E12)]),
]  # fmt: skip


@pytest.mark.parametrize("index", range(len(AT_THE_END)))
def test_triggers_at_the_end_of_time_exhaust(index: int) -> None:
    """No OverflowError from next() or the state near the year 9999: a fire time past what a
    datetime holds (in UTC or in the trigger's zone) exhausts the trigger."""
    report = check_trigger(AT_THE_END[index](), n=1000, seed=3)
    assert report.exhausted
    assert report.last is not None and report.last.year >= 9999


@pytest.mark.parametrize("zone", [BERLIN, ZoneInfo("Pacific/Kiritimati"), W14])
def test_a_calendar_trigger_from_the_year_1_skips_the_dates_before_utc_begins(zone: Any) -> None:
    trigger = CalendarIntervalTrigger(days=1, start_date="0001-01-01", timezone=zone)
    report = check_trigger(trigger, n=50, seed=3)
    assert report.first is not None
    assert report.first.astimezone(UTC).date() == date(1, 1, 1)


def test_a_huge_calendar_interval_fires_once() -> None:
    trigger = CalendarIntervalTrigger(years=10**20, months=10**20, start_date="2026-01-01")
    assert [trigger.next() for _ in range(3)][1:] == [None, None]
