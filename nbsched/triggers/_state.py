"""Plain-data state helpers shared by the built-in triggers (internal, but stable for
``nbsched.triggers.*``).

Datetimes are stored as ISO 8601 strings with their UTC offset; when the ``tzinfo`` is an IANA
zone, its key follows in brackets as in RFC 9557 (``"2026-03-29T03:00:00+02:00[Europe/Berlin]"``),
so a restored datetime is the same instant *and* the same zone. Zones alone are stored as their
IANA key, or as a fixed offset such as ``"+05:30"``.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "ComparedByState",
    "StateReader",
    "datetime_from_state",
    "datetime_to_state",
    "require_version",
    "storable_timezone",
    "timezone_from_state",
    "timezone_to_state",
]


class ComparedByState:
    """Value equality for the built-in triggers: equal when of the same class with equal
    ``__getstate__()``, that is the same configuration (the same instants in the same zones)
    and the same position in the sequence (so they return the same fire times from now on).

    Triggers are mutable (``next()`` advances them), so they are unhashable, as APScheduler 4's
    attrs triggers are.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__getstate__() == other.__getstate__()

    __hash__ = None  # type: ignore[assignment]


def storable_timezone(tz: tzinfo, *, argument: str) -> tzinfo:
    """Return ``tz`` as a zone whose state can be stored: a ``ZoneInfo`` with a key or a fixed
    ``datetime.timezone``. pytz-style zones are converted by name; anything else is refused
    with a ``ValueError`` naming ``argument``."""
    if isinstance(tz, ZoneInfo):
        if tz.key:
            return tz
    elif isinstance(tz, timezone):
        return tz
    else:
        name = getattr(tz, "key", None) or getattr(tz, "zone", None)
        if isinstance(name, str):
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
    raise ValueError(
        f"{argument}: time zone {tz!r} cannot be stored as plain data; use an IANA name such as "
        f"'Europe/Berlin' (zoneinfo.ZoneInfo) or a fixed datetime.timezone"
    )


def _offset_to_str(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes, seconds = divmod(int(abs(offset).total_seconds()), 60)
    text = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


def timezone_to_state(tz: tzinfo) -> str:
    """Return an IANA key (``"Europe/Berlin"``) or a fixed offset (``"+05:30"``)."""
    if isinstance(tz, ZoneInfo) and tz.key:
        return tz.key
    if isinstance(tz, timezone):
        return _offset_to_str(tz.utcoffset(None))  # timezone.utc is "+00:00"
    raise ValueError(f"time zone {tz!r} cannot be stored as plain data")


def timezone_from_state(value: str) -> tzinfo:
    """Inverse of :func:`timezone_to_state`."""
    if value[:1] in "+-":
        sign = -1 if value[0] == "-" else 1
        parts = [int(p) for p in value[1:].split(":")]
        seconds = parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)
        return timezone(sign * timedelta(seconds=seconds))
    return ZoneInfo(value)


def datetime_to_state(value: datetime | None) -> str | None:
    """Return an aware datetime as ISO 8601 text (RFC 9557 zone suffix for IANA zones)."""
    if value is None:
        return None
    text = value.isoformat()
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo) and tz.key:
        return f"{text}[{tz.key}]"
    return text


@overload
def datetime_from_state(value: str) -> datetime: ...
@overload
def datetime_from_state(value: str | None) -> datetime | None: ...
def datetime_from_state(value: str | None) -> datetime | None:
    """Inverse of :func:`datetime_to_state`; the offset picks the right side of a DST fold."""
    if value is None:
        return None
    if value.endswith("]"):
        text, key = value[:-1].split("[", 1)
        return datetime.fromisoformat(text).astimezone(ZoneInfo(key))
    return datetime.fromisoformat(value)


