"""A trigger that fires at a fixed interval of real (elapsed) time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, cast

from .._converters import as_aware_datetime
from ..abc import Trigger
from ._describe import count, format_local
from ._state import datetime_from_state, datetime_to_state, require_version, storable_timezone

__all__ = ["IntervalTrigger"]

_UTC = timezone.utc
_FAR_FUTURE = datetime.max.replace(tzinfo=_UTC)
_UNITS = ("weeks", "days", "hours", "minutes", "seconds", "microseconds")


def _local_now() -> datetime:
    from .._localzone import get_local_timezone

    return datetime.now(get_local_timezone())


class IntervalTrigger(Trigger):
    """Fires every ``weeks + days + ... + microseconds``, starting at ``start_time``.

    The interval is real elapsed time: it is added in UTC, so across a DST change the wall
    clock shifts (an every-24-hours trigger at 09:00 fires at 10:00 after the clocks go
    forward) but exactly that much time passes between two fires. Fire times are returned
    in the zone of ``start_time``.

    :param weeks: number of weeks between fires (``days``, ``hours``, ``minutes``,
        ``seconds`` and ``microseconds`` likewise; they add up, each must be >= 0 and the
        sum > 0; floats are allowed)
    :param start_time: the first fire time, an aware ``datetime`` or ISO 8601 string with an
        offset (default: now, in the machine's local zone). A naive datetime is refused: this
        trigger has no ``timezone`` argument to read it in.
    :param end_time: no fire time after this (inclusive)
    :raises ValueError: zero or negative interval, naive or badly formatted times, or
        ``end_time`` before ``start_time``
    :raises TypeError: a component that is not a number

    Example::

        IntervalTrigger(minutes=30, start_time=datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("UTC")))
    """

    __slots__ = (
        "_components",
        "_interval",
        "_start_time",
        "_end_time",
        "_tz",
        "_end_utc",
        "_next_utc",
    )

    def __init__(
        self,
        weeks: float = 0,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        microseconds: float = 0,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
    ):
        components = (weeks, days, hours, minutes, seconds, microseconds)
        for unit, value in zip(_UNITS, components, strict=True):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{unit}: expected a number, got {type(value).__name__} {value!r}")
            if value < 0:
                raise ValueError(f"{unit}: must not be negative, got {value!r}")
        interval = timedelta(
            weeks=weeks,
            days=days,
            hours=hours,
            minutes=minutes,
            seconds=seconds,
            microseconds=microseconds,
        )
        if interval <= timedelta(0):
            given = ", ".join(f"{u}={v!r}" for u, v in zip(_UNITS, components, strict=True))
            raise ValueError(f"IntervalTrigger: the interval must be positive, got {given}")
        start = as_aware_datetime(start_time, argument="start_time")
        if start is None:
            start = _local_now()
        end = as_aware_datetime(end_time, argument="end_time")
        if end is not None and end < start:
            raise ValueError(
                f"end_time: {end.isoformat()} is before start_time {start.isoformat()}"
            )
        tz = storable_timezone(start.tzinfo, argument="start_time")  # type: ignore[arg-type]
        self._components = components
        self._interval = interval
        self._tz = tz
        self._start_time = start.astimezone(_UTC).astimezone(tz)
        self._end_time = None
        if end is not None:
            end_tz = storable_timezone(end.tzinfo, argument="end_time")  # type: ignore[arg-type]
            self._end_time = end.astimezone(_UTC).astimezone(end_tz)
        self._setup(self._start_time.astimezone(_UTC))

    def _setup(self, next_utc: datetime | None) -> None:
        self._end_utc = _FAR_FUTURE if self._end_time is None else self._end_time.astimezone(_UTC)
        self._next_utc = next_utc

    @property
    def interval(self) -> timedelta:
        """The time between two fires."""
        return self._interval

    @property
    def start_time(self) -> datetime:
        """The first fire time."""
        return self._start_time

    @property
    def end_time(self) -> datetime | None:
        """The latest possible fire time, or ``None``."""
        return self._end_time

    def next(self) -> datetime | None:
        fire_time = self._next_utc
        if fire_time is None or fire_time > self._end_utc:
            self._next_utc = None
            return None
        try:
            self._next_utc = fire_time + self._interval
        except OverflowError:
            self._next_utc = None
        return fire_time.astimezone(self._tz)

    def _fast_forward(self, not_before: datetime) -> None:
        """Skip, without producing them, the fire times earlier than ``not_before`` (aware).

        Used by :class:`~nbsched.triggers.AndTrigger` to catch up in one step.
        """
        pending = self._next_utc
        if pending is None or pending >= not_before:
            return
        steps = -((pending - not_before) // self._interval)
        try:
            self._next_utc = pending + steps * self._interval
        except OverflowError:
            self._next_utc = None

    def __getstate__(self) -> dict[str, Any]:
        pending = self._next_utc
        return {
            "version": 1,
            "interval": dict(zip(_UNITS, self._components, strict=True)),
            "start_time": datetime_to_state(self._start_time),
            "end_time": datetime_to_state(self._end_time),
            "next_fire_time": None
            if pending is None
            else datetime_to_state(pending.astimezone(self._tz)),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        require_version(self, state, 1)
        components = tuple(state["interval"][unit] for unit in _UNITS)
        self._components = components
        self._interval = timedelta(**dict(zip(_UNITS, components, strict=True)))
        self._start_time = datetime_from_state(state["start_time"])
        self._tz = cast(tzinfo, self._start_time.tzinfo)
        self._end_time = datetime_from_state(state["end_time"])
        pending = datetime_from_state(state["next_fire_time"])
        self._setup(None if pending is None else pending.astimezone(_UTC))

    def _interval_text(self) -> str:
        parts = [
            count(value, unit[:-1])
            for unit, value in zip(_UNITS, self._components, strict=True)
            if value
        ]
        if len(parts) == 1 and parts[0].startswith("1 "):
            return parts[0][2:]  # "every hour", not "every 1 hour"
        if len(parts) > 1:
            return ", ".join(parts[:-1]) + " and " + parts[-1]
        return parts[0]

    def __str__(self) -> str:
        text = f"every {self._interval_text()} from {format_local(self._start_time)}"
        if self._end_time is not None:
            text += f" until {format_local(self._end_time)}"
        return text

    def __repr__(self) -> str:
        fields = [
            f"{unit}={value!r}"
            for unit, value in zip(_UNITS, self._components, strict=True)
            if value
        ]
        fields.append(f"start_time={self._start_time!r}")
        if self._end_time is not None:
            fields.append(f"end_time={self._end_time!r}")
        return f"{type(self).__name__}({', '.join(fields)})"
