"""CronTrigger.from_crontab reads lines as crontab(5) does."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from nbsched.triggers import CronTrigger

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 1, 1, tzinfo=BERLIN)  # a Thursday


def fires(expr: str, count: int = 6, start: datetime = START) -> list[datetime | None]:
    trigger = CronTrigger.from_crontab(expr, timezone=BERLIN, start_time=start)
    return [trigger.next() for _ in range(count)]


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


def days(expr: str, count: int = 7) -> list[str]:
    return [d.strftime("%a %d") for d in fires(expr, count)]  # type: ignore[union-attr]


def test_field_order_minute_hour_day_month_weekday() -> None:
    assert fires("15 9 20 3 *", 2) == [at(2026, 3, 20, 9, 15), at(2027, 3, 20, 9, 15)]


def test_either_day_rule_when_both_day_fields_are_restricted() -> None:
    # every 13th AND every Friday
    assert days("0 0 13 * fri") == [
        "Fri 02",
        "Fri 09",
        "Tue 13",
        "Fri 16",
        "Fri 23",
        "Fri 30",
        "Fri 06",
    ]
    assert days("0 0 1,15 * 1") == [
        "Thu 01",
        "Mon 05",
        "Mon 12",
        "Thu 15",
        "Mon 19",
        "Mon 26",
        "Sun 01",
    ]


@pytest.mark.parametrize("expr", ["0 0 * * fri", "0 0 */1 * fri", "0 0 13 * *", "0 0 13 * */1"])
def test_a_day_field_starting_with_star_means_both_must_match(expr: str) -> None:
    got = days(expr, 4)
    if expr.split()[2] == "13":
        assert all(day.endswith(" 13") for day in got)
    else:
        assert all(day.startswith("Fri") for day in got)


def test_keyword_form_requires_both() -> None:
    trigger = CronTrigger(day=13, day_of_week="fri", start_time=START, timezone=BERLIN)
    assert [trigger.next() for _ in range(2)] == [at(2026, 2, 13), at(2026, 3, 13)]


@pytest.mark.parametrize("expr", ["0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * * SUN"])
def test_zero_and_seven_are_sunday(expr: str) -> None:
    assert days(expr, 3) == ["Sun 04", "Sun 11", "Sun 18"]


def test_step_on_weekday_star_counts_from_sunday() -> None:
    assert days("0 0 * * */2") == [
        "Thu 01",
        "Sat 03",
        "Sun 04",
        "Tue 06",
        "Thu 08",
        "Sat 10",
        "Sun 11",
    ]


@pytest.mark.parametrize("expr", ["0 0 * * mon-fri/2", "0 0 * * 1-5/2"])
def test_steps_on_weekday_ranges(expr: str) -> None:
    assert days(expr, 4) == ["Fri 02", "Mon 05", "Wed 07", "Fri 09"]


def test_steps_on_named_month_ranges() -> None:
    got = fires("0 0 1 jan-sep/2 *", 6)
    assert [d.month for d in got] == [1, 3, 5, 7, 9, 1]  # type: ignore[union-attr]


def test_last_day_of_month_with_l() -> None:
    assert fires("30 23 L * *", 3) == [
        at(2026, 1, 31, 23, 30),
        at(2026, 2, 28, 23, 30),
        at(2026, 3, 31, 23, 30),
    ]


def test_l_with_a_weekday_uses_either_day() -> None:
    got = days("0 0 L * sun", 6)
    assert got == ["Sun 04", "Sun 11", "Sun 18", "Sun 25", "Sat 31", "Sun 01"]


@pytest.mark.parametrize(
    ("nickname", "line"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_nicknames(nickname: str, line: str) -> None:
    assert fires(nickname, 5) == fires(line, 5)
    start = "2026-01-01T00:00:00+01:00"
    assert repr(CronTrigger.from_crontab(nickname, timezone=BERLIN, start_time=start)) == (
        f"CronTrigger.from_crontab({nickname!r}, start_time={start!r}, timezone='Europe/Berlin')"
    )


def test_seconds_are_zero() -> None:
    assert all(d.second == 0 for d in fires("* * * * *", 3))  # type: ignore[union-attr]


def test_round_trip_keeps_the_either_day_rule() -> None:
    trigger = CronTrigger.from_crontab("0 0 13 * fri", timezone=BERLIN, start_time=START)
    trigger.next()
    state = trigger.__getstate__()
    assert state["crontab"] == "0 0 13 * fri" and state["fields"] is None
    restored = CronTrigger.__new__(CronTrigger)
    restored.__setstate__(state)
    assert [restored.next() for _ in range(5)] == [trigger.next() for _ in range(5)]


def test_str_says_either() -> None:
    trigger = CronTrigger.from_crontab("0 0 13 * fri", timezone=BERLIN)
    assert str(trigger) == "at 00:00 on the 13th and on Friday (Europe/Berlin)"


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("* * *", ["expr", "'* * *'", "3 fields", "5"]),
        ("", ["expr", "0 fields"]),
        ("0 0 * * * *", ["expr", "6 fields", "second="]),
        ("*/0 * * * *", ["expr", "minute", "'*/0'", "at least 1"]),
        ("0 25 * * *", ["expr", "hour", "'25'", "0-23"]),
        ("0 0 30 2 *", ["expr", "'0 0 30 2 *'", "never fire"]),
        ("0 0 31 apr,jun *", ["never fire"]),
        ("0 0 * foo *", ["month", "'foo'"]),
        ("0 0 * * 8", ["day_of_week", "8", "0-7"]),
        ("0 17-9 * * *", ["hour", "'17-9'", "reversed"]),
        ("@reboot", ["expr", "'@reboot'", "nickname"]),
    ],
)
def test_bad_lines_name_the_field_and_value(expr: str, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        CronTrigger.from_crontab(expr, timezone=BERLIN)
    for word in words:
        assert word in str(info.value)


def test_not_a_string() -> None:
    with pytest.raises(TypeError, match="expr"):
        CronTrigger.from_crontab(5, timezone=BERLIN)  # type: ignore[arg-type]


def test_either_day_with_a_weekday_list_covering_the_week_fires_daily() -> None:
    # restricted (does not start with '*') but allows every weekday: every day matches
    assert fires("0 0 13 * 0-6", 3) == [at(2026, 1, d) for d in (1, 2, 3)]
    assert fires("0 0 13 * mon,tue-sun", 3) == [at(2026, 1, d) for d in (1, 2, 3)]
