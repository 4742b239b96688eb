from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nbsched._localzone import get_local_timezone
from nbsched.testing import check_trigger
from nbsched.triggers import IntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
START = datetime(2026, 1, 1, 9, tzinfo=BERLIN)


class _Unnamed(dt.tzinfo):
    """A zone with no IANA name: its state could not be stored."""

    def utcoffset(self, value: datetime | None) -> timedelta:
        return timedelta(hours=3)

    def dst(self, value: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, value: datetime | None) -> str:
        raise NotImplementedError  # as tzinfo's own: no name


def take(trigger: IntervalTrigger, count: int) -> list[datetime | None]:
    return [trigger.next() for _ in range(count)]


def test_fires_at_start_then_every_interval() -> None:
    trigger = IntervalTrigger(minutes=5, start_time=START)
    assert take(trigger, 3) == [START, START + timedelta(minutes=5), START + timedelta(minutes=10)]


def test_components_add_up() -> None:
    trigger = IntervalTrigger(
        weeks=1, days=1, hours=1, minutes=1, seconds=1, microseconds=1, start_time=START
    )
    first, second = take(trigger, 2)
    assert first is not None and second is not None
    assert second - first == timedelta(
        weeks=1, days=1, hours=1, minutes=1, seconds=1, microseconds=1
    )
    assert trigger.interval == second - first


def test_float_components() -> None:
    trigger = IntervalTrigger(seconds=0.25, start_time=START)
    first, second = take(trigger, 2)
    assert second - first == timedelta(milliseconds=250)  # type: ignore[operator]


def test_end_time_is_inclusive_and_exhaustion_is_final() -> None:
    end = START + timedelta(hours=2)
    trigger = IntervalTrigger(hours=1, start_time=START, end_time=end)
    assert take(trigger, 6) == [START, START + timedelta(hours=1), end, None, None, None]


def test_start_time_defaults_to_now_in_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    before = datetime.now(UTC)
    trigger = IntervalTrigger(seconds=10)
    after = datetime.now(UTC)
    assert get_local_timezone() == ZoneInfo("America/New_York")
    assert trigger.start_time.tzinfo == ZoneInfo("America/New_York")
    assert before <= trigger.start_time <= after


