"""A trigger that fires once."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .._converters import as_aware_datetime
from ..abc import Trigger
from ._checks import checked_instant
from ._describe import format_local
from ._state import (
    ComparedByState,
    StateReader,
    datetime_to_state,
    storable_timezone,
)

__all__ = ["DateTrigger"]

_UTC = timezone.utc


def _normalized(value: datetime, *, argument: str) -> datetime:
    """Return ``value`` as the same instant with a storable zone, showing a wall time that
    exists (a nonexistent one such as 02:30 on a spring-forward day is the moment the clocks
    jump, 03:00)."""
    value = checked_instant(value, argument=argument)
    try:
        tz = storable_timezone(value.tzinfo, argument=argument)  # type: ignore[arg-type]
    except ValueError:
        # A single instant loses nothing by being pinned to its UTC offset.
        tz = timezone(value.utcoffset())  # type: ignore[arg-type]
    return value.astimezone(_UTC).astimezone(tz)


class DateTrigger(ComparedByState, Trigger):
    """Fires once, at ``run_time``.

    :param run_time: an aware ``datetime`` or an ISO 8601 string with a UTC offset
        (``"2026-12-01T18:00:00+01:00"``); a naive datetime is refused, as this trigger has no
        ``timezone`` argument to read it in. A nonexistent wall time (02:30 on a
        spring-forward day in Europe/Berlin) is the moment the clocks jump (03:00 CEST), as
        the calendar and cron triggers fire; in an ambiguous one, ``fold=0`` (the default) is
        the first occurrence, ``fold=1`` the second.
    :raises ValueError: for a naive datetime or a string that is not ISO 8601
    :raises TypeError: for anything that is not a datetime or a string

    Example::

        DateTrigger(datetime(2026, 12, 1, 18, tzinfo=ZoneInfo("Europe/Berlin")))
    """

    __slots__ = ("_run_time", "_completed")
    # every slot holds an immutable value (the spec is shared by design): clone_trigger
    # copies the slots instead of making a state round trip
    _immutable_slots = True

    def __init__(self, run_time: datetime | str):
        value = as_aware_datetime(run_time, argument="run_time")
        if value is None:
            raise TypeError("run_time: expected a datetime or ISO 8601 string, got None")
        self._run_time = _normalized(value, argument="run_time")
        self._completed = False

    @property
    def run_time(self) -> datetime:
        """The moment the trigger fires."""
        return self._run_time

    def next(self) -> datetime | None:
        if self._completed:
            return None
        self._completed = True
        return self._run_time

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "run_time": datetime_to_state(self._run_time),
            "completed": self._completed,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        reader = StateReader(self, state, 1)
        run_time = reader.instant("run_time")
        completed = reader.boolean("completed")
        self._run_time = run_time
        self._completed = completed

    def __str__(self) -> str:
        return f"once at {format_local(self._run_time)}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(run_time={self._run_time!r})"
