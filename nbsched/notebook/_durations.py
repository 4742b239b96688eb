"""Parse the friendly durations of ``%%every``: ``30s``, ``5m``, ``1h30m``, ``2d``, ``1.5h``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["parse_duration"]

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_EXAMPLES = "examples: 30s, 5m, 1h30m, 2d, 1.5h"


def parse_duration(text: str, *, argument: str = "interval") -> timedelta:
    """Return the ``timedelta`` that ``text`` spells.

    ``text`` is one or more ``<number><unit>`` parts (units ``w d h m s ms``), optionally
    separated by spaces, or a bare number of seconds. Raises ``ValueError`` naming
    ``argument`` for anything else and for a zero duration.
    """
    cleaned = text.strip().strip("\"'").strip()
    try:
        seconds = float(cleaned)
    except ValueError:
        seconds = _parse_parts(cleaned, text, argument)
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{argument}: {text!r} must be a positive duration ({_EXAMPLES})")
    return timedelta(seconds=seconds)


def _parse_parts(cleaned: str, text: str, argument: str) -> float:
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
    raise ValueError(f"{argument}: {text!r} is not a duration ({_EXAMPLES})")