def test_accepts_iso_strings() -> None:
    trigger = IntervalTrigger(
        hours=1, start_time="2026-01-01T09:00:00+01:00", end_time="2026-01-01T10:00:00+01:00"
    )
    assert take(trigger, 3) == [START, START + timedelta(hours=1), None]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "IntervalTrigger: the interval must be positive, got weeks=0, days=0, "
         "hours=0, minutes=0, seconds=0, microseconds=0"),
        ({"minutes": -5, "hours": 1}, ValueError, "minutes: must not be negative, got -5"),
        ({"seconds": "5"}, TypeError, "seconds: expected a number, got str '5'"),
        ({"hours": True}, TypeError, "hours: expected a number, got bool True"),
        ({"hours": 1, "start_time": datetime(2026, 1, 1, 9)}, ValueError,
         "start_time: datetime.datetime(2026, 1, 1, 9, 0) is a naive datetime"),
        ({"hours": 1, "start_time": START, "end_time": START - timedelta(seconds=1)},
         ValueError, "end_time: 2026-01-01T08:59:59+01:00 is before start_time "
         "2026-01-01T09:00:00+01:00"),
        ({"hours": 1, "start_time": "tomorrow"}, ValueError, "start_time: 'tomorrow' is not"),
        ({"hours": 1, "start_time": datetime(2026, 1, 1, tzinfo=_Unnamed())}, ValueError,
         "start_time: time zone <test_interval._Unnamed object"),
    ],
)  # fmt: skip
def test_bad_input(kwargs: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        IntervalTrigger(**kwargs)


def test_str_and_repr() -> None:
    assert str(IntervalTrigger(hours=2, start_time=START)) == (
        "every 2 hours from 2026-01-01 09:00 (Europe/Berlin)"
    )
    assert str(IntervalTrigger(minutes=5, start_time=START)).startswith("every 5 minutes from")
    assert str(IntervalTrigger(hours=1, start_time=START)).startswith("every hour from")
    trigger = IntervalTrigger(
        hours=1, minutes=30, start_time=START, end_time=START + timedelta(days=1)
    )
    assert str(trigger) == (
        "every 1 hour and 30 minutes from 2026-01-01 09:00 (Europe/Berlin) "
        "until 2026-01-02 09:00 (Europe/Berlin)"
    )
    namespace = {"IntervalTrigger": IntervalTrigger, "datetime": dt, "zoneinfo": zoneinfo}
    rebuilt = eval(repr(trigger), namespace)
    assert repr(rebuilt) == repr(trigger)
    assert take(rebuilt, 5) == take(trigger, 5)


def test_fire_times_are_in_the_zone_of_start_time() -> None:
    trigger = IntervalTrigger(hours=5, start_time=START)
    assert all(t.tzinfo is BERLIN for t in take(trigger, 10))  # type: ignore[union-attr]


@pytest.mark.parametrize("change", ["gap", "fold"])
def test_keeps_real_elapsed_time_across_dst(dst_zone, change: str) -> None:
    shift = getattr(dst_zone, change)
    zone = dst_zone.zone
    start = (shift.utc - timedelta(hours=3)).astimezone(zone)
    fire_times = take(IntervalTrigger(minutes=30, start_time=start), 12)
    in_utc = [t.astimezone(UTC) for t in fire_times]  # type: ignore[union-attr]
    assert all(b - a == timedelta(minutes=30) for a, b in zip(in_utc, in_utc[1:], strict=False))
    assert all(t.tzinfo is zone for t in fire_times)  # type: ignore[union-attr]
    # The wall clock jumps by the change exactly once.
    walls = [t.replace(tzinfo=None) for t in fire_times]  # type: ignore[union-attr]
    steps = [b - a for a, b in zip(walls, walls[1:], strict=False)]
    jump = timedelta(minutes=30) + shift.after - shift.before
    assert steps.count(jump) == 1
    assert steps.count(timedelta(minutes=30)) == len(steps) - 1


def test_daily_interval_shifts_the_wall_clock_after_dst(dst_zone) -> None:
    start = (dst_zone.gap.utc - timedelta(days=1, hours=12)).astimezone(dst_zone.zone)
    first, _, third = take(IntervalTrigger(days=1, start_time=start), 3)
    assert third.astimezone(UTC) - first.astimezone(UTC) == timedelta(days=2)  # type: ignore[union-attr]
    wall_shift = third.replace(tzinfo=None) - first.replace(tzinfo=None)  # type: ignore[union-attr]
    assert wall_shift == timedelta(days=2) + dst_zone.gap.size


@pytest.mark.parametrize("fold", [0, 1])
def test_nonexistent_start_and_end_times_are_the_moment_the_clocks_jump(
    dst_zone, fold: int
) -> None:
    """A start or end wall time that does not exist is read by nbsched's DST rule (the moment
    the clocks jump), not as Python reads it (``fold=0``: with the offset before the change,
    an hour later in Berlin)."""
    wall = dst_zone.gap.wall_inside.replace(tzinfo=dst_zone.zone, fold=fold)
    jump = dst_zone.gap.utc
    trigger = IntervalTrigger(minutes=10, start_time=wall)
    assert trigger.start_time.astimezone(UTC) == jump
    first = trigger.next()
    assert first is not None and first.astimezone(UTC) == jump and first.tzinfo is dst_zone.zone
    earlier = IntervalTrigger(minutes=10, start_time=jump - timedelta(minutes=30), end_time=wall)
    assert earlier.end_time is not None and earlier.end_time.astimezone(UTC) == jump
    fires = list(earlier)
    assert fires[-1].astimezone(UTC) == jump and len(fires) == 4


@pytest.mark.parametrize("advance", [0, 5])
def test_state_round_trip(round_trip, dst_zone, advance: int) -> None:
    start = (dst_zone.gap.utc - timedelta(hours=2)).astimezone(dst_zone.zone)
    round_trip(IntervalTrigger(minutes=20, start_time=start), advance)


def test_state_round_trip_when_exhausted(round_trip) -> None:
    trigger = IntervalTrigger(hours=1, start_time=START, end_time=START + timedelta(hours=1))
    assert round_trip(trigger, 3) == [None] * 20


def test_state_is_plain_data() -> None:
    trigger = IntervalTrigger(hours=2, start_time=START)
    trigger.next()
    assert trigger.__getstate__() == {
        "version": 1,
        "interval": {"weeks": 0, "days": 0, "hours": 2, "minutes": 0, "seconds": 0,
                     "microseconds": 0},
        "start_time": "2026-01-01T09:00:00+01:00[Europe/Berlin]",
        "end_time": None,
        "next_fire_time": "2026-01-01T11:00:00+01:00[Europe/Berlin]",
    }  # fmt: skip


def test_refuses_unknown_state_version() -> None:
    trigger = IntervalTrigger(hours=2, start_time=START)
    with pytest.raises(ValueError, match="IntervalTrigger state has version None"):
        trigger.__setstate__({"interval": {}})


def test_exhausts_instead_of_overflowing_at_the_end_of_time() -> None:
    start = datetime(9999, 12, 31, 22, tzinfo=UTC)
    assert take(IntervalTrigger(hours=1, start_time=start), 4) == [
        start,
        start + timedelta(hours=1),
        None,
        None,
    ]


zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
starts = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1))
intervals = st.fixed_dictionaries(
    {},
    optional={
        "days": st.integers(0, 40),
        "hours": st.integers(0, 30),
        "minutes": st.integers(0, 120),
        "seconds": st.integers(0, 100),
        "microseconds": st.integers(0, 10**6),
    },
).filter(lambda kwargs: any(kwargs.values()))


