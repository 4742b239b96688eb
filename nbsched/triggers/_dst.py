"""Wall clock to aware datetime, with one documented rule for DST changes (internal helpers
shared by the built-in triggers and the CLI).

nbsched's rule for a wall-clock time in a zone with DST:

* a time that does not exist (spring forward, e.g. 02:30 on the last Sunday of March in
  Europe/Berlin) is moved forward by the length of the gap: it is read with the UTC offset in
  force before the change, so 02:30 becomes 03:30 CEST (Australia/Lord_Howe: 02:15 becomes
  02:45, its gap is 30 minutes);
* a time that exists twice (fall back) means its first occurrence (``fold=0``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

__all__ = ["WallTime", "offset_change_on", "resolve_wall_time", "wall_time_kind"]

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

    A nonexistent time is moved forward by the gap; an ambiguous one is its first occurrence.
    The result always shows a wall time that exists (``03:30+02:00``, never ``02:30+01:00``).
    """
    local = wall.replace(tzinfo=tz, fold=0)
    before = local.utcoffset()
    if before == local.replace(fold=1).utcoffset():
        return local
    if before < local.replace(fold=1).utcoffset():  # type: ignore[operator]
        # Nonexistent: read it with the pre-change offset and show the resulting instant.
        return (wall - before).replace(tzinfo=_UTC).astimezone(tz)  # type: ignore[operator]
    return local


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