def date_to_state(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@overload
def date_from_state(value: str) -> date: ...
@overload
def date_from_state(value: str | None) -> date | None: ...
def date_from_state(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def require_version(trigger: object, state: Any, *supported: int) -> None:
    """Refuse state that is not a dict or has a ``"version"`` this code does not know."""
    name = type(trigger).__name__
    if not isinstance(state, dict):
        raise ValueError(f"state: {name} expects a dict from __getstate__(), got {_shown(state)}")
    version = state.get("version")
    if version not in supported:
        known = ", ".join(str(v) for v in supported)
        raise ValueError(
            f"state: {name} state has version {version!r}, but this nbsched only reads "
            f"version {known}; was it written by a newer nbsched?"
        )


def _shown(value: Any) -> str:
    """A short repr for messages (stored data may be large)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


#: what parsing stored text may raise (a zone key that is a directory raises OSError, an
#: instant past the year 9999 in UTC OverflowError)
_READ_ERRORS = (ValueError, KeyError, IndexError, TypeError, OSError, OverflowError)


#: stored text -> the instant read from it: a store restores the same start times (and, for
#: schedules due together, the same fire times) on every fire; datetimes are immutable
_instants: dict[str, datetime] = {}
_INSTANTS_LIMIT = 4096


class StateReader:
    """Reads a trigger's stored state field by field, so that state that ``__getstate__()``
    could not have returned is refused with a ``ValueError`` naming the field
    (``state['interval']['hours']: must be a number >= 0, got -2 (IntervalTrigger)``) instead
    of being restored into a trigger that misbehaves later.

    :param trigger: the trigger being restored (for its class name)
    :param state: the stored state
    :param supported: the state versions this code reads
    """

    __slots__ = ("name", "state")

    def __init__(self, trigger: object, state: Any, *supported: int) -> None:
        require_version(trigger, state, *supported)
        self.name = type(trigger).__name__
        self.state: dict[str, Any] = state

    def error(self, path: tuple[str | int, ...], problem: str) -> ValueError:
        """A ``ValueError`` naming the field at ``path``."""
        where = "".join(f"[{key}]" if isinstance(key, int) else f"[{key!r}]" for key in path)
        problem = problem.removeprefix(f"{self.name}: ")  # a constructor's message, reused
        return ValueError(f"state{where}: {problem} ({self.name})")

    def get(self, *path: str | int) -> Any:
        if len(path) == 1:  # a top-level field (the state is a dict): the common case
            try:
                return self.state[path[0]]  # type: ignore[index]
            except KeyError:
                pass  # the loop below names what is missing
        value: Any = self.state
        for depth, key in enumerate(path):
            if isinstance(key, int):  # an item of a list (already checked to be one)
                value = value[key]
                continue
            if not isinstance(value, dict):
                raise self.error(path[:depth], f"must be a dict, got {_shown(value)}")
            if key not in value:
                raise self.error(path[: depth + 1], "is missing")
            value = value[key]
        return value

    def mapping(self, *path: str | int) -> dict[str, Any]:
        value = self.get(*path)
        if not isinstance(value, dict):
            raise self.error(path, f"must be a dict, got {_shown(value)}")
        return value

    def items(self, *path: str | int, min_size: int = 0) -> list[Any]:
        value = self.get(*path)
        if not isinstance(value, list) or len(value) < min_size:
            least = (
                f" of at least {min_size} item{'s' if min_size > 1 else ''}" if min_size else ""
            )
            raise self.error(path, f"must be a list{least}, got {_shown(value)}")
        return value

    def boolean(self, *path: str | int) -> bool:
        value = self.get(*path)
        if not isinstance(value, bool):
            raise self.error(path, f"must be true or false, got {_shown(value)}")
        return value

    def integer(self, *path: str | int, low: int, high: int | None = None) -> int:
        value = self.get(*path)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise self.error(path, f"must be an int {bound}, got {_shown(value)}")
        return value

    def number(self, *path: str | int, low: float = 0) -> float:
        value = self.get(*path)
        if type(value) is int and value >= low:  # the common case, checked first
            return value
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(value, float) and not math.isfinite(value))
            or value < low
        ):
            raise self.error(path, f"must be a finite number >= {low}, got {_shown(value)}")
        return value

    def text(self, *path: str | int, optional: bool = False) -> str | None:
        value = self.get(*path)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            kind = "a string or null" if optional else "a string"
            raise self.error(path, f"must be {kind}, got {_shown(value)}")
        return value

    @overload
    def instant(self, *path: str | int, optional: Literal[False] = False) -> datetime: ...
    @overload
    def instant(self, *path: str | int, optional: bool) -> datetime | None: ...
    def instant(self, *path: str | int, optional: bool = False) -> datetime | None:
        """An aware datetime stored by :func:`datetime_to_state` (within the UTC range)."""
        text = self.text(*path, optional=optional)
        if text is None:
            return None
        value = _instants.get(text)
        if value is not None:
            return value
        value = self._read_instant(path, text)
        if len(_instants) >= _INSTANTS_LIMIT:
            _instants.clear()
        _instants[text] = value
        return value

    def _read_instant(self, path: tuple[str | int, ...], text: str) -> datetime:
        try:
            value = datetime_from_state(text)
            if value.utcoffset() is not None:
                value.astimezone(timezone.utc)
        except _READ_ERRORS:
            raise self.error(
                path,
                f"must be an ISO 8601 date and time with a UTC offset, got {_shown(text)}",
            ) from None
        if value.utcoffset() is None:
            raise self.error(path, f"is a naive date and time (no UTC offset): {_shown(text)}")
        return value

    def day(self, *path: str | int, optional: bool = False) -> date | None:
        text = self.text(*path, optional=optional)
        if text is None:
            return None
        try:
            if len(text) != 10:
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            raise self.error(path, f"must be a date 'YYYY-MM-DD', got {_shown(text)}") from None

    def zone(self, *path: str | int) -> tzinfo:
        text = self.text(*path)
        try:
            if not text:
                raise ValueError
            return timezone_from_state(text)
        except _READ_ERRORS:
            raise self.error(
                path,
                f"must be an IANA time zone or a UTC offset such as '+05:30', got {_shown(text)}",
            ) from None
