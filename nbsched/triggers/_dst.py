"""Wall clock to aware datetime, with one documented rule for DST changes (internal helpers
shared by the built-in triggers and the CLI).

nbsched's rule for a wall-clock time in a zone with DST, shared by the triggers that follow the
wall clock (calendar interval, cron):

* a time that does not exist (spring forward, e.g. 02:30 on the last Sunday of March in
  Europe/Berlin) fires at the moment the clocks jump, the first instant after the gap:
  03:00 CEST (Australia/Lord_Howe, whose gap is 30 minutes: 02:15 fires at 02:30);
* a time that exists twice (fall back) means its first occurrence (``fold=0``).

The same rule reads the datetimes given to a trigger (``run_time``, ``start_time``,
``end_time``): one whose wall time does not exist in its zone (``datetime(2026, 3, 29, 2, 30,
tzinfo=ZoneInfo("Europe/Berlin"))``) means the moment the clocks jump (03:00 CEST), whatever its
``fold`` (Python would read it with the offset before the change, an hour later); an ambiguous
one is the occurrence its ``fold`` picks, as Python reads it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

__all__ = [
    "WallTime",
    "existing_instant",
    "offset_change_on",
    "resolve_wall_time",
    "wall_time_kind",
]

_UTC = timezone.utc


class WallTime:
    """The three kinds of wall-clock time: ``normal``, ``nonexistent`` and ``ambiguous``."""

    normal = "normal"
    nonexistent = "nonexistent"
    ambiguous = "ambiguous"


def wall_time_kind(wall: datetime, tz: tzinfo) -> str:
    """Say whether the naive wall time ``wall`` is normal, nonexistent or ambiguous in ``tz``."""
    local = wall.replace(tzinfo=tz, fold=0)
    before = local.utcoffset()
    after = local.replace(fold=1).utcoffset()
    if before == after:
        return WallTime.normal
    # zoneinfo gives fold=0 the offset in force before the change: in a gap that is the smaller
    # (standard) offset, in a fold the larger one.
    return WallTime.nonexistent if before < after else WallTime.ambiguous  # type: ignore[operator]


def resolve_wall_time(wall: datetime, tz: tzinfo) -> datetime:
    """Return the aware datetime for the wall time ``wall`` (naive) in ``tz`` by nbsched's rule.

    A nonexistent time gives the first instant after the gap (the moment the clocks jump); an
    ambiguous one is its first occurrence. The result always shows a wall time that exists.
    """
    local = wall.replace(tzinfo=tz, fold=0)
    before = local.utcoffset()
    after = local.replace(fold=1).utcoffset()
    if before == after or before is None or after is None:
        return local
    if before > after:
        return local  # ambiguous: fold=0 is the first occurrence
    return _jump_instant(wall - after, wall - before, tz).astimezone(tz)


def existing_instant(value: datetime) -> datetime:
    """Return the aware ``value`` unchanged, unless its wall time does not exist in its zone
    (spring forward): then the moment the clocks jump, in the same zone."""
    tz = value.tzinfo
    if tz is None or type(tz) is timezone:
        return value
    before = value.replace(fold=0).utcoffset()
    after = value.replace(fold=1).utcoffset()
    if before is None or after is None or before >= after:
        return value
    return resolve_wall_time(value.replace(tzinfo=None, fold=0), tz)


def _jump_instant(low: datetime, high: datetime, tz: tzinfo) -> datetime:
    """The first whole second (UTC) in ``(low, high]`` (naive UTC) with the offset of
    ``high``: the moment the clocks jump. ``low`` has the old offset."""
    target = high.replace(tzinfo=_UTC).astimezone(tz).utcoffset()
    low_s = int(low.replace(tzinfo=_UTC).timestamp())
    high_s = -int(-high.replace(tzinfo=_UTC).timestamp() // 1)
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == target:
            high_s = middle
        else:
            low_s = middle
    return datetime.fromtimestamp(high_s, _UTC)


def offset_change_on(day: date, tz: tzinfo) -> timedelta | None:
    """Return how far the clocks move on the local calendar day ``day`` in ``tz`` (positive:
    forward), or ``None`` if the UTC offset is the same all day."""
    start = resolve_wall_time(datetime.combine(day, time()), tz).astimezone(_UTC)
    end = resolve_wall_time(datetime.combine(day + timedelta(days=1), time()), tz).astimezone(_UTC)
    first = start.astimezone(tz).utcoffset()
    last = (end - timedelta(microseconds=1)).astimezone(tz).utcoffset()
    if first == last or first is None or last is None:
        return None
    return last - first
