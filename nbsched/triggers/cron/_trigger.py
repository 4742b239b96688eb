"""The :class:`CronTrigger` class: arguments, state, and turning wall times into instants."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime, timedelta, tzinfo
from datetime import timezone as timezone_type
from typing import Any

from ..._converters import as_aware_datetime, as_timezone
from ...abc import Trigger
from .._checks import before, checked_instant
from .._dst import (
    GAP,
    LOOK_AHEAD_DAYS,
    NORMAL,
    REPEATED,
    end_of_stretch,
    is_plain_day,
    kind_of,
    plain_days_until,
)
from .._state import (
    ComparedByState,
    StateReader,
    datetime_to_state,
    storable_timezone,
    timezone_to_state,
)
from ._fields import FIELD_NAMES
from ._parsing import as_field_text
from ._search import WallSearch, WallTime
from ._spec import CronSpec, spec_from_crontab, spec_from_keywords

__all__ = ["CronTrigger"]

_UTC = timezone_type.utc
_SECOND = timedelta(seconds=1)
# the midnight of no run (pos == stop): never added to
_NO_RUN = datetime(1970, 1, 1, tzinfo=_UTC)
#: the last whole second a datetime holds in UTC (9999-12-31T23:59:59Z) as a Unix timestamp:
#: no fire time after it (fire times are whole seconds, so the float compares exactly)
_LAST_SECOND = 253402300799
#: earlier than any fire time (the year field starts at 1970, in any zone)
_EARLIEST = datetime(1969, 1, 1, tzinfo=_UTC)
_FIXED_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Zulu"})
#: the steps of a run by day (see _start_day_run), shared by every trigger
_DAY_STEPS = tuple(timedelta(days=n) for n in range(LOOK_AHEAD_DAYS + 1))
_LAST_ORDINAL = date.max.toordinal()
#: the cursor that stands for the wall time of the last fire time (an empty tuple, shared):
#: a first fire holds it instead of a tuple of its own, so 100,000 stored schedules do not
#: each keep one more object for the garbage collector to visit
_AT_LAST: WallTime = ()  # type: ignore[assignment]


class CronTrigger(ComparedByState, Trigger):
    """Fires whenever the wall clock in ``timezone`` matches every given field, like cron.

    Each field takes an int or a cron expression: ``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``,
    ``a/n`` and comma-separated lists of these. Months and weekdays also take names
    (``jan``, ``mon-fri``, ``jan-sep/2``); weekday numbers read as in crontab (0 and 7 are
    Sunday, 1 is Monday, ``*/2`` is Sunday, Tuesday, Thursday, Saturday) and a weekday range may
    wrap (``fri-mon``). ``day`` also takes ``last`` (or ``L``), ``1st``..``5th`` or ``last``
    followed by a weekday name (``2nd fri``, ``last sun``).

    Fields coarser than the finest field given default to ``*``, finer ones to their minimum:
    ``CronTrigger(hour=9)`` fires daily at 09:00:00. Every field must match (crontab's
    either-day rule only applies to :meth:`from_crontab`).

    DST: fire times keep wall-clock time. A matching wall time that does not exist (spring
    forward) fires once, at the first instant after the gap (02:30 in Europe/Berlin fires at
    03:00 CEST). A matching wall time that exists twice (fall back) fires once, at its first
    occurrence, unless the ``hour`` field allows every hour: then the trigger keeps firing
    through the repeated hour as real time passes (``*/15 * * * *`` fires at 02:00, 02:15, ...
    CEST and again at 02:00, 02:15, ... CET).

    :param year: 4-digit year (1970-9999)
    :param month: month, 1-12 or ``jan``-``dec``
    :param day: day of the month, 1-31, ``last``/``L``, ``2nd fri``, ``last sun``
    :param week: ISO week number, 1-53
    :param day_of_week: weekday, 0-7 (0 and 7 Sunday) or ``sun``-``sat``
    :param hour: hour, 0-23
    :param minute: minute, 0-59
    :param second: second, 0-59
    :param start_time: earliest fire time (default: now); a naive datetime is read in
        ``timezone``; a wall time that does not exist (02:30 on a spring-forward day in
        Europe/Berlin) is the moment the clocks jump (03:00 CEST)
    :param end_time: latest fire time (default: none); read like ``start_time``
    :param timezone: IANA zone name or ``tzinfo`` (default: the machine's local IANA zone)
    :raises ValueError: a field, zone or time that can't be read, a trigger that can never fire,
        or ``end_time`` before ``start_time``; the message names the argument and value

    Attributes: :attr:`timezone`, :attr:`start_time`, :attr:`end_time` (aware, in
    ``timezone``) and :attr:`fields` (every field's expression, defaults filled in).
    Fire times in the second pass of a repeated hour carry ``fold=1``: compare fire times as
    instants (``.timestamp()``, or converted to UTC), as Python compares two datetimes with the
    same ``tzinfo`` by their wall time.

    Example::

        CronTrigger(day_of_week="mon-fri", hour=9, timezone="Europe/Berlin")
    """

    # Everything derived from the expression lives in one CronSpec shared by all the triggers
    # with that expression (see _spec.py); an instance only holds its zone, times and position.
    __slots__ = (
        "_tz",
        "_start_time",
        "_end_time",
        "_spec",
        "_end_ts",
        "_last",
        "_cursor",
        "_done",
        "_plain_day",
        "_fixed",
        "_midnight",
        "_offsets",
        "_pos",
        "_stop",
        "_plain_until",
    )
    # every slot holds an immutable value: clone_trigger copies the slots instead of making
    # a state round trip
    _immutable_slots = True

    def __init__(
        self,
        year: int | str | None = None,
        month: int | str | None = None,
        day: int | str | None = None,
        week: int | str | None = None,
        day_of_week: int | str | None = None,
        hour: int | str | None = None,
        minute: int | str | None = None,
        second: int | str | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        timezone: str | tzinfo | None = None,
    ) -> None:
        given = {
            name: as_field_text(name, value)
            for name, value in zip(
                FIELD_NAMES,
                (year, month, day, week, day_of_week, hour, minute, second),
                strict=True,
            )
        }
        self._setup(
            spec=spec_from_keywords(given),
            start_time=start_time,
            end_time=end_time,
            timezone=timezone,
        )

    @classmethod
    def from_crontab(
        cls,
        expr: str,
        timezone: str | tzinfo | None = None,
        *,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
    ) -> CronTrigger:
        """Read a crontab(5) line: ``minute hour day-of-month month day-of-week``.

        As crontab does: 0 and 7 are Sunday, steps apply to ranges and named ranges
        (``mon-fri/2``), ``L`` is the last day of the month, and when both day fields are
        restricted (neither starts with ``*``) a day fires when **either** matches
        (``0 0 13 * fri`` is every 13th and every Friday). ``@yearly``, ``@annually``,
        ``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and ``@hourly`` are accepted.
        Lines with six fields (seconds) are refused: use the keyword form.

        :raises ValueError: the line can't be read (the message quotes the field and the line)
        """
        spec = spec_from_crontab(expr)
        trigger = cls.__new__(cls)
        trigger._setup(
            spec=spec,
            start_time=start_time,
            end_time=end_time,
            timezone=timezone,
        )
        return trigger

    def _setup(
        self,
        *,
        spec: CronSpec,
        start_time: datetime | str | None,
        end_time: datetime | str | None,
        timezone: str | tzinfo | None,
        last_fire_time: datetime | None = None,
    ) -> None:
        tz = storable_timezone(as_timezone(timezone), argument="timezone")
        self._spec = spec
        self._tz = tz
        start = as_aware_datetime(start_time, argument="start_time", timezone=tz)
        start = checked_instant(start or datetime.now(tz), argument="start_time")
        self._start_time = _in_zone(start, tz, argument="start_time")
        end = as_aware_datetime(end_time, argument="end_time", timezone=tz)
        if end is not None:
            end = _in_zone(checked_instant(end, argument="end_time"), tz, argument="end_time")
            if before(end, self._start_time):
                raise ValueError(
                    f"end_time: {end.isoformat()} is before start_time "
                    f"{self._start_time.isoformat()}"
                )
        self._end_time = end
        self._end_ts = end.timestamp() if end is not None else None
        self._last = last_fire_time
        self._cursor: WallTime | None = None
        self._done = False
        # A run through a day without DST change (see _start_run): its fire times are
        # midnight + offsets[pos:stop], the offsets being the spec's shared times of day.
        self._midnight = _NO_RUN
        self._offsets = _DAY_STEPS if spec.runs_by_day else spec.search.clock_offsets
        self._pos = self._stop = 0
        # a day known to have no DST change (every wall time normal), or a zone that has none
        self._plain_day: tuple[int, ...] | None = None
        self._plain_until: tuple[int, ...] = ()  # the days before it have no DST change
        key = timezone_to_state(tz)
        self._fixed = (
            isinstance(tz, timezone_type) or key in _FIXED_ZONES or key.startswith("Etc/GMT")
        )

    @property
    def timezone(self) -> tzinfo:
        """The zone whose wall clock the trigger follows (fire times come back in it)."""
        return self._tz

    @property
    def start_time(self) -> datetime:
        """The earliest possible fire time (aware, in :attr:`timezone`).

        It may be set, as in APScheduler 4 (read like the argument; a trigger that has fired
        already goes on from its last fire time or the new start, whichever is later): the
        fire times, ``repr``, the state and equality follow.
        """
        return self._start_time

    @start_time.setter
    def start_time(self, value: datetime | str) -> None:
        start = as_aware_datetime(value, argument="start_time", timezone=self._tz)
        if start is None:
            raise TypeError("start_time: expected a datetime or ISO 8601 string, got None")
        start = _in_zone(checked_instant(start, argument="start_time"), self._tz, "start_time")
        if self._end_time is not None and before(self._end_time, start):
            raise ValueError(
                f"end_time: {self._end_time.isoformat()} is before start_time {start.isoformat()}"
            )
        self._start_time = start
        if self._last is not None and before(self._last, start):
            self._last = None  # search from the new start, not from the last fire time
        self._restart_search()

    @property
    def end_time(self) -> datetime | None:
        """The latest possible fire time (aware, in :attr:`timezone`), or ``None``; may be set
        like :attr:`start_time`."""
        return self._end_time

    @end_time.setter
    def end_time(self, value: datetime | str | None) -> None:
        end = as_aware_datetime(value, argument="end_time", timezone=self._tz)
        if end is not None:
            end = _in_zone(checked_instant(end, argument="end_time"), self._tz, "end_time")
            if before(end, self._start_time):
                raise ValueError(
                    f"end_time: {end.isoformat()} is before start_time "
                    f"{self._start_time.isoformat()}"
                )
        self._end_time = end
        self._end_ts = None if end is None else end.timestamp()
        self._restart_search()

    def _restart_search(self) -> None:
        """Forget the search's shortcuts (the cursor, a run through a day, exhaustion): the
        next call searches afresh from the last fire time, or from the start."""
        self._done = False
        self._cursor = None
        self._pos = self._stop = 0
        self._midnight = _NO_RUN

    @property
    def _search(self) -> WallSearch:
        return self._spec.search

    # --- the search -------------------------------------------------------------------------

    def next(self) -> datetime | None:
        """Return the next fire time (aware, in :attr:`timezone`) or None when exhausted."""
        pos = self._pos
        if pos < self._stop:
            # the rest of a run (it stops before end_time: no check needed here)
            self._pos = pos + 1
            fire_time = self._last = self._midnight + self._offsets[pos]
            return fire_time
        if self._done:
            return None
        cursor = self._cursor
        found: tuple[datetime, WallTime | None] | None
        if cursor is not None:
            # fast path: the previous fire was an ordinary wall time that matched
            if cursor is _AT_LAST:
                last = self._last
                assert last is not None
                cursor = (last.year, last.month, last.day, last.hour, last.minute, last.second)
            spec = self._spec
            wall = spec.search.after(*cursor)
            if wall is None:
                found = None
            else:
                tz = self._tz
                day = wall[:3]
                plain = self._fixed or day < self._plain_until or day == self._plain_day
                if not plain and spec.looks_ahead:
                    # a look-ahead for the days without DST change, shared in the zone
                    until = plain_days_until(day, tz)
                    if until is not None:
                        self._plain_until = until
                        plain = True
                if plain and spec.runs_through_days:
                    found = self._start_run(wall)
                elif plain and spec.runs_by_day:
                    found = self._start_day_run(wall)
                elif plain:
                    found = datetime(*wall, 0, tz), wall  # positional tzinfo: faster
                elif day == cursor[:3] and is_plain_day(*day, tz):
                    # a second fire on this day: one check covers the rest of the day
                    self._plain_day = day
                    found = datetime(*wall, 0, tz), wall
                else:
                    fire_time = datetime(*wall, 0, tz)
                    if fire_time.utcoffset() == datetime(*wall, 0, tz, fold=1).utcoffset():
                        found = fire_time, wall
                    else:
                        found = self._resolve(wall)
        elif self._last is None:
            found = self._first_from(self._start_time)
        elif self._last.year < 9999:
            found = self._first_from(self._last.astimezone(_UTC) + _SECOND)
        else:
            found = self._first_after_in_year_9999(self._last)
        if found is None:
            self._finish()
            return None
        fire_time, self._cursor = found
        if (self._end_ts is not None and fire_time.timestamp() > self._end_ts) or (
            fire_time.year == 9999 and fire_time.timestamp() > _LAST_SECOND
        ):
            self._finish()
            return None
        self._last = fire_time
        return fire_time

    def _first_after_in_year_9999(self, last: datetime) -> tuple[datetime, WallTime | None] | None:
        """As ``_first_from(last + 1 s)``, where that second may be past what datetime holds."""
        try:
            return self._first_from(last.astimezone(_UTC) + _SECOND)
        except OverflowError:
            return None

    def _finish(self) -> None:
        """Exhausted for good: every later call returns None."""
        self._done = True
        self._cursor = None
        self._pos = self._stop = 0
        self._midnight = _NO_RUN

    def _start_run(self, wall: WallTime) -> tuple[datetime, WallTime]:
        """Fire at ``wall`` (on a day without DST change) and start a run through the rest of
        its day: next() then adds the next offsets to the day's midnight, which costs far less
        than building each datetime (an aware datetime's arithmetic is wall-clock arithmetic,
        right on a plain day) and holds no list. Times after ``end_time`` are left out of the
        run. Return the fire time and the cursor for when the run is over: the day's last
        time."""
        search = self._spec.search
        offsets = self._offsets
        y, mo, d = wall[0], wall[1], wall[2]
        midnight = datetime(y, mo, d, 0, 0, 0, 0, self._tz)
        first = search.clock_index(wall[3], wall[4], wall[5])
        stop = len(offsets)
        end_ts = self._end_ts
        if y == 9999:  # no fire time past the last instant a datetime holds in UTC
            end_ts = _LAST_SECOND if end_ts is None else min(end_ts, _LAST_SECOND)
        if end_ts is not None:
            while stop > first + 1 and (midnight + offsets[stop - 1]).timestamp() > end_ts:
                stop -= 1
        self._midnight = midnight
        self._pos = first + 1
        self._stop = stop
        return midnight + offsets[first], (y, mo, d, *search.last_clock_time)

    def _start_day_run(self, wall: WallTime) -> tuple[datetime, WallTime]:
        """Fire at ``wall`` (a day without DST change, of a trigger firing once every day) and
        start a run through the following days known to have no DST change: next() then adds
        whole days to this fire time (wall-clock arithmetic, right on a plain day). Times after
        ``end_time`` are left out of the run. Return the fire time and the cursor for when the
        run is over: the run's last fire, as a wall time."""
        fire_time = datetime(*wall, 0, self._tz)
        first = date(wall[0], wall[1], wall[2]).toordinal()
        day = wall[:3]
        if self._fixed:
            days = LOOK_AHEAD_DAYS
        elif day < self._plain_until:
            days = min(date(*self._plain_until).toordinal() - first, LOOK_AHEAD_DAYS)
        else:
            days = 1
        days = min(days, _LAST_ORDINAL - first + 1)  # no day after 9999-12-31
        end_ts = self._end_ts
        if date.fromordinal(first + days - 1).year == 9999:
            # no fire time past the last instant a datetime holds in UTC
            end_ts = _LAST_SECOND if end_ts is None else min(end_ts, _LAST_SECOND)
        if end_ts is not None and days > 1:
            # the first step whose fire time is after end_time ends the run (fire times rise)
            low, high = 1, days
            while low < high:
                middle = (low + high) // 2
                if (fire_time + _DAY_STEPS[middle]).timestamp() > end_ts:
                    high = middle
                else:
                    low = middle + 1
            days = low
        self._midnight = fire_time
        self._pos = 1
        self._stop = days
        last = date.fromordinal(first + days - 1)
        return fire_time, (last.year, last.month, last.day, wall[3], wall[4], wall[5])

    def _resolve(self, wall: WallTime | None) -> tuple[datetime, WallTime | None] | None:
        """The instant for a matching wall time reached from before it (see the class doc)."""
        if wall is None:
            return None
        tz = self._tz
        local = datetime(*wall, tzinfo=tz)
        kind = kind_of(local)
        if kind == NORMAL:
            return local, wall
        if kind == GAP:
            after_gap = end_of_stretch(datetime(*wall), tz)
            return after_gap.replace(tzinfo=tz), None
        return local, None  # the first occurrence of a repeated wall time

    def _first_from(self, instant: datetime) -> tuple[datetime, WallTime | None] | None:
        """The first fire at or after ``instant``, and the cursor for the next search."""
        spec = self._spec
        tz = self._tz
        recent = spec.recent_first
        fixed = self._fixed
        # The first fire at or after any instant between the one searched from last and the
        # fire time found is that fire time: a trigger built alike at about the same moment
        # (or a schedule added many times) need not search again. Instants are compared in
        # UTC, or in a fixed zone in the zone itself (where wall-time order is instant
        # order): two datetimes of one zone compare by wall time, and of two zones cost more.
        if not fixed:
            key = instant.astimezone(_UTC)
        elif instant.tzinfo is tz:
            key = instant
        else:
            key = instant.astimezone(tz)
        if recent is not None and recent[0] is tz and recent[1] < key <= recent[2]:
            return recent[3]
        day = spec.recent_day
        if day is not None and day[0] is tz and day[1] <= key <= day[2]:
            # on a matching day without DST change, up to its last fire: its next time of day
            # (a fraction of a second rounds up; the day's span is wall-clock time)
            clock_seconds = spec.search.clock_table[0]
            delta = key - day[1]
            i = bisect_left(clock_seconds, delta.seconds + (delta.microseconds > 0))
            return day[3] + spec.search.clock_offsets[i], _AT_LAST
        if key.year < 1970 and instant < _EARLIEST:  # (years start at 1970 in any zone)
            instant = _EARLIEST
            key = _EARLIEST.astimezone(tz) if fixed else _EARLIEST
        found = self._search_first_from(instant, key)
        if found is not None and not found[0].microsecond:  # (always whole seconds, in fact)
            # the search started from the whole second at or after ``key``: it answers for
            # every instant after the whole second before that one
            fraction = key.microsecond
            after = key - timedelta(0, 0, fraction) if fraction else key - _SECOND
            fire_time = found[0] if fixed else found[0].astimezone(_UTC)
            spec.recent_first = (tz, after, fire_time, found)
        return found

    def _search_first_from(
        self, instant: datetime, key: datetime
    ) -> tuple[datetime, WallTime | None] | None:
        """:meth:`_first_from` without the shared answers: ``instant`` is the instant to
        search from, not before the year 1969, and ``key`` the same in UTC (in the zone
        itself if it is a fixed one)."""
        tz = self._tz
        fixed = self._fixed
        # the wall time of ``instant`` (in the trigger's zone already when it is a start time)
        if fixed:
            local = key
        elif instant.tzinfo is tz:
            local = instant
        else:
            local = key.astimezone(tz)
        y, mo, d = local.year, local.month, local.day
        until = None if fixed else plain_days_until((y, mo, d), tz)
        if fixed or until is not None:
            # no DST change from this day on (for a while): wall times are plain, the first
            # match is the fire time (unless it falls on a day that may have a change). A
            # fraction of a second rounds up (the search takes a second of 60).
            found = self._search.at_or_after(
                y, mo, d, local.hour, local.minute, local.second + (local.microsecond > 0)
            )
            if found is None:
                return None
            if until is None or found[:3] < until:
                spec = self._spec
                if spec.runs_through_days and found[0] < 9999:
                    recent = spec.recent_first
                    if recent is not None and recent[0] is tz:
                        before = recent[3][0]
                        if (before.day, before.month, before.year) == found[2::-1]:
                            # the search before found this day too: triggers starting
                            # through it are likely to follow (added now and then), so its
                            # times are shared
                            self._remember_day(found)
                return datetime(*found, 0, tz), _AT_LAST
        utc = key  # (a zone that is not fixed)
        if utc.microsecond:
            utc = utc.replace(microsecond=0) + _SECOND
        instant = utc
        local = instant.astimezone(tz)
        wall = local.replace(tzinfo=None, fold=0)
        just_before = (instant - _SECOND).astimezone(tz).replace(tzinfo=None, fold=0) + _SECOND
        if just_before < wall:
            # ``instant`` is the first one after a DST gap, where the gap's wall times fire
            wall = just_before
        start: WallTime = (
            wall.year,
            wall.month,
            wall.day,
            wall.hour,
            wall.minute,
            wall.second,
        )
        search = self._search
        if kind_of(wall.replace(tzinfo=tz)) != REPEATED:
            return self._resolve(search.at_or_after(*start))
        # inside a repeated stretch of wall time (clocks went back)
        stretch_end = end_of_stretch(wall, tz)
        shift = local.replace(fold=0).utcoffset() - local.replace(fold=1).utcoffset()  # type: ignore[operator]
        end = _wall(stretch_end)
        found = search.at_or_after(*start)
        if local.fold == 0:  # first pass
            if found is not None and found < end:
                return datetime(*found, tzinfo=tz), None
            if self._spec.repeat_hours:
                again = search.at_or_after(*_wall(stretch_end - shift))
                if again is not None and again < end:
                    return datetime(*again, tzinfo=tz, fold=1), None
            return self._resolve(found)
        # second pass
        if found is not None and found < end:
            if self._spec.repeat_hours:
                return datetime(*found, tzinfo=tz, fold=1), None
            found = search.at_or_after(*end)
        return self._resolve(found)

    def _remember_day(self, found: WallTime) -> None:
        """Share the day of ``found`` (a day without DST change, before the year 9999) with
        the first-fire searches of this spec in this zone (``CronSpec.recent_day``)."""
        spec = self._spec
        tz = self._tz
        y, mo, d = found[0], found[1], found[2]
        midnight = datetime(y, mo, d, 0, 0, 0, 0, tz)
        # (compared as _first_from compares: in UTC, or in a fixed zone itself)
        start = midnight if self._fixed else midnight.astimezone(_UTC)
        last = start + spec.search.clock_offsets[-1]
        spec.recent_day = (tz, start, last, midnight, y, mo, d)

    # --- state ------------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        spec = self._spec
        return {
            "version": 1,
            "crontab": spec.crontab,
            "fields": None
            if spec.crontab is not None
            else {name: spec.fields[name] for name in spec.given},
            "timezone": timezone_to_state(self._tz),
            "start_time": datetime_to_state(self._start_time),
            "end_time": datetime_to_state(self._end_time),
            "last_fire_time": datetime_to_state(self._last),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        reader = StateReader(self, state, 1)
        timezone = reader.zone("timezone")
        start = reader.instant("start_time")
        end = reader.instant("end_time", optional=True)
        last = reader.instant("last_fire_time", optional=True)
        crontab = reader.text("crontab", optional=True)
        try:
            if crontab is not None:
                spec = spec_from_crontab(crontab)
            else:
                spec = spec_from_keywords(_stored_fields(reader))
        except ValueError as exc:
            raise reader.error(
                ("crontab" if crontab is not None else "fields",), str(exc)
            ) from None
        try:
            self._setup(
                spec=spec,
                start_time=start,
                end_time=end,
                timezone=timezone,
                last_fire_time=None
                if last is None
                else _in_zone(last, timezone, "last_fire_time"),
            )
        except ValueError as exc:
            field = str(exc).split(":", 1)[0]
            raise reader.error((field,), str(exc).split(": ", 1)[-1]) from None
        if self._last is not None:
            self._cursor = self._cursor_at(self._last)

    def _cursor_at(self, last: datetime) -> WallTime | None:
        """The cursor a running trigger holds after firing at ``last``: its wall time, if that
        is an ordinary wall time (not moved by a DST change) that the expression matches. A
        restored trigger then takes next()'s fast path, as it would have had it kept running;
        None: next() searches from the instant after ``last``."""
        if last.fold or last.microsecond:
            return None
        wall = _wall(last)
        if self._spec.search.at_or_after(*wall) != wall or kind_of(last) != NORMAL:
            return None
        return wall

    # --- text -------------------------------------------------------------------------------

    @property
    def fields(self) -> dict[str, str]:
        """Every field's expression, defaults filled in (``{"year": "*", ..., "second": "0"}``)."""
        return dict(self._spec.fields)

    def __repr__(self) -> str:
        zone = timezone_to_state(self._tz)
        # start_time always: it defaults to the moment of construction
        extra = [f"start_time={self._start_time.isoformat()!r}"]
        if self._end_time is not None:
            extra.append(f"end_time={self._end_time.isoformat()!r}")
        extra.append(f"timezone={zone!r}")
        spec = self._spec
        if spec.crontab is not None:
            return f"CronTrigger.from_crontab({spec.crontab!r}, {', '.join(extra)})"
        parts = [f"{name}={spec.fields[name]!r}" for name in spec.given]
        return f"CronTrigger({', '.join(parts + extra)})"

    def __str__(self) -> str:
        from ._describe import describe

        spec = self._spec
        crontab = spec.crontab is not None
        return describe(dict(spec.fields), crontab=crontab, timezone=self._tz)


def _stored_fields(reader: StateReader) -> dict[str, str]:
    """The stored keyword fields: a dict of known field names to expression strings."""
    fields = reader.mapping("fields")
    for name, value in fields.items():
        if name not in FIELD_NAMES:
            raise reader.error(("fields", name), f"is not a cron field ({', '.join(FIELD_NAMES)})")
        if not isinstance(value, str) or not value.strip():
            raise reader.error(("fields", name), f"must be a cron expression, got {value!r:.80}")
    return fields


def _in_zone(value: datetime, tz: tzinfo, argument: str) -> datetime:
    """``value`` shown in ``tz``; ValueError naming ``argument`` where that wall time would be
    outside the years 1-9999."""
    try:
        return value.astimezone(tz)
    except OverflowError:
        raise ValueError(
            f"{argument}: {value.isoformat()} is out of range in the time zone {tz}"
        ) from None


def _wall(value: datetime) -> WallTime:
    return value.year, value.month, value.day, value.hour, value.minute, value.second
