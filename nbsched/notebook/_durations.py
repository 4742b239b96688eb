"""Parse the friendly durations of ``%%every``: ``30s``, ``5m``, ``1h30m``, ``2d``, ``1.5h``."""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["MIN_CELL_INTERVAL", "parse_duration"]

#: The shortest interval of a scheduled cell: a cell runs on the kernel's thread, so faster
#: runs would leave the kernel no time for anything else.
MIN_CELL_INTERVAL = timedelta(milliseconds=100)

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_EXAMPLES = "examples: 30s, 5m, 1h30m, 2d, 1.5h"


def parse_duration(text: str, *, argument: str = "interval") -> timedelta:
    """Return the ``timedelta`` that ``text`` spells.

    ``text`` is one or more ``<number><unit>`` parts (units ``w d h m s ms``), optionally
    separated by spaces, or a bare number of seconds; quotes around it are ignored. Raises
    ``ValueError`` naming ``argument`` and the text for anything else, for a zero duration
    and for one too long for a ``timedelta`` (over 999,999,999 days).
    """
    cleaned = text.strip().strip("\"'").strip()
    try:
        seconds = float(cleaned)
    except ValueError:
        seconds = _parse_parts(cleaned, argument)
    try:
        duration = timedelta(seconds=seconds) if math.isfinite(seconds) else timedelta(0)
    except OverflowError:
        raise ValueError(
            f"{argument}: {cleaned!r} is too long (at most 999,999,999 days)"
        ) from None
    # judged after rounding: timedelta rounds anything under half a microsecond to zero
    if duration <= timedelta(0):
        raise ValueError(f"{argument}: {cleaned!r} must be a positive duration ({_EXAMPLES})")
    return duration


def _parse_parts(cleaned: str, argument: str) -> float:
    position = 0
    seconds = 0.0
    for match in _PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        position = match.end()
    else:
        if position and not cleaned[position:].strip():
            return seconds
    raise ValueError(f"{argument}: {cleaned!r} is not a duration ({_EXAMPLES})")
