"""CronTrigger's shortcuts through days without DST change give the fire times its search gives.

A trigger firing at one time every day (``0 9 * * *``, ``30 2 * * *``) runs through the days a
shared look-ahead found to have no DST change by adding whole days to a fire time; triggers
firing on most days (``0 9 * * mon-fri``) use the same look-ahead to skip the DST check. A
trigger whose search restarts (setting ``start_time``) searches from the instant after its
last fire time instead: both must give the same fire times, across DST changes, ``end_time``
and the last day a datetime holds. So must a trigger restored from its state before each fire,
as a SQL store does (it resumes from its last fire time's wall time when that is an ordinary
one).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from nbsched.triggers import CronTrigger

UTC = timezone.utc
#: 1 h changes (Europe, North America, southern hemisphere), a 30-minute change, no DST at
#: all, a fixed offset
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Etc/GMT+5",
)
EXPRESSIONS = ("0 9 * * *", "30 2 * * *", "0 0 * * *", "0 2 * * mon-fri", "45 23 * * *")


def restored_each_time(trigger: CronTrigger, count: int) -> list[datetime | None]:
    """``count`` fire times, the trigger restored from its state before each, its search
    restarted (setting ``start_time`` does that): each fire time is searched from the
    instant after the last one, with no shortcut."""
    values = []
    for _ in range(count):
        copy = CronTrigger.__new__(CronTrigger)
        copy.__setstate__(trigger.__getstate__())
        copy.start_time = copy.start_time
        values.append(copy.next())
        trigger = copy
    return values


def instants(values: list[datetime | None]) -> list[tuple[float, int] | None]:
    """Each fire time as (instant, fold): equal datetimes in one zone compare by wall time."""
    return [None if value is None else (value.timestamp(), value.fold) for value in values]


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_running_trigger_fires_as_a_restored_one_for_three_years(
    zone_name: str, expr: str
) -> None:
    zone = ZoneInfo(zone_name)
    start = datetime(2026, 1, 1, tzinfo=zone)
    count = 3 * 365 if "mon-fri" not in expr else 3 * 260
    running = CronTrigger.from_crontab(expr, timezone=zone, start_time=start)
    fire_times = [running.next() for _ in range(count)]
    restored = restored_each_time(
        CronTrigger.from_crontab(expr, timezone=zone, start_time=start), count
    )
    assert instants(fire_times) == instants(restored)
    assert fire_times[-1] is not None and fire_times[-1].year == 2028
    trigger = CronTrigger.from_crontab(expr, timezone=zone, start_time=start)
    stored = []
    for _ in range(count):
        copy = CronTrigger.__new__(CronTrigger)
        copy.__setstate__(trigger.__getstate__())
        stored.append(copy.next())
        trigger = copy
    assert instants(stored) == instants(fire_times)


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_daily_fires_at_its_wall_time_every_day_and_at_the_jump_when_it_does_not_exist(
    zone_name: str,
) -> None:
    zone = ZoneInfo(zone_name)
    for hour, minute in ((9, 0), (2, 15), (2, 45)):
        trigger = CronTrigger(
            hour=hour, minute=minute, start_time=datetime(2026, 1, 1, tzinfo=zone), timezone=zone
        )
        day = date(2026, 1, 1)
        for _ in range(730):
            fire_time = trigger.next()
            assert fire_time is not None
            wall = datetime.combine(day, time(hour, minute))
            local = wall.replace(tzinfo=zone)
            if local.utcoffset() < local.replace(fold=1).utcoffset():  # type: ignore[operator]
                # does not exist: the first instant whose wall time is after it
                assert fire_time.date() == day
                assert fire_time.replace(tzinfo=None) > wall
                just_before = fire_time.astimezone(UTC) - timedelta(seconds=1)
                assert just_before.astimezone(zone).replace(tzinfo=None) < wall
            else:
                assert (fire_time.replace(tzinfo=None), fire_time.fold) == (wall, 0)
            day += timedelta(days=1)


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "Etc/GMT-3"])
def test_end_time_inside_a_run_by_day(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    start = datetime(2026, 4, 1, tzinfo=zone)
    # (a run by day starts at the second fire, from the first one's wall time)
    for end in (
        datetime(2026, 6, 10, 9, tzinfo=zone),  # a fire time: included
        datetime(2026, 6, 10, 8, 59, 59, tzinfo=zone),
        datetime(2026, 4, 1, 9, tzinfo=zone),  # the first fire only
        datetime(2026, 4, 2, 9, tzinfo=zone),  # the run's first fire only
        datetime(2026, 4, 3, 8, 59, 59, tzinfo=zone),
        datetime(2026, 4, 3, 9, tzinfo=zone),  # the run's second fire
    ):
        trigger = CronTrigger(hour=9, start_time=start, end_time=end, timezone=zone)
        fire_times = []
        while (fire_time := trigger.next()) is not None:
            fire_times.append(fire_time)
        expected = []
        day = start.date()
        while (fire_time := datetime.combine(day, time(9), zone)) <= end:
            expected.append(fire_time)
            day += timedelta(days=1)
        assert fire_times == expected
        assert trigger.next() is None


@pytest.mark.parametrize(
    ("zone_name", "hour", "last_day"),
    [
        ("UTC", 23, 31),
        ("Asia/Tokyo", 23, 31),
        ("America/New_York", 12, 31),
        # 23:00 on 31 December 9999 in New York is past the last instant a datetime holds
        ("America/New_York", 23, 30),
    ],
)
def test_daily_runs_stop_at_the_last_instant_a_datetime_holds(
    zone_name: str, hour: int, last_day: int
) -> None:
    zone = ZoneInfo(zone_name)
    trigger = CronTrigger(hour=hour, start_time=datetime(9999, 6, 1, tzinfo=zone), timezone=zone)
    fire_times = []
    while (fire_time := trigger.next()) is not None:
        fire_times.append(fire_time)
    assert fire_times[-1].replace(tzinfo=None) == datetime(9999, 12, last_day, hour)
    assert len({f.date() for f in fire_times}) == len(fire_times)
    assert trigger.next() is None


def test_restored_after_a_gap_fire_that_the_expression_does_not_match() -> None:
    # Lord Howe's clocks jump from 02:00 to 02:30: the gap's times fire at 02:30:00, which
    # minute="*/7" does not allow; the next fire is 02:35:00 (too many times a day for the
    # time-of-day table: the search goes field by field)
    zone = ZoneInfo("Australia/Lord_Howe")
    start = datetime(2026, 10, 4, 1, 59, 58, tzinfo=zone)
    trigger = CronTrigger(minute="*/7", second="*", start_time=start, timezone=zone)
    fire_times = [trigger.next() for _ in range(4)]
    walls = [f.replace(tzinfo=None) if f else None for f in fire_times]
    assert walls == [
        datetime(2026, 10, 4, 2, 30),
        datetime(2026, 10, 4, 2, 35),
        datetime(2026, 10, 4, 2, 35, 1),
        datetime(2026, 10, 4, 2, 35, 2),
    ]
    restored = restored_each_time(
        CronTrigger(minute="*/7", second="*", start_time=start, timezone=zone), 4
    )
    assert instants(restored) == instants(fire_times)
    stored = CronTrigger.__new__(CronTrigger)
    stored.__setstate__(
        {
            **trigger.__getstate__(),
            "last_fire_time": fire_times[0].isoformat() + "[Australia/Lord_Howe]",  # type: ignore[union-attr]
        }
    )
    assert stored.next() == fire_times[1]
