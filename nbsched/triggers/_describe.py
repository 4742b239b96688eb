"""Small text helpers for the readable ``str()`` of the built-in triggers (internal)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["count", "format_clock", "format_local", "zone_label"]


def zone_label(tz: tzinfo | None) -> str:
    """``Europe/Berlin``, ``UTC`` or ``UTC+05:30``."""
    if isinstance(tz, ZoneInfo) and tz.key:
        return tz.key
    if tz is timezone.utc:
        return "UTC"
    offset = tz.utcoffset(None) if tz is not None else None
    if offset is None:
        return str(tz)
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds()) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_clock(value: time | datetime) -> str:
    """``09:00``, ``09:00:30`` or ``09:00:30.250000``."""
    text = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def format_local(value: datetime) -> str:
    """``2026-12-01 18:00 (Europe/Berlin)`` for an aware datetime."""
    return f"{date.isoformat(value.date())} {format_clock(value)} ({zone_label(value.tzinfo)})"


def count(number: float, unit: str) -> str:
    """``"1 hour"``, ``"2 hours"``, ``"0.5 seconds"``."""
    if number == 1:
        return f"1 {unit}"
    shown = int(number) if float(number).is_integer() else number
    return f"{shown} {unit}s"
