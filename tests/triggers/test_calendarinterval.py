from __future__ import annotations

import datetime as datetime_module
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.calendarinterval import (
    CalendarIntervalTrigger as APSCalendarIntervalTrigger,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsched.testing import check_trigger
from nbsched.triggers import CalendarIntervalTrigger, CronTrigger

BERLIN = ZoneInfo("Europe/Berlin")


def take(trigger: CalendarIntervalTrigger, count: int) -> list[datetime | None]:
    return [trigger.next() for _ in range(count)]


def dates(values: list[datetime | None]) -> list[str]:
    return [v.date().isoformat() for v in values if v is not None]


def test_monthly_on_the_31st_skips_shorter_months() -> None:
    trigger = CalendarIntervalTrigger(
        months=1, hour=9, start_date="2026-01-31", timezone="Europe/Berlin"
    )
    fire_times = take(trigger, 5)
    assert dates(fire_times) == [
        "2026-01-31",
        "2026-03-31",
        "2026-05-31",
        "2026-07-31",
        "2026-08-31",
    ]
    assert {(t.hour, t.minute, t.tzinfo) for t in fire_times} == {(9, 0, BERLIN)}  # type: ignore[union-attr]


def test_yearly_on_leap_day_skips_common_years() -> None:
    trigger = CalendarIntervalTrigger(years=1, start_date=date(2028, 2, 29), timezone="UTC")
    assert dates(take(trigger, 3)) == ["2028-02-29", "2032-02-29", "2036-02-29"]


def test_weeks_and_days_and_time_of_day() -> None:
    trigger = CalendarIntervalTrigger(
        weeks=1, days=1, hour=7, minute=15, second=30, start_date="2026-01-01", timezone=BERLIN
    )
    assert take(trigger, 2) == [
        datetime(2026, 1, 1, 7, 15, 30, tzinfo=BERLIN),
        datetime(2026, 1, 9, 7, 15, 30, tzinfo=BERLIN),
    ]


def test_end_date_is_inclusive_and_exhaustion_is_final() -> None:
    trigger = CalendarIntervalTrigger(
        days=1, start_date="2026-01-01", end_date="2026-01-02", timezone=BERLIN
    )
    assert dates(take(trigger, 2)) == ["2026-01-01", "2026-01-02"]
    assert take(trigger, 3) == [None, None, None]


def test_start_date_forms() -> None:
    aware = datetime(2026, 1, 1, 23, 30, tzinfo=timezone.utc)  # already 2 January in Berlin
    trigger = CalendarIntervalTrigger(days=1, start_date=aware, timezone=BERLIN)
    assert trigger.start_date == date(2026, 1, 2)
    naive = CalendarIntervalTrigger(
        days=1, start_date=datetime(2026, 1, 1, 23, 30), timezone=BERLIN
    )
    assert naive.start_date == date(2026, 1, 1)


def test_start_date_defaults_to_today_in_the_zone() -> None:
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: often another day than UTC
    trigger = CalendarIntervalTrigger(days=1, timezone=zone)
    assert trigger.start_date in {datetime.now(zone).date() - timedelta(days=d) for d in (0, 1)}


def test_timezone_defaults_to_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Australia/Lord_Howe")
    trigger = CalendarIntervalTrigger(days=1, start_date="2026-01-01")
    assert trigger.timezone == ZoneInfo("Australia/Lord_Howe")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "CalendarIntervalTrigger: the interval must be at least one day, got "
         "years=0, months=0, weeks=0, days=0"),
        ({"days": 1, "hour": 24}, ValueError, "hour: must be between 0 and 23, got 24"),
        ({"days": 1, "minute": -1}, ValueError, "minute: must be between 0 and 59, got -1"),
        ({"months": 1.5}, TypeError, "months: expected an int, got float 1.5"),
        ({"days": -1}, ValueError, "days: must be >= 0, got -1"),
        ({"days": 1, "start_date": "2026-02-01", "end_date": "2026-01-31"}, ValueError,
         "end_date: 2026-01-31 is before start_date 2026-02-01"),
        ({"days": 1, "start_date": "soon"}, ValueError, "start_date: 'soon' is not an ISO 8601"),
        ({"days": 1, "start_date": 20260101}, TypeError,
         "start_date: expected a date, datetime or ISO 8601 string, got int 20260101"),
        ({"days": 1, "timezone": "Mars/Olympus_Mons"}, ValueError,
         "timezone: unknown time zone 'Mars/Olympus_Mons'"),
    ],
)  # fmt: skip
def test_bad_input(kwargs: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        CalendarIntervalTrigger(**kwargs)


def test_str_and_repr() -> None:
    monthly = CalendarIntervalTrigger(months=1, hour=9, start_date="2026-01-31", timezone=BERLIN)
    assert str(monthly) == "every month on day 31 at 09:00 from 2026-01-31 (Europe/Berlin)"
    assert repr(monthly) == (
        "CalendarIntervalTrigger(months=1, hour=9, start_date=datetime.date(2026, 1, 31), "
        "timezone='Europe/Berlin')"
    )
    cases = {
        "every 2 years on 29 February at 00:00 from 2028-02-29 (UTC)": CalendarIntervalTrigger(
            years=2, start_date="2028-02-29", timezone="UTC"
        ),
        "every 2 weeks on Monday at 06:30:15 from 2026-01-05 until 2026-12-31 (Europe/Berlin)": (
            CalendarIntervalTrigger(
                weeks=2, hour=6, minute=30, second=15, start_date="2026-01-05",
                end_date="2026-12-31", timezone=BERLIN,
            )
        ),
        "every day at 00:00 from 2026-01-05 (Europe/Berlin)": CalendarIntervalTrigger(
            days=1, start_date="2026-01-05", timezone=BERLIN
        ),
        "every 1 month and 3 days at 00:00 from 2026-01-05 (Europe/Berlin)": (
            CalendarIntervalTrigger(months=1, days=3, start_date="2026-01-05", timezone=BERLIN)
        ),
    }  # fmt: skip
    for text, trigger in cases.items():
        assert str(trigger) == text
        rebuilt = eval(repr(trigger), {"CalendarIntervalTrigger": CalendarIntervalTrigger,
                                       "datetime": datetime_module})  # fmt: skip
        assert repr(rebuilt) == repr(trigger)
        assert take(rebuilt, 5) == take(trigger, 5)


def _daily_at(wall: datetime, zone: ZoneInfo) -> CalendarIntervalTrigger:
    return CalendarIntervalTrigger(
        days=1,
        hour=wall.hour,
        minute=wall.minute,
        second=wall.second,
        start_date=wall.date() - timedelta(days=2),
        timezone=zone,
    )


def test_nonexistent_time_fires_when_the_clocks_jump(dst_zone) -> None:
    wall = dst_zone.gap.wall_inside  # e.g. 02:30 on the spring-forward day in Berlin
    fire_times = take(_daily_at(wall, dst_zone.zone), 5)
    assert dates(fire_times) == [
        (wall.date() + timedelta(days=d)).isoformat() for d in range(-2, 3)
    ]
    # 03:00 CEST in Berlin, 03:00 EDT in New York, 02:30 (+11:00) in Lord Howe.
    assert fire_times[2] == dst_zone.gap.utc
    assert fire_times[2].utcoffset() == dst_zone.gap.after  # type: ignore[union-attr]
    assert fire_times[2].replace(tzinfo=None) == (  # type: ignore[union-attr]
        dst_zone.gap.utc.replace(tzinfo=None) + dst_zone.gap.after
    )
    # The other days keep the wall-clock time.
    walls = [t.replace(tzinfo=None) for t in fire_times]  # type: ignore[union-attr]
    assert {w.time() for i, w in enumerate(walls) if i != 2} == {wall.time()}


def test_nonexistent_time_same_as_cron(dst_zone) -> None:
    wall = dst_zone.gap.wall_inside
    start = datetime.combine(wall.date() - timedelta(days=2), datetime.min.time(), dst_zone.zone)
    cron = CronTrigger(
        hour=wall.hour, minute=wall.minute, timezone=dst_zone.zone, start_time=start
    )
    assert take(_daily_at(wall, dst_zone.zone), 5) == [cron.next() for _ in range(5)]


def test_ambiguous_time_fires_once_at_the_first_occurrence(dst_zone) -> None:
    wall = dst_zone.fold.wall_inside  # e.g. 02:30 on the fall-back day in Berlin
    fire_times = take(_daily_at(wall, dst_zone.zone), 5)
    assert len(set(dates(fire_times))) == 5  # one fire per day
    assert {t.time() for t in fire_times} == {wall.time()}  # type: ignore[union-attr]
    assert fire_times[2].utcoffset() == dst_zone.fold.before  # type: ignore[union-attr]
    assert fire_times[3].utcoffset() == dst_zone.fold.after  # type: ignore[union-attr]


def test_berlin_example() -> None:
    trigger = CalendarIntervalTrigger(
        days=1, hour=2, minute=30, start_date="2026-03-28", timezone=BERLIN
    )
    assert [t.isoformat() for t in take(trigger, 3)] == [  # type: ignore[union-attr]
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]


@pytest.mark.parametrize("advance", [0, 4])
def test_state_round_trip(round_trip, dst_zone, advance: int) -> None:
    wall = dst_zone.gap.wall_inside
    round_trip(_daily_at(wall, dst_zone.zone), advance)
    round_trip(CalendarIntervalTrigger(months=1, start_date="2026-01-31", timezone="UTC"), advance)


def test_state_round_trip_fixed_offset(round_trip) -> None:
    zone = timezone(timedelta(hours=-3, minutes=-30))
    round_trip(CalendarIntervalTrigger(weeks=1, hour=5, start_date="2026-01-01", timezone=zone))


def test_state_round_trip_when_exhausted(round_trip) -> None:
    trigger = CalendarIntervalTrigger(
        days=1, start_date="2026-01-01", end_date="2026-01-01", timezone=BERLIN
    )
    assert round_trip(trigger, 2) == [None] * 20


def test_refuses_unknown_state_version() -> None:
    trigger = CalendarIntervalTrigger(days=1, start_date="2026-01-01", timezone=BERLIN)
    state = trigger.__getstate__()
    state["version"] = 99
    with pytest.raises(ValueError, match="CalendarIntervalTrigger state has version 99"):
        trigger.__setstate__(state)


def test_exhausts_at_the_end_of_the_calendar() -> None:
    trigger = CalendarIntervalTrigger(years=1, start_date="9998-06-01", timezone="UTC")
    assert dates(take(trigger, 2)) == ["9998-06-01", "9999-06-01"]
    assert take(trigger, 2) == [None, None]


@settings(max_examples=60, deadline=None)
@given(
    years=st.integers(0, 3),
    months=st.integers(0, 14),
    weeks=st.integers(0, 3),
    days=st.integers(0, 40),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    hour=st.sampled_from([0, 9, 12, 23]),  # never inside a DST change in these zones
)
def test_property_matches_apscheduler_4_away_from_dst_changes(
    years: int, months: int, weeks: int, days: int, start: date, zone: str, hour: int
) -> None:
    if not (years or months or weeks or days):
        days = 1
    kwargs: dict[str, Any] = {
        "years": years,
        "months": months,
        "weeks": weeks,
        "days": days,
        "hour": hour,
    }
    ours = CalendarIntervalTrigger(**kwargs, start_date=start, timezone=zone)
    check_trigger(ours, n=50, seed=1)
    theirs = APSCalendarIntervalTrigger(**kwargs, start_date=start, timezone=zone)
    assert take(ours, 50) == [theirs.next() for _ in range(50)]
