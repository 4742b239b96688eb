"""Parse the points in time of ``%%at`` and ``--until``: ``18:00`` or ``2026-12-01 18:00``."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone, tzinfo

__all__ = ["parse_when"]

_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_EXAMPLES = "examples: 18:00, 18:00:30, '2026-12-01 18:00', 2026-12-01T18:00+01:00"


def parse_when(text: str, *, now: datetime, tz: tzinfo, argument: str = "when") -> datetime:
    """Return the aware ``datetime`` that ``text`` names.

    A time of day (``18:00``) is its next occurrence after ``now``: today, or tomorrow when
    today's has passed. A date and time without an offset is read in ``tz``. Quotes around
    ``text`` are ignored. Raises ``ValueError`` naming ``argument`` and the text for anything
    else, and for a moment outside the years 1 to 9999 once turned into UTC (it could not be
    compared with other times).
    """
    cleaned = text.strip().strip("\"'").strip()
    try:
        value = _parse(cleaned, now=now, tz=tz, argument=argument)
        value.astimezone(timezone.utc)  # an instant datetime can represent, or OverflowError
    except OverflowError:
        raise ValueError(
            f"{argument}: {cleaned!r} is out of range (in UTC it falls outside the years "
            f"1 to 9999)"
        ) from None
    return value


def _parse(cleaned: str, *, now: datetime, tz: tzinfo, argument: str) -> datetime:
    match = _TIME_OF_DAY.match(cleaned)
    if match:
        hour, minute, second = (int(group or 0) for group in match.groups())
        try:
            wall = time(hour, minute, second)
        except ValueError:
            raise ValueError(
                f"{argument}: {cleaned!r} is not a time of day ({_EXAMPLES})"
            ) from None
        local_now = now.astimezone(tz)
        candidate = _localize(datetime.combine(local_now.date(), wall), tz)
        if candidate <= now:
            candidate = _localize(datetime.combine(local_now.date() + timedelta(days=1), wall), tz)
        return candidate
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{argument}: {cleaned!r} is not a date/time ({_EXAMPLES})") from None
    if value.tzinfo is None:
        value = _localize(value, tz)
    return value


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    # A round trip through UTC moves a wall time that does not exist (spring forward) to the
    # real instant it would have been, instead of keeping an impossible local time.
    return naive.replace(tzinfo=tz).astimezone(timezone.utc).astimezone(tz)
