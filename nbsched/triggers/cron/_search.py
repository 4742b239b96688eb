"""The fire-time search in naive wall-clock time: the next (year, month, day, hour, minute,
second) at or after a given one that every field allows.

Each field is a sorted tuple of allowed values searched with ``bisect``, coarse to fine, carrying
into the next coarser field when a field runs out. The allowed days of one month depend on the
month (``last``, ``2nd fri``, weekdays, ISO weeks) and are computed once per month and cached.
Time zones are not this module's business: the trigger turns wall times into instants.

A :class:`WallSearch` is shared by every trigger with the same expression (see ``_spec``) and
may be used from several threads: its fields never change, and its memo tables only gain
immutable values that every thread would compute alike (each dict operation is atomic).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from calendar import monthrange
from datetime import date, timedelta

from ._fields import DayOfMonth

__all__ = ["WallTime", "WallSearch"]

#: (year, month, day, hour, minute, second)
WallTime = tuple[int, int, int, int, int, int]

_MAX_YEAR = 9999
_CACHE_LIMIT = 1200  # months (100 years) remembered; cleared when full so memory stays bounded
_CLOCK_LIMIT = 4096  # times of day listed in a table
_LENGTHS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class WallSearch:
    """Finds wall-clock times that match a set of cron fields."""

    __slots__ = (
        "years",
        "months",
        "hours",
        "minutes",
        "seconds",
        "day_of_month",
        "weekdays",
        "weeks",
        "either_day",
        "_month_days",
        "_clock_seconds",
        "_by_length",
        "_by_shape",
        "_clock_times",
        "_clock_offsets",
    )

    def __init__(
        self,
        *,
        years: tuple[int, ...] | None,
        months: tuple[int, ...],
        day_of_month: DayOfMonth | None,
        weeks: tuple[int, ...] | None,
        weekdays: tuple[int, ...],
        hours: tuple[int, ...],
        minutes: tuple[int, ...],
        seconds: tuple[int, ...],
        either_day: bool,
    ) -> None:
        """``years``/``weeks``/``day_of_month`` None mean "any"; weekdays are Monday=0.

        ``either_day`` is crontab's rule: a day matches when its day of month OR its weekday
        is allowed (otherwise both must be).
        """
        self.years = years
        self.months = months
        self.day_of_month = day_of_month
        self.weeks = frozenset(weeks) if weeks is not None else None
        self.weekdays = frozenset(weekdays)
        self.hours = hours
        self.minutes = minutes
        self.seconds = seconds
        self.either_day = either_day
        # When no weekday, nth weekday or ISO week is involved, a month's days depend on its
        # length alone: the 4 answers (lengths 28-31) are listed here and need no cache.
        self._by_length: tuple[tuple[int, ...], ...] | None = None
        if len(self.weekdays) == 7 and self.weeks is None:
            if day_of_month is None or not day_of_month.nth_weekdays:
                self._by_length = tuple(
                    self._compute_month_days(0, length, 0, 0) for length in (28, 29, 30, 31)
                )
        # Otherwise: year * 16 + month -> the month's days, and without ISO weeks the days
        # depend on the month's first weekday and length: at most 28 distinct tuples.
        self._month_days: dict[int, tuple[int, ...]] = {}
        self._by_shape: dict[int, tuple[int, ...]] | None = {} if self.weeks is None else None
        # the times of day, when there are few enough to list: one bisect finds the next one
        self._clock_seconds: tuple[int, ...] | None = None
        self._clock_times: tuple[tuple[int, int, int], ...] = ()
        if len(hours) * len(minutes) * len(seconds) <= _CLOCK_LIMIT:
            self._clock_times = tuple((h, m, s) for h in hours for m in minutes for s in seconds)
            self._clock_seconds = tuple(h * 3600 + m * 60 + s for h, m, s in self._clock_times)
        # the same times as offsets from midnight: adding one to a midnight is several times
        # cheaper than building the datetime from its fields
        self._clock_offsets = tuple(timedelta(seconds=n) for n in self._clock_seconds or ())

    def month_days(self, year: int, month: int) -> tuple[int, ...]:
        """The sorted days of ``year``-``month`` that the day fields allow (cached)."""
        by_length = self._by_length
        if by_length is not None:
            if month == 2:
                leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
                return by_length[1 if leap else 0]
            return by_length[_LENGTHS[month] - 28]
        key = year * 16 + month
        days = self._month_days.get(key)
        if days is None:
            month_days = self._month_days
            if len(month_days) >= _CACHE_LIMIT:
                month_days.clear()
            first_weekday, length = monthrange(year, month)
            by_shape = self._by_shape
            if by_shape is None:
                days = self._compute_month_days(first_weekday, length, year, month)
            else:
                shape = first_weekday * 32 + length
                days = by_shape.get(shape)
                if days is None:
                    days = self._compute_month_days(first_weekday, length, year, month)
                    days = by_shape.setdefault(shape, days)
            month_days[key] = days
        return days

    def _compute_month_days(
        self, first_weekday: int, length: int, year: int, month: int
    ) -> tuple[int, ...]:
        """The allowed days of a month of ``length`` days starting on ``first_weekday``
        (Monday=0); ``year`` and ``month`` only matter for ISO weeks."""
        spec = self.day_of_month
        by_date: set[int] | None = None  # None: every day
        if spec is not None:
            by_date = {day for day in spec.days if day <= length}
            if spec.last:
                by_date.add(length)
            for nth, weekday in spec.nth_weekdays:
                first = 1 + (weekday - first_weekday) % 7
                day = first + 7 * (nth - 1) if nth > 0 else first + 7 * ((length - first) // 7)
                if day <= length:
                    by_date.add(day)
        by_weekday: set[int] | None = None  # None: every weekday
        if len(self.weekdays) < 7:
            by_weekday = set()
            for weekday in self.weekdays:
                by_weekday.update(range(1 + (weekday - first_weekday) % 7, length + 1, 7))
        if self.either_day and by_date is not None:
            days = set(range(1, length + 1)) if by_weekday is None else by_date | by_weekday
        elif by_date is None:
            days = by_weekday if by_weekday is not None else set(range(1, length + 1))
        else:
            days = by_date if by_weekday is None else by_date & by_weekday
        if self.weeks is not None:
            weeks = self.weeks
            days = {day for day in days if date(year, month, day).isocalendar()[1] in weeks}
        return tuple(sorted(days))

    def at_or_after(self, y: int, mo: int, d: int, h: int, mi: int, s: int) -> WallTime | None:
        """The first matching wall time at or after the given one (fields may overflow by one,
        e.g. ``s=60``), or None if there is none before the year 10000."""
        years, months, hours, minutes, seconds = (
            self.years,
            self.months,
            self.hours,
            self.minutes,
            self.seconds,
        )
        month_days = self.month_days
        clock = self._clock_seconds
        while True:
            if y > _MAX_YEAR:
                return None
            if years is not None:
                i = bisect_left(years, y)
                if i == len(years):
                    return None
                if years[i] != y:
                    y, mo, d, h, mi, s = years[i], 1, 1, 0, 0, 0
            i = bisect_left(months, mo)
            if i == len(months):
                y, mo, d, h, mi, s = y + 1, 1, 1, 0, 0, 0
                continue
            if months[i] != mo:
                mo, d, h, mi, s = months[i], 1, 0, 0, 0
            days = month_days(y, mo)
            i = bisect_left(days, d)
            if i == len(days):
                mo, d, h, mi, s = mo + 1, 1, 0, 0, 0
                continue
            if days[i] != d:
                d, h, mi, s = days[i], 0, 0, 0
            if clock is not None:
                # one bisect in the listed times of day (h:mi:s may overflow: 23:59:60)
                i = bisect_left(clock, h * 3600 + mi * 60 + s)
                if i == len(clock):
                    d, h, mi, s = d + 1, 0, 0, 0
                    continue
                return (y, mo, d, *self._clock_times[i])
            i = bisect_left(hours, h)
            if i == len(hours):
                d, h, mi, s = d + 1, 0, 0, 0
                continue
            if hours[i] != h:
                h, mi, s = hours[i], 0, 0
            i = bisect_left(minutes, mi)
            if i == len(minutes):
                h, mi, s = h + 1, 0, 0
                continue
            if minutes[i] != mi:
                mi, s = minutes[i], 0
            i = bisect_left(seconds, s)
            if i == len(seconds):
                mi, s = mi + 1, 0
                continue
            return y, mo, d, h, mi, seconds[i]

    @property
    def dense_days(self) -> bool:
        """Whether matching days are at most a few days apart (every month and day of the
        month, at least five weekdays, no ISO week or year restriction)."""
        return (
            self.years is None
            and len(self.months) == 12
            and self.day_of_month is None
            and self.weeks is None
            and len(self.weekdays) >= 5
        )

    @property
    def every_day(self) -> bool:
        """Whether every day of every year matches."""
        return self.dense_days and len(self.weekdays) == 7

    @property
    def times_per_day(self) -> int:
        """How many times of day match (on a matching day)."""
        return len(self.hours) * len(self.minutes) * len(self.seconds)

    def clock_index(self, h: int, mi: int, s: int) -> int:
        """Where the matching time of day ``h:mi:s`` is in :attr:`clock_offsets`."""
        clock = self._clock_seconds
        assert clock is not None
        return bisect_left(clock, h * 3600 + mi * 60 + s)

    @property
    def clock_offsets(self) -> tuple[timedelta, ...]:
        """Every matching time of day as an offset from midnight (needs the time-of-day
        table)."""
        return self._clock_offsets

    @property
    def clock_table(self) -> tuple[tuple[int, ...], tuple[tuple[int, int, int], ...]]:
        """Every matching time of day as seconds after midnight and as (hour, minute, second),
        in the same order (needs the time-of-day table)."""
        clock = self._clock_seconds
        assert clock is not None
        return clock, self._clock_times

    @property
    def last_clock_time(self) -> tuple[int, int, int]:
        """The last matching time of day (needs the time-of-day table)."""
        return self._clock_times[-1]

    def after(self, y: int, mo: int, d: int, h: int, mi: int, s: int) -> WallTime | None:
        """The first matching wall time after the given one, which must itself match."""
        clock = self._clock_seconds
        if clock is not None:
            i = bisect_right(clock, h * 3600 + mi * 60 + s)
            if i < len(clock):
                return (y, mo, d, *self._clock_times[i])
            days = self.month_days(y, mo)
            i = bisect_right(days, d)
            if i < len(days):
                return (y, mo, days[i], *self._clock_times[0])
            return self.at_or_after(y, mo + 1, 1, 0, 0, 0)
        seconds = self.seconds
        i = bisect_right(seconds, s)
        if i < len(seconds):
            return y, mo, d, h, mi, seconds[i]
        minutes = self.minutes
        i = bisect_right(minutes, mi)
        if i < len(minutes):
            return y, mo, d, h, minutes[i], seconds[0]
        hours = self.hours
        i = bisect_right(hours, h)
        if i < len(hours):
            return y, mo, d, hours[i], minutes[0], seconds[0]
        days = self.month_days(y, mo)
        i = bisect_right(days, d)
        if i < len(days):
            return y, mo, days[i], hours[0], minutes[0], seconds[0]
        return self.at_or_after(y, mo + 1, 1, 0, 0, 0)

    def can_match(self) -> bool:
        """Whether any wall time in the years 1970-9999 matches.

        Calendars repeat every 400 years (leap years, weekdays and ISO weeks alike), so when
        every year is allowed, 400 of them decide it.
        """
        years = self.years if self.years is not None else range(1970, 2370)
        for year in years:
            for month in self.months:
                if self.month_days(year, month):
                    return True
        return False