@settings(max_examples=60, deadline=None)
@given(kwargs=intervals, start=starts, zone=zones)
def test_property_contract_and_exact_spacing(kwargs: dict, start: datetime, zone: str) -> None:
    trigger = IntervalTrigger(**kwargs, start_time=start.replace(tzinfo=ZoneInfo(zone)))
    check_trigger(trigger, n=60, seed=0)
    fire_times = take(trigger, 60)
    in_utc = [t.astimezone(UTC) for t in fire_times]  # type: ignore[union-attr]
    spacing = {b - a for a, b in zip(in_utc, in_utc[1:], strict=False)}
    assert spacing == {timedelta(**kwargs)}


@settings(max_examples=60, deadline=None)
@given(
    kwargs=intervals,
    offset=st.timedeltas(min_value=timedelta(days=-5), max_value=timedelta(days=400)),
)
# across the spring-forward change: the fire time is an hour later on the wall clock
@example(kwargs={"days": 3}, offset=timedelta(days=84, microseconds=1))
def test_property_fast_forward_lands_on_the_first_fire_time_not_before(
    kwargs: dict, offset: timedelta
) -> None:
    trigger = IntervalTrigger(**kwargs, start_time=START)
    target = START + offset
    trigger._fast_forward(target.astimezone(UTC))
    fire_time = trigger.next()
    assert fire_time is not None
    # as instants: fire times are spaced in real time, and two datetimes in one zone compare
    # (and subtract) by wall time, an hour off across a DST change
    fire_utc, target_utc = fire_time.astimezone(UTC), target.astimezone(UTC)
    assert fire_utc >= target_utc
    assert fire_utc - trigger.interval < target_utc or fire_time == START


# --- triggers built alike share their spec (one interval, start and end for all of them) ---


def test_triggers_built_alike_share_a_spec_and_advance_independently() -> None:
    first = IntervalTrigger(minutes=5, start_time=START)
    second = IntervalTrigger(minutes=5, start_time=START)
    assert first._spec is second._spec
    assert take(first, 3) == [START + timedelta(minutes=5 * n) for n in range(3)]
    assert take(second, 1) == [START]
    clone = IntervalTrigger.__new__(IntervalTrigger)
    clone.__setstate__(first.__getstate__())
    assert clone._spec is first._spec
    assert take(first, 2) == take(clone, 2) == [START + timedelta(minutes=15 + 5 * n)
                                                 for n in range(2)]  # fmt: skip
    assert take(second, 2) == [START + timedelta(minutes=5), START + timedelta(minutes=10)]


