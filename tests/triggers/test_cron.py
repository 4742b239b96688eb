"""CronTrigger, keyword form: field syntax, defaults, time zones, state, text, bad input."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from nbsched._localzone import get_local_timezone
from nbsched.abc import Trigger
from nbsched.triggers import CronTrigger

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from apscheduler.triggers.cron import CronTrigger as APSCronTrigger

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 1, 1, tzinfo=BERLIN)  # a Thursday


def take(trigger: CronTrigger, count: int) -> list[datetime | None]:
    return [trigger.next() for _ in range(count)]


def fires(count: int = 6, start: datetime = START, **fields: object) -> list[datetime | None]:
    return take(CronTrigger(**fields, start_time=start, timezone=BERLIN), count)  # type: ignore[arg-type]


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


# --- field syntax ----------------------------------------------------------------------------


def test_star_and_step() -> None:
    assert fires(4, minute="*/20") == [at(2026, 1, 1, 0, m) for m in (0, 20, 40)] + [
        at(2026, 1, 1, 1, 0)
    ]


def test_range_and_range_with_step() -> None:
    assert fires(4, hour="9-11") == [at(2026, 1, 1, h) for h in (9, 10, 11)] + [at(2026, 1, 2, 9)]
    assert fires(4, hour="8-17/4") == [at(2026, 1, 1, h) for h in (8, 12, 16)] + [
        at(2026, 1, 2, 8)
    ]


def test_start_with_step_runs_to_the_end_of_the_field() -> None:
    assert fires(5, minute="50/3") == [at(2026, 1, 1, 0, m) for m in (50, 53, 56, 59)] + [
        at(2026, 1, 1, 1, 50)
    ]


@pytest.mark.parametrize(
    ("fields", "accepted"),
    [
        ({"day": "4-6/3"}, False),
        ({"day": "*/31"}, False),
        ({"day": "4-6/2"}, True),
        ({"day": "*/30"}, True),
        ({"hour": "5/19"}, False),
        ({"hour": "5/18"}, True),
        ({"minute": "*/60"}, False),
        ({"minute": "*/59"}, True),
        ({"month": "2-3/2"}, False),
        ({"month": "*/11"}, True),
        ({"second": "10-20/11"}, False),
        ({"year": "2026-2030/5"}, False),
        ({"year": "2026-2030/4"}, True),
        ({"week": "*/53"}, False),
        ({"week": "*/52"}, True),
        ({"day_of_week": "*/7"}, True),
    ],
)
def test_a_step_larger_than_its_range_is_refused_as_apscheduler4_does(
    fields: dict[str, str], accepted: bool
) -> None:
    """The step of ``a-b/n``, ``a/n`` and ``*/n`` may not be larger than the range it steps
    through (it would only ever select the first value): '4-6/3' is refused like '*/31'."""
    aps_accepts = True
    try:
        APSCronTrigger(**fields, timezone="UTC")
    except ValueError:
        aps_accepts = False
    assert aps_accepts is accepted
    if accepted:
        CronTrigger(**fields, timezone=BERLIN)
        return
    name, text = next(iter(fields.items()))
    with pytest.raises(ValueError, match=f"^{name}: {re.escape(repr(text))} .*larger than"):
        CronTrigger(**fields, timezone=BERLIN)


def test_a_step_of_one_is_always_accepted() -> None:
    # APScheduler 4 refuses '5-5/1' (its step 1 is "larger" than the range 0); it selects 5
    assert fires(2, hour="5-5/1") == [at(2026, 1, 1, 5), at(2026, 1, 2, 5)]


def test_a_crontab_step_larger_than_its_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^expr: the day field '4-6/3' of '0 0 4-6/3 \* \*'"):
        CronTrigger.from_crontab("0 0 4-6/3 * *", timezone=BERLIN)


def test_lists_mix_terms_and_tolerate_spaces() -> None:
    assert fires(5, hour="1, 5-6,*/12") == [at(2026, 1, 1, h) for h in (0, 1, 5, 6, 12)]


def test_int_values() -> None:
    assert fires(2, month=3, day=4, hour=5) == [at(2026, 3, 4, 5), at(2027, 3, 4, 5)]


def test_month_names_and_named_ranges_with_step() -> None:
    assert fires(3, month="feb,Aug") == [at(2026, 2, 1), at(2026, 8, 1), at(2027, 2, 1)]
    assert [d.month for d in fires(6, month="jan-sep/2")] == [1, 3, 5, 7, 9, 1]  # type: ignore[union-attr]
    assert [d.month for d in fires(2, month="march")] == [3, 3]  # type: ignore[union-attr]


def weekdays(**fields: object) -> list[str]:
    return [d.strftime("%a") for d in fires(7, START, hour=0, **fields)]  # type: ignore[union-attr]


def test_weekday_numbers_are_crontab_numbers() -> None:
    # 2026-01-01 is a Thursday
    assert weekdays(day_of_week="0") == ["Sun"] * 7
    assert weekdays(day_of_week="7") == ["Sun"] * 7
    assert weekdays(day_of_week="1") == ["Mon"] * 7
    assert weekdays(day_of_week="1-5") == ["Thu", "Fri", "Mon", "Tue", "Wed", "Thu", "Fri"]


def test_weekday_names_ranges_steps_and_wrapping() -> None:
    assert weekdays(day_of_week="mon-fri/2") == ["Fri", "Mon", "Wed", "Fri", "Mon", "Wed", "Fri"]
    assert weekdays(day_of_week="*/2") == ["Thu", "Sat", "Sun", "Tue", "Thu", "Sat", "Sun"]
    assert weekdays(day_of_week="fri-mon") == ["Fri", "Sat", "Sun", "Mon", "Fri", "Sat", "Sun"]
    assert weekdays(day_of_week="Saturday,sun") == ["Sat", "Sun"] * 3 + ["Sat"]


def test_last_day_of_month() -> None:
    expected = [at(2026, 1, 31), at(2026, 2, 28), at(2026, 3, 31), at(2026, 4, 30)]
    assert fires(4, day="last", hour=0) == expected
    assert fires(4, day="L", hour=0) == expected
    leap = fires(2, start=at(2028, 2, 1), month=2, day="last")
    assert leap == [at(2028, 2, 29), at(2029, 2, 28)]


def test_nth_and_last_weekday_of_month() -> None:
    assert fires(3, day="2nd fri", hour=0) == [at(2026, 1, 9), at(2026, 2, 13), at(2026, 3, 13)]
    assert fires(3, day="last sun", hour=0) == [at(2026, 1, 25), at(2026, 2, 22), at(2026, 3, 29)]
    # a 5th Friday only exists in some months
    assert fires(3, day="5th fri", hour=0) == [at(2026, 1, 30), at(2026, 5, 29), at(2026, 7, 31)]
    assert fires(4, day="1st mon,15", hour=0) == [
        at(2026, 1, 5),
        at(2026, 1, 15),
        at(2026, 2, 2),
        at(2026, 2, 15),
    ]


def test_iso_week() -> None:
    got = fires(8, week="1,10", hour=0)
    assert [d.isocalendar()[1] for d in got] == [1, 1, 1, 1, 10, 10, 10, 10]  # type: ignore[union-attr]
    assert got[0] == at(2026, 1, 1)  # ISO week 1 of 2026 starts on Monday 2025-12-29


def test_year_and_exhaustion_is_final() -> None:
    trigger = CronTrigger(year="2026-2027", month=6, start_time=START, timezone=BERLIN)
    assert take(trigger, 4) == [at(2026, 6, 1), at(2027, 6, 1), None, None]


def test_seconds() -> None:
    assert fires(3, second="*/15") == [at(2026, 1, 1, 0, 0, s) for s in (0, 15, 30)]


def test_keyword_form_requires_both_day_fields() -> None:
    # Friday the 13th only (crontab lines use either-day instead: see test_cron_crontab.py)
    assert fires(3, day=13, day_of_week="fri") == [
        at(2026, 2, 13),
        at(2026, 3, 13),
        at(2026, 11, 13),
    ]


# --- defaults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"hour": 9}, [at(2026, 1, 1, 9), at(2026, 1, 2, 9)]),
        ({"day_of_week": "mon"}, [at(2026, 1, 5), at(2026, 1, 12)]),
        ({"month": 3}, [at(2026, 3, 1), at(2027, 3, 1)]),
        ({"minute": 30}, [at(2026, 1, 1, 0, 30), at(2026, 1, 1, 1, 30)]),
        ({}, [at(2026, 1, 1), at(2027, 1, 1)]),
    ],
)
def test_defaults_finer_fields_minimum_coarser_any(fields: dict, expected: list) -> None:
    assert fires(2, **fields) == expected


def test_fields_property_shows_defaults() -> None:
    trigger = CronTrigger(hour=9, timezone=BERLIN)
    assert trigger.fields == {
        "year": "*",
        "month": "*",
        "day": "*",
        "week": "*",
        "day_of_week": "*",
        "hour": "9",
        "minute": "0",
        "second": "0",
    }


# --- start, end, time zones ------------------------------------------------------------------


def test_start_time_is_inclusive_and_rounds_up_to_whole_seconds() -> None:
    assert fires(1, start=at(2026, 1, 1, 9), hour=9) == [at(2026, 1, 1, 9)]
    late = at(2026, 1, 1, 9).replace(microsecond=1)
    assert fires(1, start=late, hour=9) == [at(2026, 1, 2, 9)]


def test_naive_start_and_end_are_read_in_the_trigger_zone() -> None:
    trigger = CronTrigger(
        hour=9,
        start_time=datetime(2026, 7, 1),
        end_time="2026-07-02T09:00:00",
        timezone="America/New_York",
    )
    new_york = ZoneInfo("America/New_York")
    assert take(trigger, 3) == [
        datetime(2026, 7, 1, 9, tzinfo=new_york),
        datetime(2026, 7, 2, 9, tzinfo=new_york),
        None,
    ]


def test_aware_start_in_another_zone() -> None:
    trigger = CronTrigger(
        hour=9, start_time=datetime(2026, 1, 1, 8, 30, tzinfo=UTC), timezone=BERLIN
    )
    assert trigger.next() == at(2026, 1, 2, 9)  # 08:30 UTC is already 09:30 in Berlin


def test_end_time_inclusive() -> None:
    trigger = CronTrigger(hour="*", start_time=START, end_time=at(2026, 1, 1, 2), timezone=BERLIN)
    assert take(trigger, 4) == [at(2026, 1, 1, 0), at(2026, 1, 1, 1), at(2026, 1, 1, 2), None]


def working_hours(first: datetime, last: datetime) -> list[datetime]:
    """Every full hour 09-17 on Monday to Friday between two days, in Berlin, listed day by
    day (these wall times all exist: no DST change falls inside them)."""
    times: list[datetime] = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            times.extend(day.replace(hour=h) for h in range(9, 18))
        day += timedelta(days=1)
    return times


def test_a_year_of_working_hours_across_both_dst_changes() -> None:
    # fire times are built a day (and several plain days) at a time; the DST days between
    # them still give the listed wall times, each with its own offset
    trigger = CronTrigger.from_crontab("0 9-17 * * mon-fri", timezone=BERLIN, start_time=START)
    expected = working_hours(START, at(2026, 12, 31))
    got = take(trigger, len(expected))
    assert got == expected
    assert [t.utcoffset() for t in got if t is not None] == [t.utcoffset() for t in expected]


def test_end_time_inside_a_run_of_plain_days() -> None:
    end = at(2026, 1, 14, 12, 30)  # a Wednesday, mid-day
    trigger = CronTrigger.from_crontab(
        "0 9-17 * * mon-fri", timezone=BERLIN, start_time=START, end_time=end
    )
    expected = working_hours(START, at(2026, 1, 14))
    expected = [t for t in expected if t <= end]
    assert take(trigger, len(expected) + 3) == [*expected, None, None, None]


def test_start_time_defaults_to_now_and_zone_to_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Australia/Lord_Howe")
    before = datetime.now(UTC)
    trigger = CronTrigger(second="*")
    after = datetime.now(UTC)
    assert trigger.timezone == ZoneInfo("Australia/Lord_Howe") == get_local_timezone()
    assert before <= trigger.start_time <= after
    first = trigger.next()
    assert first is not None and first.tzinfo == ZoneInfo("Australia/Lord_Howe")
    assert before < first <= after + timedelta(seconds=1)


def test_fixed_offset_zone() -> None:
    zone = timezone(timedelta(hours=5, minutes=30))
    trigger = CronTrigger(hour=9, start_time=datetime(2026, 1, 1, tzinfo=zone), timezone=zone)
    assert take(trigger, 2) == [datetime(2026, 1, d, 9, tzinfo=zone) for d in (1, 2)]
    restored = CronTrigger.__new__(CronTrigger)
    restored.__setstate__(json.loads(json.dumps(trigger.__getstate__())))
    assert restored.next() == datetime(2026, 1, 3, 9, tzinfo=zone)


def test_fire_times_are_in_the_trigger_zone() -> None:
    got = fires(1, hour=9)[0]
    assert got is not None and got.tzinfo is BERLIN


# --- state -----------------------------------------------------------------------------------


def test_state_is_plain_versioned_data() -> None:
    trigger = CronTrigger(day_of_week="mon-fri", hour=9, start_time=START, timezone=BERLIN)
    trigger.next()
    state = trigger.__getstate__()
    assert json.loads(json.dumps(state)) == state
    assert state["version"] == 1
    assert state["fields"] == {"day_of_week": "mon-fri", "hour": "9"}
    assert state["timezone"] == "Europe/Berlin"
    assert state["last_fire_time"].startswith("2026-01-01T09:00:00+01:00")


@pytest.mark.parametrize(
    "trigger",
    [
        CronTrigger(day_of_week="mon-fri", hour="9-17", minute="*/20", start_time=START),
        CronTrigger(
            day="last", hour=23, end_time=at(2030, 6, 1), start_time=START, timezone=BERLIN
        ),
        CronTrigger(day="2nd fri", month="jan-sep/2", start_time=START, timezone="UTC"),
        CronTrigger(
            week="*/3", day_of_week="sat,sun", second="*/30", start_time=START, timezone=BERLIN
        ),
        CronTrigger.from_crontab("0 0 13 * fri", timezone=BERLIN, start_time=START),
        CronTrigger.from_crontab("*/5 * * * *", timezone="Australia/Lord_Howe", start_time=START),
    ],
    ids=repr,
)
def test_state_round_trip_continues_the_sequence(
    trigger: CronTrigger, round_trip: Callable[[Trigger, int], list]
) -> None:
    assert None not in round_trip(trigger, 5)


def test_round_trip_before_the_first_fire() -> None:
    trigger = CronTrigger(hour=9, start_time=START, timezone=BERLIN)
    restored = CronTrigger.__new__(CronTrigger)
    restored.__setstate__(trigger.__getstate__())
    assert take(restored, 3) == take(trigger, 3)


def test_unknown_state_version_is_refused() -> None:
    state = CronTrigger(hour=9, timezone=BERLIN).__getstate__()
    state["version"] = 2
    with pytest.raises(ValueError, match=r"version 2.*only reads version 1"):
        CronTrigger.__new__(CronTrigger).__setstate__(state)


# --- repr and str ----------------------------------------------------------------------------


def test_repr_is_exact() -> None:
    trigger = CronTrigger(hour=9, day_of_week="mon-fri", timezone="Europe/Berlin")
    # start_time defaults to the moment of construction, and repr shows it
    assert repr(trigger) == (
        "CronTrigger(day_of_week='mon-fri', hour='9', "
        f"start_time={trigger.start_time.isoformat()!r}, timezone='Europe/Berlin')"
    )
    again = eval(repr(trigger), {"CronTrigger": CronTrigger})
    assert again.fields == trigger.fields
    assert again == trigger
    with_times = CronTrigger(hour=9, start_time=START, end_time=at(2027, 1, 1), timezone=BERLIN)
    assert repr(with_times) == (
        "CronTrigger(hour='9', start_time='2026-01-01T00:00:00+01:00', "
        "end_time='2027-01-01T00:00:00+01:00', timezone='Europe/Berlin')"
    )


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"minute": "*/5", "hour": "*"}, "every 5 minutes"),
        ({"hour": 9, "day_of_week": "mon-fri"}, "at 09:00 on Monday to Friday (Europe/Berlin)"),
        ({"hour": "2", "minute": 30}, "every day at 02:30 (Europe/Berlin)"),
        ({"minute": 0, "hour": "*"}, "every hour"),
        ({"second": "*/10", "minute": "*", "hour": "*"}, "every 10 seconds"),
        ({"day": "last", "hour": 0}, "at 00:00 on the last day of the month (Europe/Berlin)"),
        ({"day": "2nd fri", "hour": 18}, "at 18:00 on the 2nd Friday (Europe/Berlin)"),
        ({"day": 13, "day_of_week": "fri"}, "at 00:00 on the 13th, if a Friday (Europe/Berlin)"),
        ({"month": "feb", "day": 29}, "at 00:00 on the 29th in February (Europe/Berlin)"),
        (
            {"minute": "*/10", "hour": "9-17"},
            "every 10 minutes from 09:00 to 17:50 (Europe/Berlin)",
        ),
        ({"week": "1-10", "year": 2027}, "at 00:00 in ISO weeks 1 to 10 in 2027 (Europe/Berlin)"),
    ],
)
def test_str_reads_like_a_person_would_say_it(fields: dict, text: str) -> None:
    assert str(CronTrigger(**fields, timezone=BERLIN)) == text


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"hour": "25"}, ["hour", "'25'", "0-23"]),
        ({"minute": "*/0"}, ["minute", "'*/0'", "at least 1"]),
        ({"second": "*/61"}, ["second", "'*/61'", "larger than"]),
        ({"hour": "17-9"}, ["hour", "'17-9'", "reversed"]),
        ({"month": "foo"}, ["month", "'foo'", "month number or name"]),
        ({"day_of_week": "mon-funday"}, ["day_of_week", "'funday'"]),
        ({"day_of_week": "8"}, ["day_of_week", "8", "0-7"]),
        ({"day": "0"}, ["day", "'0'", "1-31"]),
        ({"day": "2nd xyz"}, ["day", "'xyz'", "weekday"]),
        ({"day": "6th fri"}, ["day", "'6th fri'"]),
        ({"hour": "1,,2"}, ["hour", "'1,,2'", "empty"]),
        ({"minute": "1-"}, ["minute", "'1-'"]),
        ({"year": "1969"}, ["year", "1969", "1970-9999"]),
        ({"week": "54"}, ["week", "54", "1-53"]),
        ({"hour": ""}, ["hour", "''", "empty"]),
        ({"day": "31", "month": "feb"}, ["month", "day", "'feb'", "'31'", "never fire"]),
        ({"day": "30", "month": "2"}, ["'30'", "never fire"]),
        ({"year": 2027, "month": 2, "day": 29}, ["2027", "'29'", "never fire"]),
        ({"week": 10, "month": "dec"}, ["week", "'10'", "'dec'", "never fire"]),
    ],
)
def test_bad_fields_name_the_argument_and_value(fields: dict, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        CronTrigger(**fields, timezone=BERLIN)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("value", [1.5, True, ["9"]])
def test_bad_field_types(value: object) -> None:
    with pytest.raises(TypeError, match="hour"):
        CronTrigger(hour=value, timezone=BERLIN)  # type: ignore[arg-type]


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match=r"timezone: unknown time zone 'Mars/Olympus'"):
        CronTrigger(hour=9, timezone="Mars/Olympus")


def test_end_before_start() -> None:
    with pytest.raises(ValueError, match=r"end_time: 2025-01-01T00:00:00\+01:00 is before"):
        CronTrigger(hour=9, start_time=START, end_time=at(2025, 1, 1), timezone=BERLIN)


def test_bad_start_time() -> None:
    with pytest.raises(ValueError, match=r"start_time: 'tomorrow'"):
        CronTrigger(hour=9, start_time="tomorrow", timezone=BERLIN)


def test_a_tzinfo_that_cannot_be_stored_is_refused() -> None:
    class Custom(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta:
            return timedelta(hours=1)

        def dst(self, dt: datetime | None) -> timedelta:
            return timedelta(0)

        def tzname(self, dt: datetime | None) -> str:
            raise NotImplementedError  # as tzinfo's own: no name

    with pytest.raises(ValueError, match=r"timezone: time zone .*Custom.* cannot be stored"):
        CronTrigger(hour=9, timezone=Custom())


@pytest.mark.parametrize(
    "zone",
    [timezone(timedelta(hours=-12)), "Etc/GMT+12", "America/Adak", timezone(timedelta(hours=14))],
    ids=str,
)
@pytest.mark.parametrize(
    "start",
    [
        datetime(1969, 1, 1, 5, tzinfo=timezone.utc),
        datetime(1969, 1, 1, 5, 30, 0, 5, tzinfo=timezone.utc),
        datetime(1968, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
    ],
    ids=str,
)
def test_a_start_in_1969_fires_at_its_zones_next_match_not_before(
    zone: tzinfo | str, start: datetime
) -> None:
    """Instants before 1969 are searched from 1969-01-01 UTC (the year field starts at
    1970); a start after that, whose wall time in the zone is still in 1968, is searched from
    itself."""
    trigger = CronTrigger(hour="*/7", timezone=zone, start_time=start)
    tz = trigger.timezone
    local = start.astimezone(tz)
    expected = local.replace(minute=0, second=0, microsecond=0)
    while expected < local or expected.hour % 7:
        expected = (expected.astimezone(timezone.utc) + timedelta(hours=1)).astimezone(tz)
    first = trigger.next()
    assert first == expected and first >= start
