"""Everything nbsched knows about DST changes, in one place (internal helpers shared by the
built-in triggers and the CLI): which kind a wall time is, where a gap or a repeated stretch of
wall time ends, turning a wall time into an instant by one documented rule, and which days have
no change at all (a look-ahead the cron trigger's shortcuts rely on).

Works for any PEP 495 ``tzinfo`` (``zoneinfo.ZoneInfo``, ``datetime.timezone``): a wall time is
*nonexistent* (in a gap) when ``fold=0`` gives a smaller UTC offset than ``fold=1`` (the clocks
jumped over it) and *ambiguous* (repeated) when it gives a larger one (the clocks went back over
it).

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
    "GAP",
    "LOOK_AHEAD_DAYS",
    "NORMAL",
    "REPEATED",
    "end_of_stretch",
    "existing_instant",
    "is_plain_day",
    "kind_of",
    "offset_change_on",
    "plain_days_until",
    "resolve_wall_time",
]

_UTC = timezone.utc
_DAY = timedelta(days=1)

#: the kinds of wall time: exists once, does not exist (a gap), exists twice (repeated)
NORMAL, GAP, REPEATED = 0, 1, 2

#: the longest stretch of days without DST change that :func:`plain_days_until` reports
LOOK_AHEAD_DAYS = 400
#: zone -> (first day, day after the last) of the latest stretch of days found to have no DST
#: change, shared by every trigger in that zone (values are immutable; a race between threads
#: only repeats a look-ahead). Keyed by the zone object, not its name, in case two zones share a
#: key but not their rules (``ZoneInfo.from_file``).
_plain_stretches: dict[tzinfo, tuple[tuple[int, ...], tuple[int, ...]]] = {}
_STRETCHES_LIMIT = 64  # zones remembered


def kind_of(local: datetime) -> int:
    """``NORMAL``, ``GAP`` (nonexistent) or ``REPEATED`` (ambiguous) for an aware ``fold=0``
    datetime."""
    before = local.utcoffset()
    after = local.replace(fold=1).utcoffset()
    if before == after:
        return NORMAL
    # zoneinfo gives fold=0 the offset in force before the change: in a gap that is the smaller
    # (standard) offset, in a fold the larger one.
    return GAP if before < after else REPEATED  # type: ignore[operator]


def end_of_stretch(wall: datetime, tz: tzinfo) -> datetime:
    """The first wall time (naive) after ``wall`` (naive, in a gap or a repeated stretch of
    ``tz``) that is no longer in it: the wall time the clocks show right after a gap, or the end
    of a repeated stretch. Either way it is the moment of the change read with the larger of the
    two offsets."""
    local = wall.replace(tzinfo=tz, fold=0)
    first = local.utcoffset()
    second = local.replace(fold=1).utcoffset()
    assert first is not None and second is not None and first != second
    larger, smaller = max(first, second), min(first, second)
    return _change_instant(wall - larger, wall - smaller, tz) + larger


def resolve_wall_time(wall: datetime, tz: tzinfo) -> datetime:
    """Return the aware datetime for the wall time ``wall`` (naive) in ``tz`` by nbsched's rule.

    A nonexistent time gives the first instant after the gap (the moment the clocks jump); an
    ambiguous one is its first occurrence. The result always shows a wall time that exists.
    """
    local = wall.replace(tzinfo=tz, fold=0)
    before = local.utcoffset()
    after = local.replace(fold=1).utcoffset()
    if before is None or after is None or before >= after:
        return local  # normal, or ambiguous: fold=0 is the first occurrence
    return end_of_stretch(wall, tz).replace(tzinfo=tz)


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


def _change_instant(low: datetime, high: datetime, tz: tzinfo) -> datetime:
    """The first whole second (naive UTC) in ``(low, high]`` (naive UTC) with the offset of
    ``high``: the moment the clocks change. ``low`` has the old offset. Found by bisection
    (this runs twice a year)."""
    target = high.replace(tzinfo=_UTC).astimezone(tz).utcoffset()
    low_s = int(low.replace(tzinfo=_UTC).timestamp())
    high_s = -int(-high.replace(tzinfo=_UTC).timestamp() // 1)
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == target:
            high_s = middle
        else:
            low_s = middle
    return datetime.fromtimestamp(high_s, _UTC).replace(tzinfo=None)


def offset_change_on(day: date, tz: tzinfo) -> timedelta | None:
    """Return how far the clocks move on the local calendar day ``day`` in ``tz`` (positive:
    forward), or ``None`` if the UTC offset is the same all day."""
    start = resolve_wall_time(datetime.combine(day, time()), tz).astimezone(_UTC)
    end = resolve_wall_time(datetime.combine(day + _DAY, time()), tz).astimezone(_UTC)
    first = start.astimezone(tz).utcoffset()
    last = (end - timedelta(microseconds=1)).astimezone(tz).utcoffset()
    if first == last or first is None or last is None:
        return None
    return last - first


def is_plain_day(year: int, month: int, day: int, tz: tzinfo) -> bool:
    """Whether the clocks do not change on this local day in ``tz`` (checked at both its ends;
    no zone changes its offset twice within one day)."""
    if year == 9999 and month == 12 and day == 31:
        return False  # no next midnight to compare with: check each time on its own
    midnight = datetime(year, month, day, 0, 0, 0, 0, tz)
    offset = midnight.utcoffset()
    return (
        datetime(year, month, day, 0, 0, 0, 0, tz, fold=1).utcoffset() == offset
        and (midnight + _DAY).utcoffset() == offset
    )


def plain_days_until(day: tuple[int, ...], tz: tzinfo) -> tuple[int, ...] | None:
    """``None`` if the local day ``day`` (year, month, day) may have a DST change in ``tz``;
    otherwise the first day after it that may have one (at most :data:`LOOK_AHEAD_DAYS` days
    later, or ``day`` itself on the last day but one a datetime holds): the days from ``day`` up
    to it have none. The stretch found is shared by the callers asking about the zone."""
    known = _plain_stretches.get(tz)
    if known is not None and known[0] <= day < known[1]:
        return known[1]
    if not is_plain_day(day[0], day[1], day[2], tz):
        return None
    # wall-clock steps from midnight to midnight (fold=0, as a constructed datetime has)
    probe = datetime(day[0], day[1], day[2], 0, 0, 0, 0, tz)
    offset = probe.utcoffset()
    for _ in range(LOOK_AHEAD_DAYS):
        if probe.year == 9999 and probe.month == 12 and probe.day == 31:
            break  # the last day a datetime holds: treat it as a possible change
        probe += _DAY
        if probe.utcoffset() != offset:
            break
    # the midnights before ``probe`` share one offset: the days before the one ending at
    # ``probe`` are plain (a change exactly at a midnight shows in the next midnight)
    last = probe - _DAY
    until = (last.year, last.month, last.day)
    if day < until:
        if len(_plain_stretches) >= _STRETCHES_LIMIT:
            _plain_stretches.clear()
        _plain_stretches[tz] = (day, until)
    return until
