"""Short, readable text for times and durations in widgets (internal)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

__all__ = ["format_duration", "format_moment", "format_remaining"]


def format_duration(value: timedelta | None) -> str:
    """``0.012 s``, ``4.2 s``, ``3 min 5 s``, ``2 h 5 min``, ``1 d 3 h``; ``""`` for None."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        return f"{sign}{seconds:.3f} s"
    if seconds < 60:
        return f"{sign}{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{sign}{whole // 60} min {whole % 60} s"
    if whole < 86400:
        return f"{sign}{whole // 3600} h {whole % 3600 // 60} min"
    return f"{sign}{whole // 86400} d {whole % 86400 // 3600} h"


def format_moment(value: datetime | None, *, now: datetime, tz: tzinfo) -> str:
    """``18:00:00`` when ``value`` is today in ``tz``, else ``2026-12-01 18:00:00``."""
    if value is None:
        return "—"
    local = value.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S")


def format_remaining(value: datetime | None, *, now: datetime) -> str:
    """``in 29 s``, ``in 4 min 3 s``, or ``due`` once the time has come."""
    if value is None:
        return "—"
    left = value - now
    if left <= timedelta(0):
        return "due"
    if left < timedelta(seconds=60):
        return f"in {int(left.total_seconds() + 0.999)} s"
    return f"in {format_duration(timedelta(seconds=int(left.total_seconds())))}"
