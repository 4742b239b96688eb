"""``str(CronTrigger)``: the trigger in words, for the common shapes ("every 5 minutes",
"at 09:00 on Monday to Friday (Europe/Berlin)"), falling back to naming the fields' values.

Written here rather than with cron-descriptor: that library reads Quartz-style lines
(weekday ``*/2`` from Monday, no ``2nd fri`` or ISO weeks, no keyword form whose day fields
must both match), so its words would not always say what this trigger does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import tzinfo

from .._describe import zone_label
from ._fields import parse_day_of_month, parse_day_of_week, parse_values

__all__ = ["describe"]

_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_STEP = re.compile(r"\*/(\d+)")


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _runs(values: tuple[int, ...], name: Callable[[int], str] = str, cyclic: int = 0) -> str:
    """``Monday to Friday``, ``January, March and May``; runs of 3 or more become ranges."""
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    if cyclic and len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == cyclic - 1:
        runs[0] = runs.pop() + runs[0]  # Saturday to Monday
    items = []
    for run in runs:
        if len(run) >= 3:
            items.append(f"{name(run[0])} to {name(run[-1])}")
        else:
            items.extend(name(value) for value in run)
    return _join(items)


def _clock(hour: int, minute: int, second: int) -> str:
    text = f"{hour:02d}:{minute:02d}"
    return f"{text}:{second:02d}" if second else text


def _time_part(fields: dict[str, str]) -> str:
    hours = parse_values("hour", fields["hour"])
    minutes = parse_values("minute", fields["minute"])
    seconds = parse_values("second", fields["second"])
    every_hour, every_minute = len(hours) == 24, len(minutes) == 60
    if seconds != (0,):
        if every_hour and every_minute:
            if len(seconds) == 60:
                return "every second"
            step = _STEP.fullmatch(fields["second"])
            if step:
                return f"every {step[1]} seconds"
        if len(hours) * len(minutes) * len(seconds) <= 4:
            return "at " + _join(
                [_clock(h, m, s) for h in hours for m in minutes for s in seconds]
            )
        return f"at second {_runs(seconds)} of minute {_runs(minutes)} of hour {_runs(hours)}"
    if len(hours) * len(minutes) <= 4:
        return "at " + _join([_clock(h, m, 0) for h in hours for m in minutes])
    step = _STEP.fullmatch(fields["minute"])
    if every_minute or step:
        what = "every minute" if every_minute else f"every {step[1]} minutes"  # type: ignore[index]
        if every_hour:
            return what
        return (
            f"{what} from {_clock(hours[0], 0, 0)} to {_clock(hours[-1], minutes[-1], 0)}"
            if (hours == tuple(range(hours[0], hours[-1] + 1)))
            else f"{what} during hour {_runs(hours)}"
        )
    if len(minutes) <= 4:
        past = "at minute " + _join([str(m) for m in minutes])
        if every_hour:
            return "every hour" if minutes == (0,) else f"every hour {past}"
        step = _STEP.fullmatch(fields["hour"])
        if step:
            return f"every {step[1]} hours" + ("" if minutes == (0,) else f" {past}")
        if hours == tuple(range(hours[0], hours[-1] + 1)):
            return (
                f"every hour from {_clock(hours[0], minutes[0], 0)} to "
                f"{_clock(hours[-1], minutes[-1], 0)}"
                if len(minutes) == 1
                else f"{past} of every hour from {hours[0]:02d} to {hours[-1]:02d}"
            )
        return f"{past} of hour {_runs(hours)}"
    return f"at minute {_runs(minutes)} of hour {_runs(hours)}"


def _day_part(fields: dict[str, str], crontab: bool) -> list[str]:
    parts = []
    by_date = []
    if fields["day"] != "*":
        spec = parse_day_of_month(fields["day"])
        if spec.days:
            days = tuple(sorted(spec.days))
            by_date.append("the " + _runs(days, _ordinal))
        if spec.last:
            by_date.append("the last day of the month")
        for nth, weekday in spec.nth_weekdays:
            which = "last" if nth < 0 else _ordinal(nth)
            by_date.append(f"the {which} {_WEEKDAYS[weekday]}")
    weekdays = parse_day_of_week(fields["day_of_week"])
    by_weekday = _runs(weekdays, lambda d: _WEEKDAYS[d], cyclic=7) if len(weekdays) < 7 else ""
    if by_date and by_weekday:
        either = crontab and not fields["day"].startswith("*")
        joiner = " and on " if either and not fields["day_of_week"].startswith("*") else ", if a "
        parts.append(f"on {_join(by_date)}{joiner}{by_weekday}")
    elif by_date:
        parts.append(f"on {_join(by_date)}")
    elif by_weekday:
        parts.append(f"on {by_weekday}")
    if fields["week"] != "*":
        weeks = parse_values("week", fields["week"])
        parts.append(f"in ISO week{'s' if len(weeks) > 1 else ''} {_runs(weeks)}")
    if fields["month"] != "*":
        months = parse_values("month", fields["month"])
        if len(months) < 12:
            parts.append("in " + _runs(months, lambda m: _MONTHS[m - 1]))
    if fields["year"] != "*":
        parts.append("in " + _runs(parse_values("year", fields["year"])))
    return parts


def describe(fields: dict[str, str], *, crontab: bool, timezone: tzinfo) -> str:
    """The trigger's schedule in words, with its time zone when the hours matter."""
    time_part = _time_part(fields)
    day_parts = _day_part(fields, crontab)
    if not day_parts and time_part.startswith("at "):
        time_part = "every day " + time_part
    text = " ".join([time_part, *day_parts])
    if day_parts or len(parse_values("hour", fields["hour"])) < 24:
        text += f" ({zone_label(timezone)})"
    return text
