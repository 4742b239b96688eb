"""Value equality of the built-in triggers: two triggers are equal when they are of the same
class and have the same state (``__getstate__()``): the same configuration and the same
position in their sequence. ``repr`` evaluates back to an equal trigger. Triggers are mutable
(``next()`` advances them), so they are unhashable, as APScheduler 4's are."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from trigger_samples import BERLIN, SAMPLES, START, take

from nbsched import Schedule
from nbsched._marshalling import clone_trigger, trigger_from_state, trigger_to_state
from nbsched.abc import Trigger
from nbsched.triggers import (
    AndTrigger,
    CalendarIntervalTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    OrTrigger,
)

NAMESPACE = {
    "datetime": dt,
    "zoneinfo": zoneinfo,
    "AndTrigger": AndTrigger,
    "CalendarIntervalTrigger": CalendarIntervalTrigger,
    "CronTrigger": CronTrigger,
    "DateTrigger": DateTrigger,
    "IntervalTrigger": IntervalTrigger,
    "OrTrigger": OrTrigger,
}

#: the samples, and triggers whose start is "now" (compared with one another only)
BUILT_IN: dict[str, Callable[[], Trigger]] = {
    **SAMPLES,
    "interval-default-start": lambda: IntervalTrigger(hours=1),
    "calendar-default-start": lambda: CalendarIntervalTrigger(weeks=1, timezone="UTC"),
    "cron-default-start": lambda: CronTrigger(minute="*/5", hour="*", timezone=BERLIN),
    "cron-crontab-default-start": lambda: CronTrigger.from_crontab("@hourly", timezone="UTC"),
}


@pytest.mark.parametrize("kind", sorted(BUILT_IN))
def test_repr_evaluates_back_to_an_equal_trigger(kind: str) -> None:
    trigger = BUILT_IN[kind]()
    rebuilt = eval(repr(trigger), NAMESPACE)
    assert type(rebuilt) is type(trigger)
    assert rebuilt == trigger
    assert not (rebuilt != trigger)
    assert take(rebuilt, 30) == take(trigger, 30)
    assert rebuilt == trigger  # still in step


@pytest.mark.parametrize("advanced", [0, 1, 5])
@pytest.mark.parametrize("kind", sorted(BUILT_IN))
def test_equal_by_position(kind: str, advanced: int) -> None:
    trigger = BUILT_IN[kind]()
    take(trigger, advanced)
    copy = clone_trigger(trigger)
    restored = trigger_from_state(trigger_to_state(trigger))
    assert copy == trigger and restored == trigger
    copy.next()
    if trigger.__getstate__() != copy.__getstate__():  # not already exhausted
        assert copy != trigger
        assert not (copy == trigger)
        trigger.next()
        assert copy == trigger


@pytest.mark.parametrize("kind", sorted(BUILT_IN))
def test_unhashable_as_they_are_mutable(kind: str) -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(BUILT_IN[kind]())


@pytest.mark.parametrize("kind", sorted(BUILT_IN))
def test_never_equal_to_another_class(kind: str) -> None:
    trigger = BUILT_IN[kind]()
    assert trigger != object()
    assert trigger != trigger.__getstate__()
    others = [
        make() for name, make in BUILT_IN.items() if name.split("-")[0] != kind.split("-")[0]
    ]
    assert all(trigger != other for other in others)


class _Subclass(IntervalTrigger):
    __slots__ = ()


def test_a_subclass_is_not_equal_to_its_base() -> None:
    base = IntervalTrigger(hours=1, start_time=START)
    sub = _Subclass(hours=1, start_time=START)
    assert base != sub and sub != base


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (lambda: DateTrigger(START), lambda: DateTrigger(START + timedelta(seconds=1))),
        # the same instant in another zone: fire times come back in another zone
        (lambda: DateTrigger(START), lambda: DateTrigger(START.astimezone(timezone.utc))),
        (
            lambda: IntervalTrigger(hours=1, start_time=START),
            lambda: IntervalTrigger(hours=2, start_time=START),
        ),
        (
            lambda: IntervalTrigger(hours=1, start_time=START),
            lambda: IntervalTrigger(hours=1, start_time=START, end_time=START + timedelta(days=1)),
        ),
        (
            lambda: CalendarIntervalTrigger(days=1, start_date="2026-01-01", timezone=BERLIN),
            lambda: CalendarIntervalTrigger(days=1, start_date="2026-01-01", timezone="UTC"),
        ),
        (
            lambda: CalendarIntervalTrigger(days=1, start_date="2026-01-01", timezone=BERLIN),
            lambda: CalendarIntervalTrigger(
                days=1, hour=1, start_date="2026-01-01", timezone=BERLIN
            ),
        ),
        (
            lambda: CronTrigger(hour=9, timezone=BERLIN, start_time=START),
            lambda: CronTrigger(hour=10, timezone=BERLIN, start_time=START),
        ),
        (
            lambda: CronTrigger(hour=9, timezone=BERLIN, start_time=START),
            lambda: CronTrigger(hour=9, timezone="UTC", start_time=START),
        ),
        (
            lambda: CronTrigger(hour=9, timezone=BERLIN, start_time=START),
            lambda: CronTrigger(hour=9, timezone=BERLIN, start_time=START + timedelta(days=1)),
        ),
        (
            lambda: CronTrigger.from_crontab("0 9 * * *", timezone=BERLIN, start_time=START),
            lambda: CronTrigger(minute=0, hour=9, timezone=BERLIN, start_time=START),
        ),
        (
            lambda: AndTrigger([DateTrigger(START)], threshold=1),
            lambda: AndTrigger([DateTrigger(START)], threshold=2),
        ),
        (
            lambda: AndTrigger([DateTrigger(START)]),
            lambda: AndTrigger([DateTrigger(START)], max_iterations=3),
        ),
        (
            lambda: OrTrigger([DateTrigger(START)]),
            lambda: OrTrigger([DateTrigger(START + timedelta(hours=1))]),
        ),
        (
            lambda: OrTrigger([DateTrigger(START), DateTrigger(START + timedelta(hours=1))]),
            lambda: OrTrigger([DateTrigger(START + timedelta(hours=1)), DateTrigger(START)]),
        ),
    ],
)
def test_a_different_configuration_is_unequal(
    first: Callable[[], Trigger], second: Callable[[], Trigger]
) -> None:
    assert first() != second()
    assert first() == first() and second() == second()


def test_the_two_passes_of_a_repeated_hour_are_different_positions() -> None:
    """Python compares datetimes of one zone by wall time, ignoring ``fold``; positions on
    either side of a fall-back change must still differ."""
    start = datetime(2026, 10, 25, 1, 59, tzinfo=BERLIN)
    first_pass = CronTrigger(minute="*/30", hour="*", timezone=BERLIN, start_time=start)
    second_pass = clone_trigger(first_pass)
    take(first_pass, 2)  # 02:00 and 02:30 CEST
    times = take(second_pass, 4)  # ... then 02:00 and 02:30 CET
    assert [t.fold for t in times] == [0, 0, 1, 1]  # type: ignore[union-attr]
    assert first_pass != second_pass
    take(first_pass, 2)
    assert first_pass == second_pass


def test_schedules_with_equal_triggers_compare_equal() -> None:
    def schedule(trigger: Trigger) -> Schedule:
        return Schedule(id="s", task_id="t", trigger=trigger, next_fire_time=START)

    assert schedule(BUILT_IN["cron"]()) == schedule(BUILT_IN["cron"]())
    assert schedule(BUILT_IN["cron"]()) != schedule(BUILT_IN["calendar"]())


@pytest.mark.parametrize(
    ("kind", "attribute"),
    [
        ("cron", "timezone"),
        ("interval", "start_time"),
        ("interval", "end_time"),
        ("calendar", "start_date"),
        ("calendar", "end_date"),
        ("calendar", "timezone"),
        ("date", "run_time"),
    ],
)
def test_arguments_are_read_only(kind: str, attribute: str) -> None:
    """Setting an argument after construction would change the fire times but not what
    repr, str and the stored state say: build a new trigger instead."""
    trigger = BUILT_IN[kind]()
    before = (repr(trigger), trigger.__getstate__(), getattr(trigger, attribute))
    with pytest.raises(AttributeError):
        setattr(trigger, attribute, START + timedelta(days=100))
    assert (repr(trigger), trigger.__getstate__(), getattr(trigger, attribute)) == before


def test_setting_a_cron_triggers_start_and_end_times_is_followed_by_everything() -> None:
    """As in APScheduler 4, ``start_time`` and ``end_time`` of a cron trigger may be set after
    construction: fire times, repr, state and equality all follow."""
    trigger = CronTrigger(hour="*", minute=0, timezone=BERLIN)
    trigger.start_time = datetime(2024, 10, 27, 2, 0)  # naive: read in the trigger's zone
    trigger.end_time = "2024-10-27T04:00:00+01:00"
    built = CronTrigger(
        hour="*",
        minute=0,
        start_time=datetime(2024, 10, 27, 2, 0, tzinfo=BERLIN),
        end_time=datetime(2024, 10, 27, 4, 0, tzinfo=BERLIN),
        timezone=BERLIN,
    )
    assert repr(trigger) == repr(built) and trigger == built
    assert eval(repr(trigger), NAMESPACE) == trigger
    times = [(t.isoformat(), t.fold) for t in trigger]
    assert times == [
        ("2024-10-27T02:00:00+02:00", 0),
        ("2024-10-27T02:00:00+01:00", 1),
        ("2024-10-27T03:00:00+01:00", 0),
        ("2024-10-27T04:00:00+01:00", 0),
    ]
    # an exhausted trigger given a later end goes on from where it stopped
    trigger.end_time = datetime(2024, 10, 27, 6, 0, tzinfo=BERLIN)
    assert [t.hour for t in trigger] == [5, 6]


def test_setting_a_cron_start_time_midway_moves_the_search() -> None:
    trigger = CronTrigger(minute="*/10", hour="*", timezone=BERLIN, start_time=START)
    assert [t.minute for t in take(trigger, 3)] == [0, 10, 20]  # type: ignore[union-attr]
    trigger.start_time = START + timedelta(hours=2)
    assert take(trigger, 2) == [START + timedelta(hours=2), START + timedelta(hours=2, minutes=10)]
    assert trigger.__getstate__()["start_time"].startswith("2026-03-27T11:00:00+01:00")


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("start_time", "soon", "^start_time: 'soon' is not an ISO 8601"),
        ("start_time", None, "^start_time: expected a datetime"),
        ("end_time", START - timedelta(days=1), "^end_time: .* is before start_time"),
        ("start_time", START + timedelta(days=10), "^end_time: .* is before start_time"),
    ],
)
def test_setting_a_bad_cron_start_or_end_time_is_refused_and_changes_nothing(
    attribute: str, value: object, message: str
) -> None:
    trigger = CronTrigger(hour=9, timezone=BERLIN, start_time=START, end_time=START + timedelta(9))
    before = trigger.__getstate__()
    with pytest.raises((ValueError, TypeError), match=message):
        setattr(trigger, attribute, value)
    assert trigger.__getstate__() == before
