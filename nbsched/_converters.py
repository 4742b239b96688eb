"""Small converters and validators that let the public API accept friendly values."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def as_timezone(value: str | tzinfo | None, *, argument: str = "timezone") -> tzinfo:
    """Turn an IANA zone name or a ``tzinfo`` into a ``tzinfo``; ``None`` means the local zone."""
    if value is None:
        from ._localzone import get_local_timezone

        return get_local_timezone()
    if isinstance(value, str):
        if value.upper() == "UTC":
            return ZoneInfo("UTC")
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{argument}: unknown time zone {value!r} (expected an IANA name such as "
                f"'Europe/Berlin' or 'UTC')"
            ) from None
    if isinstance(value, tzinfo):
        return value
    raise TypeError(
        f"{argument}: expected an IANA time zone name or a tzinfo, got {type(value).__name__} "
        f"{value!r}"
    )


def as_aware_datetime(
    value: datetime | str | None, *, argument: str, timezone: tzinfo | None = None
) -> datetime | None:
    """Accept an aware ``datetime`` or ISO 8601 string; a naive one is read in ``timezone``.

    When ``timezone`` is None a naive datetime is refused with a ``ValueError`` naming
    ``argument``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{argument}: {value!r} is not an ISO 8601 date/time (such as "
                f"'2026-12-01T18:00:00+01:00')"
            ) from None
    if not isinstance(value, datetime):
        raise TypeError(
            f"{argument}: expected a datetime or ISO 8601 string, got {type(value).__name__} "
            f"{value!r}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        if timezone is None:
            raise ValueError(
                f"{argument}: {value!r} is a naive datetime; give it a tzinfo (for example "
                f"datetime(..., tzinfo=ZoneInfo('Europe/Berlin')))"
            )
        value = value.replace(tzinfo=timezone)
    return value


def as_timedelta(value: timedelta | float | int | None, *, argument: str) -> timedelta | None:
    """Accept a ``timedelta`` or a number of seconds (``None`` passes through)."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{argument}: expected a timedelta or a number of seconds, got "
            f"{type(value).__name__} {value!r}"
        )
    return timedelta(seconds=value)


def as_enum(enum_class: type[Enum], value: Any, *, argument: str) -> Any:
    """Accept an enum member or the name of one."""
    if isinstance(value, enum_class):
        return value
    if isinstance(value, str):
        try:
            return enum_class[value]
        except KeyError:
            pass
    names = ", ".join(repr(m.name) for m in enum_class)
    raise ValueError(f"{argument}: {value!r} is not one of {names}")
