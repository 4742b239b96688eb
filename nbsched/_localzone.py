"""Find the machine's local IANA time zone.

Order: the ``TZ`` environment variable (an IANA name, optionally with a leading ``:``),
then the target of ``/etc/localtime`` (``.../zoneinfo/Europe/Berlin``), then
``/etc/timezone`` (Debian), and finally UTC. A fixed offset is never used: it would be wrong
after the next DST change.
"""

from __future__ import annotations

import os
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["get_local_timezone"]


def _zone_or_none(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    name = name.strip().lstrip(":")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@lru_cache(maxsize=1)
def _cached_local_timezone(tz_env: str | None) -> ZoneInfo:
    zone = _zone_or_none(tz_env)
    if zone is not None:
        return zone
    try:
        target = os.path.realpath("/etc/localtime")
        marker = "/zoneinfo/"
        if marker in target:
            zone = _zone_or_none(target.split(marker, 1)[1])
            if zone is not None:
                return zone
    except OSError:
        pass
    try:
        with open("/etc/timezone", encoding="utf-8") as f:
            zone = _zone_or_none(f.read())
            if zone is not None:
                return zone
    except OSError:
        pass
    return ZoneInfo("UTC")


def get_local_timezone() -> ZoneInfo:
    """Return the machine's local time zone as a ``ZoneInfo`` (see the module docstring)."""
    return _cached_local_timezone(os.environ.get("TZ"))
