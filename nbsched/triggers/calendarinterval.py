"""A trigger that fires every so many years, months, weeks or days at a fixed wall-clock time."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

from .._converters import as_timezone
from ..abc import Trigger
from ._checks import checked_timedelta
from ._describe import count, format_clock, zone_label
from ._dst import resolve_wall_time
from ._state import (
    ComparedByState,
    StateReader,
    date_to_state,
    storable_timezone,
    timezone_to_state,
)

__all__ = ["CalendarIntervalTrigger"]

_DAY = timedelta(days=1)
#: the years where a day more or less, or the instant in UTC, may not exist
_EDGE_YEARS = (1, 9999)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _as_date(value: date | datetime | str | None, *, argument: str, tz: tzinfo) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = (
                date.fromisoformat(value) if len(value) <= 10 else datetime.fromisoformat(value)
            )
        except ValueError:
            raise ValueError(
                f"{argument}: {value!r} is not an ISO 8601 date (such as '2026-01-31')"
            ) from None
    if isinstance(value, datetime):
        # An aware datetime names a day in the trigger's zone; a naive one is read in it.
        if value.utcoffset() is None:
            return value.date()
        try:
            return value.astimezone(tz).date()
        except OverflowError:
            raise ValueError(
                f"{argument}: {value.isoformat()} is out of range in the trigger's time zone"
            ) from None
    if isinstance(value, date):
        return value
    raise TypeError(
        f"{argument}: expected a date, datetime or ISO 8601 string, got {type(value).__name__} "
        f"{value!r}"
    )


def _check_int(name: str, value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name}: must be {bound}, got {value!r}")
    return value


def _check_interval(years: int, months: int, weeks: int, days: int) -> None:
    if not (years or months or weeks or days):
        raise ValueError(
            "CalendarIntervalTrigger: the interval must be at least one day, got years=0, "
            "months=0, weeks=0, days=0"
        )
    checked_timedelta(weeks=weeks, days=days)


class CalendarIntervalTrigger(ComparedByState, Trigger):
    """Fires every ``years``/``months``/``weeks``/``days`` at ``hour:minute:second`` wall-clock
    time in ``timezone``.

    Each step first adds ``years`` and ``months`` to the previous fire date keeping its day of
    the month; a date that does not exist (31 April, 29 February in a common year) is skipped,
    not clamped, so a trigger started on the 31st fires only in months with 31 days. Then
    ``weeks`` and ``days`` are added.

    The time of day is wall-clock time: it stays 09:00 across DST changes. A time that does
    not exist on a spring-forward day fires at the moment the clocks jump, as
    :class:`~nbsched.triggers.CronTrigger` does (02:30 fires at 03:00 CEST in Europe/Berlin,
    02:15 at 02:30 in Australia/Lord_Howe); the next fire is at the usual time again. A time
    that occurs twice on a fall-back day fires once, at its first occurrence. (APScheduler 4
    instead skips the whole date when the time does not exist.)

    :param years: years between fires (``months``, ``weeks``, ``days`` likewise; ints >= 0,
        at least one > 0)
    :param hour: hour of the day (0-23); ``minute``, ``second`` likewise (0-59)
    :param start_date: the first fire date (a ``date``, ISO string, or datetime whose date in
        ``timezone`` is used); default: today in ``timezone``
    :param end_date: the last possible fire date (inclusive)
    :param timezone: IANA name or ``tzinfo``; default: the machine's local zone
    :raises ValueError: all-zero interval, out-of-range time, ``end_date`` before
        ``start_date``, unknown time zone
    :raises TypeError: a non-integer field

    Example::

        CalendarIntervalTrigger(months=1, hour=9, start_date="2026-01-31",
                                timezone="Europe/Berlin")
    """

    __slots__ = (
        "_years",
        "_months",
        "_weeks",
        "_days",
        "_hour",
        "_minute",
        "_second",
        "_start_date",
        "_end_date",
        "_tz",
        "_fixed",
        "_step",
        "_last_date",
        "_done",
    )
    # every slot holds an immutable value: clone_trigger copies the slots instead of making
    # a state round trip
    _immutable_slots = True

    def __init__(
        self,
        years: int = 0,
        months: int = 0,
        weeks: int = 0,
        days: int = 0,
        hour: int = 0,
        minute: int = 0,
        second: int = 0,
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        timezone: str | tzinfo | None = None,
    ):
        self._years = _check_int("years", years, 0, None)
        self._months = _check_int("months", months, 0, None)
        self._weeks = _check_int("weeks", weeks, 0, None)
        self._days = _check_int("days", days, 0, None)
        _check_interval(years, months, weeks, days)
        self._hour = _check_int("hour", hour, 0, 23)
        self._minute = _check_int("minute", minute, 0, 59)
        self._second = _check_int("second", second, 0, 59)
        tz = storable_timezone(as_timezone(timezone), argument="timezone")
        self._tz = tz
        start = _as_date(start_date, argument="start_date", tz=tz)
        if start is None:
            start = datetime.now(tz).date()
        end = _as_date(end_date, argument="end_date", tz=tz)
        if end is not None and end < start:
            raise ValueError(f"end_date: {end.isoformat()} is before start_date {start}")
        self._start_date = start
        self._end_date = end
        self._last_date: date | None = None
        self._done = False
        self._setup()

    def _setup(self) -> None:
        self._fixed = not isinstance(self._tz, ZoneInfo)
        self._step = timedelta(days=self._days + 7 * self._weeks)

    @property
    def timezone(self) -> tzinfo:
        """The zone whose wall clock the trigger follows."""
        return self._tz

    @property
    def start_date(self) -> date:
        """The first fire date."""
        return self._start_date

    @property
    def end_date(self) -> date | None:
        """The last possible fire date, inclusive (``None``: no end)."""
        return self._end_date

    def _following(self, previous: date) -> date | None:
        if self._years or self._months:
            year, month, day = previous.year, previous.month, previous.day
            while True:
                month += self._months
                year += self._years + (month - 1) // 12
                month = (month - 1) % 12 + 1
                if year > 9999:
                    return None
                if day <= 28 or day <= monthrange(year, month)[1]:
                    break
                # no such day in that month (31 April, 29 February...): skip the month
            previous = date(year, month, day)
        if self._step:
            try:
                return previous + self._step
            except OverflowError:
                return None
        return previous

    def next(self) -> datetime | None:
        if self._done:
            return None
        last = self._last_date
        fire_date = self._start_date if last is None else self._following(last)
        end = self._end_date
        if fire_date is None or (end is not None and fire_date > end):
            self._done = True
            return None
        self._last_date = fire_date
        tz = self._tz
        local = datetime(
            fire_date.year,
            fire_date.month,
            fire_date.day,
            self._hour,
            self._minute,
            self._second,
            0,
            tz,
        )
        if self._fixed:
            if fire_date.year in _EDGE_YEARS:
                return self._near_the_ends_of_time(local)
            return local
        # Fast path: the same UTC offset a day before and after means no DST change near this
        # wall time. Otherwise resolve it exactly (gap: when the clocks jump; fold: the first).
        offset = tz.utcoffset(local)
        try:
            if offset == tz.utcoffset(local - _DAY) and offset == tz.utcoffset(local + _DAY):
                return local
        except OverflowError:
            # 1 January 1 or 31 December 9999: the only dates whose instant may lie outside
            # what a datetime holds in UTC (no zone is a day away from UTC)
            return self._near_the_ends_of_time(local)
        return resolve_wall_time(local.replace(tzinfo=None), tz)

    def _near_the_ends_of_time(self, local: datetime) -> datetime | None:
        """The fire time for ``local`` in the year 1 or 9999, where a day more or less, or the
        instant in UTC, may not exist: past the end it exhausts the trigger, before the
        beginning it skips the date."""
        try:
            fire_time = local
            if not self._fixed:
                fire_time = resolve_wall_time(local.replace(tzinfo=None), self._tz)
            fire_time.astimezone(timezone.utc)
            return fire_time
        except OverflowError:
            if local.year == 1:
                return self.next()  # at most a day or two of dates before UTC's range
            self._done = True
            return None

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "interval": {
                "years": self._years,
                "months": self._months,
                "weeks": self._weeks,
                "days": self._days,
            },
            "time": [self._hour, self._minute, self._second],
            "start_date": date_to_state(self._start_date),
            "end_date": date_to_state(self._end_date),
            "timezone": timezone_to_state(self._tz),
            "last_fire_date": date_to_state(self._last_date),
            "done": self._done,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        reader = StateReader(self, state, 1)
        reader.mapping("interval")
        years, months, weeks, days = (
            reader.integer("interval", unit, low=0)
            for unit in ("years", "months", "weeks", "days")
        )
        try:
            _check_interval(years, months, weeks, days)
        except ValueError as exc:
            raise reader.error(("interval",), str(exc)) from None
        clock = reader.items("time")
        if len(clock) != 3 or not all(
            type(value) is int and 0 <= value <= high
            for value, high in zip(clock, (23, 59, 59), strict=True)
        ):
            raise reader.error(("time",), f"must be [hour, minute, second], got {clock!r:.80}")
        start = cast(date, reader.day("start_date"))
        end = reader.day("end_date", optional=True)
        if end is not None and end < start:
            raise reader.error(("end_date",), f"{end} is before start_date {start}")
        tz = reader.zone("timezone")
        last = reader.day("last_fire_date", optional=True)
        if last is not None and last < start:
            raise reader.error(("last_fire_date",), f"{last} is before start_date {start}")
        done = reader.boolean("done")
        self._years, self._months, self._weeks, self._days = years, months, weeks, days
        self._hour, self._minute, self._second = clock
        self._start_date, self._end_date, self._tz = start, end, tz
        self._last_date, self._done = last, done
        self._setup()

    def _every(self) -> str:
        units = [
            (self._years, "year"),
            (self._months, "month"),
            (self._weeks, "week"),
            (self._days, "day"),
        ]
        given = [(n, unit) for n, unit in units if n]
        start = self._start_date
        if len(given) == 1:
            n, unit = given[0]
            every = f"every {unit}" if n == 1 else f"every {count(n, unit)}"
            if unit == "year":
                return f"{every} on {start.day} {_MONTHS[start.month - 1]}"
            if unit == "month":
                return f"{every} on day {start.day}"
            if unit == "week":
                return f"{every} on {_WEEKDAYS[start.weekday()]}"
            return every
        parts = [count(n, unit) for n, unit in given]
        return "every " + ", ".join(parts[:-1]) + " and " + parts[-1]

    def __str__(self) -> str:
        clock = format_clock(time(self._hour, self._minute, self._second))
        text = f"{self._every()} at {clock} from {self._start_date.isoformat()}"
        if self._end_date is not None:
            text += f" until {self._end_date.isoformat()}"
        return f"{text} ({zone_label(self._tz)})"

    def __repr__(self) -> str:
        fields = [
            f"{name}={value!r}"
            for name, value in (
                ("years", self._years),
                ("months", self._months),
                ("weeks", self._weeks),
                ("days", self._days),
                ("hour", self._hour),
                ("minute", self._minute),
                ("second", self._second),
            )
            if value
        ]
        fields.append(f"start_date={self._start_date!r}")
        if self._end_date is not None:
            fields.append(f"end_date={self._end_date!r}")
        tz = self._tz
        shown = repr(tz.key) if isinstance(tz, ZoneInfo) else repr(tz)
        fields.append(f"timezone={shown}")
        return f"{type(self).__name__}({', '.join(fields)})"
