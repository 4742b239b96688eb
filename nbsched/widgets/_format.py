"""Short, readable text for times and durations in widgets (internal)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta, tzinfo

__all__ = [
    "format_duration",
    "format_moment",
    "format_remaining",
    "next_fire_html",
    "trigger_zone",
]


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


def format_moment(
    value: datetime | None,
    *,
    now: datetime,
    tz: tzinfo,
    zone: bool = False,
    also: tzinfo | None = None,
) -> str:
    """``18:00:00`` when ``value`` is today in ``tz``, else ``2026-12-01 18:00:00``.

    :param zone: add the zone's abbreviation at that moment (``18:00:00 CET``)
    :param also: another zone (a cron's ``--tz``): when it is not ``tz``, the same moment
        there follows in brackets (``15:00:00 CET (09:00:00 America/New_York)``)
    """
    if value is None:
        return "—"
    text = _clock_text(value, now=now, tz=tz, zone=zone)
    if also is not None and str(also) != str(tz):
        text += f" ({_clock_text(value, now=now, tz=also, zone=False)} {also})"
    return text


def next_fire_html(
    value: datetime | None, *, now: datetime, tz: tzinfo, also: tzinfo | None = None
) -> str:
    """The dashboard's "next fire": the time and zone (``15:00:00 CET``), and on a small second
    line the date when it is not today and the same moment in ``also`` when that is another
    zone, with its abbreviation (``(09:00:00 EST)``; the tooltip names the zone)."""
    if value is None:
        return "—"
    local = value.astimezone(tz)
    first = html.escape(f"{local.strftime('%H:%M:%S')} {local.tzname()}")
    second = []
    if local.date() != now.astimezone(tz).date():
        second.append(local.strftime("%Y-%m-%d"))
    title = list(second)
    if also is not None and str(also) != str(tz):
        there = value.astimezone(also)
        # the zone's abbreviation fits the column; the tooltip names the zone
        second.append(f"({_clock_text(value, now=now, tz=also, zone=False)} {there.tzname()})")
        title.append(f"({_clock_text(value, now=now, tz=also, zone=False)} {also})")
    if not second:
        return first
    shown, whole = html.escape(" ".join(second)), html.escape(" ".join(title), quote=True)
    return f"{first} <br><small title='{whole}'>{shown}</small>"


def _clock_text(value: datetime, *, now: datetime, tz: tzinfo, zone: bool) -> str:
    local = value.astimezone(tz)
    shape = "%H:%M:%S" if local.date() == now.astimezone(tz).date() else "%Y-%m-%d %H:%M:%S"
    text = local.strftime(shape)
    return f"{text} {local.tzname()}" if zone else text


def trigger_zone(trigger: object) -> tzinfo | None:
    """The zone a wall-clock trigger (cron, calendar interval) counts in, else ``None``.

    A wrapping trigger (a scheduled cell's) exposes the trigger it wraps as ``trigger``.
    """
    from ..triggers.calendarinterval import CalendarIntervalTrigger
    from ..triggers.cron import CronTrigger

    inner = getattr(trigger, "trigger", trigger)
    if isinstance(inner, (CronTrigger, CalendarIntervalTrigger)):
        return inner.timezone
    return None


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
