"""Wall-clock times around DST changes: which kind a wall time is, and where a gap or a
repeated stretch of wall time ends (internal).

Works for any PEP 495 ``tzinfo`` (``zoneinfo.ZoneInfo``, ``datetime.timezone``): a wall time is
*nonexistent* when ``fold=0`` gives a smaller UTC offset than ``fold=1`` (clocks jumped over it)
and *ambiguous* when it gives a larger one (clocks went back over it).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

__all__ = ["NORMAL", "GAP", "REPEATED", "kind_of", "end_of_stretch"]

NORMAL, GAP, REPEATED = 0, 1, 2


def kind_of(local: datetime) -> int:
    """``NORMAL``, ``GAP`` (nonexistent) or ``REPEATED`` (ambiguous) for an aware ``fold=0``
    datetime."""
    before = local.utcoffset()
    after = local.replace(fold=1).utcoffset()
    if before == after:
        return NORMAL
    return GAP if before < after else REPEATED  # type: ignore[operator]


def end_of_stretch(wall: datetime, tz: tzinfo, kind: int) -> datetime:
    """The first wall time after ``wall`` (naive, of ``kind`` GAP or REPEATED) that is no
    longer of that kind: the wall time the clocks show right after a gap, or the end of a
    repeated stretch. Found by bisection over whole seconds (this runs twice a year)."""
    local = wall.replace(tzinfo=tz)
    shift = abs(local.utcoffset() - local.replace(fold=1).utcoffset())  # type: ignore[operator]
    low, high = 0, int(shift.total_seconds())  # kind at wall+low, not at wall+high
    while high - low > 1:
        middle = (low + high) // 2
        if kind_of((wall + timedelta(seconds=middle)).replace(tzinfo=tz)) == kind:
            low = middle
        else:
            high = middle
    return wall + timedelta(seconds=high)