def test_triggers_in_step_hand_out_one_fire_time_object() -> None:
    triggers = [IntervalTrigger(hours=1, start_time=START) for _ in range(3)]
    for _ in range(4):
        fire_times = [trigger.next() for trigger in triggers]
        assert fire_times[0] is fire_times[1] is fire_times[2]
    assert fire_times[0] == START + timedelta(hours=3)


def test_alike_but_not_equal_arguments_do_not_share_a_spec(dst_zone) -> None:
    assert IntervalTrigger(minutes=5, start_time=START).__getstate__()["interval"]["minutes"] == 5
    floats = IntervalTrigger(minutes=5.0, start_time=START).__getstate__()
    assert type(floats["interval"]["minutes"]) is float
    # the two passes of a repeated hour: the same wall time, compared equal in one zone
    first_pass = dst_zone.fold.wall_inside.replace(tzinfo=dst_zone.zone, fold=0)
    second_pass = first_pass.replace(fold=1)
    early = IntervalTrigger(hours=2, start_time=first_pass)
    late = IntervalTrigger(hours=2, start_time=second_pass)
    assert early._spec is not late._spec
    gap = late.next().astimezone(UTC) - early.next().astimezone(UTC)  # type: ignore[union-attr]
    assert gap == dst_zone.fold.size
    in_utc = IntervalTrigger(hours=2, start_time=first_pass.astimezone(UTC))
    assert in_utc._spec is not early._spec
    assert in_utc.next().tzinfo is UTC  # type: ignore[union-attr]


def test_a_state_off_the_interval_grid_still_loads_and_continues_from_its_position() -> None:
    # not written by nbsched (its positions are always start + n * interval), but valid
    state = {
        "version": 1,
        "interval": {"weeks": 0, "days": 0, "hours": 2, "minutes": 0, "seconds": 0,
                     "microseconds": 0},
        "start_time": "2026-01-01T09:00:00+01:00[Europe/Berlin]",
        "end_time": "2026-01-01T14:00:00+01:00[Europe/Berlin]",
        "next_fire_time": "2026-01-01T10:30:00+01:00[Europe/Berlin]",
    }  # fmt: skip
    trigger = IntervalTrigger.__new__(IntervalTrigger)
    trigger.__setstate__(state)
    assert trigger.start_time == START
    assert trigger.__getstate__() == state
    assert take(trigger, 4) == [
        START + timedelta(minutes=90),
        START + timedelta(minutes=210),
        None,
        None,
    ]
    assert trigger.__getstate__()["next_fire_time"] is None


def test_end_before_start_is_judged_by_instant_not_wall_time() -> None:
    """In the repeated hour, 02:15 (second pass) comes after 02:45 (first pass); Python
    compares two datetimes of one zone by wall time, ignoring fold."""
    first_pass = datetime(2026, 10, 25, 2, 45, tzinfo=BERLIN, fold=0)  # 00:45 UTC
    second_pass = datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN, fold=1)  # 01:15 UTC
    trigger = IntervalTrigger(minutes=15, start_time=first_pass, end_time=second_pass)
    assert [t.astimezone(UTC).time().isoformat() for t in trigger] == [
        "00:45:00",
        "01:00:00",
        "01:15:00",
    ]
    with pytest.raises(ValueError, match="^end_time: .* is before start_time"):
        IntervalTrigger(minutes=15, start_time=second_pass, end_time=first_pass)
    state = IntervalTrigger(minutes=15, start_time=first_pass, end_time=second_pass).__getstate__()
    restored = IntervalTrigger.__new__(IntervalTrigger)
    restored.__setstate__(state)  # not refused either
    state["start_time"], state["end_time"] = state["end_time"], state["start_time"]
    with pytest.raises(ValueError, match="end_time"):
        restored.__setstate__(state)
