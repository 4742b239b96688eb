"""A trigger that fires at a fixed interval of real (elapsed) time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, cast

from .._converters import as_aware_datetime
from ..abc import Trigger
from ._checks import before, checked_instant, checked_timedelta, finite
from ._describe import count, format_local
from ._registry import SpecRegistry
from ._state import (
    ComparedByState,
    StateReader,
    datetime_to_state,
    storable_timezone,
)

__all__ = ["IntervalTrigger"]

_UTC = timezone.utc
_FAR_FUTURE = datetime.max.replace(tzinfo=_UTC)
_UNITS = ("weeks", "days", "hours", "minutes", "seconds", "microseconds")

_registry: SpecRegistry[object, _IntervalSpec] = SpecRegistry(limit=1024)


def _local_now() -> datetime:
    from .._localzone import get_local_timezone

    return datetime.now(get_local_timezone())


class _IntervalSpec:
    """What never changes in an interval trigger: its interval, start and end.

    Triggers built with the same arguments share one spec (see :func:`_shared_spec`), so each
    trigger only holds the spec and the index of its next fire time: the ``n``-th fire time is
    ``anchor + n * interval``. Specs are immutable apart from :attr:`recent`, which only caches
    a fire time any thread would compute alike, so sharing them across threads is safe.
    """

    __slots__ = (
        "components",
        "interval",
        "start_time",
        "end_time",
        "tz",
        "anchor",
        "end_utc",
        "recent",
    )

    #: the six components as given (weeks ... microseconds), for the state and the text
    components: tuple[float, ...]
    interval: timedelta
    #: the first fire time, in the zone of the trigger
    start_time: datetime
    end_time: datetime | None
    tz: tzinfo
    #: index 0 in UTC: the start time, unless a restored state's position lies off its grid
    anchor: datetime
    end_utc: datetime
    #: the last fire time handed out (index, fire time in ``tz``, in UTC): triggers that share
    #: the spec and fire in step return the same datetime object instead of one copy each, and
    #: the next index is one addition away (multiplying a timedelta costs several times more)
    recent: tuple[int, datetime, datetime]

    def __init__(
        self,
        components: tuple[float, ...],
        interval: timedelta,
        start_utc: datetime,
        tz: tzinfo,
        end_utc: datetime | None,
        end_tz: tzinfo | None,
        anchor: datetime | None = None,
    ) -> None:
        self.components = components
        self.interval = interval
        self.tz = tz
        self.start_time = start_utc.astimezone(tz)
        self.end_time = None if end_utc is None else end_utc.astimezone(end_tz)
        self.end_utc = _FAR_FUTURE if end_utc is None else end_utc
        self.anchor = start_utc if anchor is None else anchor
        # index 0 is handed out from here, unless it is past the end (a hand-written state)
        first = -1 if self.anchor > self.end_utc else 0
        self.recent = (first, self.anchor.astimezone(tz), self.anchor)

    def fire_time_utc(self, index: int) -> datetime | None:
        """The ``index``-th fire time in UTC, or None past the end of representable time."""
        try:
            return self.anchor + self.interval * index
        except OverflowError:
            return None


def _interval(components: tuple[float, ...]) -> timedelta:
    """The interval of (checked, finite, non-negative) components; ValueError naming them when
    it is zero or too long."""
    interval = checked_timedelta(**dict(zip(_UNITS, components, strict=True)))
    if interval <= timedelta(0):
        given = ", ".join(f"{u}={v!r}" for u, v in zip(_UNITS, components, strict=True))
        raise ValueError(f"IntervalTrigger: the interval must be positive, got {given}")
    return interval


def _shared_spec(
    components: tuple[float, ...],
    interval: timedelta,
    start: datetime,
    tz: tzinfo,
    end: datetime | None,
    end_tz: tzinfo | None,
) -> _IntervalSpec:
    """The spec for these (validated) arguments, shared with every trigger built alike."""
    start_utc = start.astimezone(_UTC)
    end_utc = None if end is None else end.astimezone(_UTC)
    # the types tell 5 from 5.0 (equal, but stored differently); the UTC instants and zones
    # tell apart the two passes of a repeated hour, which compare equal in one zone
    key = (components, tuple(map(type, components)), start_utc, tz, end_utc, end_tz)
    spec = _registry.get(key)
    if spec is not None:
        return spec
    return _registry.add(key, _IntervalSpec(components, interval, start_utc, tz, end_utc, end_tz))


class IntervalTrigger(ComparedByState, Trigger):
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
        trigger has no ``timezone`` argument to read it in. A wall time that does not exist
        (02:30 on a spring-forward day in Europe/Berlin) is the moment the clocks jump
        (03:00 CEST).
    :param end_time: no fire time after this (inclusive; read like ``start_time``)
    :raises ValueError: zero or negative interval, naive or badly formatted times, or
        ``end_time`` before ``start_time``
    :raises TypeError: a component that is not a number

    Example::

        IntervalTrigger(minutes=30, start_time=datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("UTC")))
    """

    # The interval, start and end live in a spec shared by every trigger built alike (see
    # _IntervalSpec); an instance holds that spec and the index of its next fire time
    # (None once exhausted), so 100,000 alike triggers cost two pointers each.
    __slots__ = ("_spec", "_index")
    # every slot holds an immutable value (the spec is shared by design): clone_trigger
    # copies the slots instead of making a state round trip
    _immutable_slots = True

    _spec: _IntervalSpec
    _index: int | None

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
            if not finite(value):
                raise ValueError(f"{unit}: must be a finite number, got {value!r}")
            if value < 0:
                raise ValueError(f"{unit}: must not be negative, got {value!r}")
        interval = _interval(components)
        start = as_aware_datetime(start_time, argument="start_time")
        if start is None:
            start = _local_now()
        start = checked_instant(start, argument="start_time")
        end = as_aware_datetime(end_time, argument="end_time")
        if end is not None:
            end = checked_instant(end, argument="end_time")
        if end is not None and before(end, start):
            raise ValueError(
                f"end_time: {end.isoformat()} is before start_time {start.isoformat()}"
            )
        tz = storable_timezone(start.tzinfo, argument="start_time")  # type: ignore[arg-type]
        end_tz = None
        if end is not None:
            end_tz = storable_timezone(end.tzinfo, argument="end_time")  # type: ignore[arg-type]
        self._spec = _shared_spec(components, interval, start, tz, end, end_tz)
        self._index = 0

    @property
    def interval(self) -> timedelta:
        """The time between two fires."""
        return self._spec.interval

    @property
    def start_time(self) -> datetime:
        """The first fire time."""
        return self._spec.start_time

    @property
    def end_time(self) -> datetime | None:
        """The latest possible fire time, or ``None``."""
        return self._spec.end_time

    def next(self) -> datetime | None:
        index = self._index
        if index is None:
            return None
        spec = self._spec
        recent = spec.recent
        self._index = index + 1
        last = recent[0]
        if last == index:
            return recent[1]
        try:  # spec.fire_time_utc(index), inlined and stepped from the last: the hot path
            if last == index - 1:
                fire_utc = recent[2] + spec.interval
            else:
                fire_utc = spec.anchor + spec.interval * index
            if fire_utc > spec.end_utc:
                self._index = None
                return None
            fire_time = fire_utc.astimezone(spec.tz)
        except OverflowError:  # past the end of time, in UTC or in the trigger's zone
            self._index = None
            return None
        spec.recent = (index, fire_time, fire_utc)
        return fire_time

    def _fast_forward(self, not_before: datetime) -> None:
        """Skip, without producing them, the fire times earlier than ``not_before`` (aware).

        Used by :class:`~nbsched.triggers.AndTrigger` to catch up in one step.
        """
        index = self._index
        if index is None:
            return
        spec = self._spec
        pending = spec.fire_time_utc(index)
        if pending is None or pending >= not_before:
            return
        self._index = index - (pending - not_before) // spec.interval

    def __getstate__(self) -> dict[str, Any]:
        spec = self._spec
        index = self._index
        pending = None if index is None else spec.fire_time_utc(index)
        if pending is not None and pending > spec.end_utc:
            pending = None
        if pending is not None:
            try:
                pending = pending.astimezone(spec.tz)
            except OverflowError:  # next() would find it past the end of time
                pending = None
        return {
            "version": 1,
            "interval": dict(zip(_UNITS, spec.components, strict=True)),
            "start_time": datetime_to_state(spec.start_time),
            "end_time": datetime_to_state(spec.end_time),
            "next_fire_time": datetime_to_state(pending),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        reader = StateReader(self, state, 1)
        reader.mapping("interval")
        components = tuple(reader.number("interval", unit) for unit in _UNITS)
        try:
            interval = _interval(components)
        except ValueError as exc:
            raise reader.error(("interval",), str(exc)) from None
        start = reader.instant("start_time")
        end = reader.instant("end_time", optional=True)
        if end is not None and before(end, start):
            raise reader.error(("end_time",), f"{end.isoformat()} is before start_time")
        pending = reader.instant("next_fire_time", optional=True)
        if pending is not None and before(pending, start):
            raise reader.error(("next_fire_time",), f"{pending.isoformat()} is before start_time")
        tz = cast(tzinfo, start.tzinfo)
        end_tz = None if end is None else end.tzinfo
        spec = _shared_spec(components, interval, start, tz, end, end_tz)
        index: int | None = None
        if pending is not None:
            pending_utc = pending.astimezone(_UTC)
            index, off_grid = divmod(pending_utc - spec.anchor, interval)
            if off_grid or index < 0:
                # not start + n * interval (state written by hand): a spec of its own, whose
                # index 0 is that position
                spec = _IntervalSpec(
                    components,
                    interval,
                    start.astimezone(_UTC),
                    tz,
                    None if end is None else end.astimezone(_UTC),
                    end_tz,
                    anchor=pending_utc,
                )
                index = 0
        self._spec = spec
        self._index = index

    def _interval_text(self) -> str:
        parts = [
            count(value, unit[:-1])
            for unit, value in zip(_UNITS, self._spec.components, strict=True)
            if value
        ]
        if len(parts) == 1 and parts[0].startswith("1 "):
            return parts[0][2:]  # "every hour", not "every 1 hour"
        if len(parts) > 1:
            return ", ".join(parts[:-1]) + " and " + parts[-1]
        return parts[0]

    def __str__(self) -> str:
        spec = self._spec
        text = f"every {self._interval_text()} from {format_local(spec.start_time)}"
        if spec.end_time is not None:
            text += f" until {format_local(spec.end_time)}"
        return text

    def __repr__(self) -> str:
        spec = self._spec
        fields = [
            f"{unit}={value!r}"
            for unit, value in zip(_UNITS, spec.components, strict=True)
            if value
        ]
        fields.append(f"start_time={spec.start_time!r}")
        if spec.end_time is not None:
            fields.append(f"end_time={spec.end_time!r}")
        return f"{type(self).__name__}({', '.join(fields)})"
