"""Argument checks shared by the built-in triggers' constructors and ``__setstate__``
(internal): numbers that must be finite, intervals and instants that must fit in
``datetime``'s range, each refused with a ``ValueError`` naming the argument."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from ._dst import existing_instant

__all__ = ["before", "checked_instant", "checked_timedelta", "finite"]

_UTC = timezone.utc


def finite(value: float) -> bool:
    """Whether a number is finite (ints always are)."""
    return not isinstance(value, float) or math.isfinite(value)


def before(later: datetime, earlier: datetime) -> bool:
    """Whether ``later`` is before ``earlier`` as an instant (two datetimes of one zone compare
    by wall time, ignoring ``fold``: 02:15 of the repeated hour's second pass is later than
    02:45 of its first)."""
    return later.astimezone(_UTC) < earlier.astimezone(_UTC)


def checked_timedelta(**components: float) -> timedelta:
    """``timedelta(**components)``, or a ``ValueError`` naming the non-zero components when it
    does not fit (``timedelta`` stops at 999,999,999 days). The components must be finite."""
    try:
        return timedelta(**components)
    except OverflowError:
        given = {name: value for name, value in components.items() if value}
        names = ", ".join(given)
        shown = ", ".join(f"{name}={value!r}" for name, value in given.items())
        raise ValueError(
            f"{names}: {shown} is too long an interval (a timedelta holds at most 999999999 days)"
        ) from None


def checked_instant(value: datetime, *, argument: str) -> datetime:
    """``value`` (aware) as the instant nbsched reads it (see :func:`existing_instant`),
    refused with a ``ValueError`` naming ``argument`` when that instant is outside the years
    1-9999 in UTC."""
    try:
        value = existing_instant(value)
        value.astimezone(_UTC)
    except OverflowError:
        raise ValueError(
            f"{argument}: {value.isoformat()} is out of range: in UTC it falls outside the "
            f"years 1-9999 that datetime can hold"
        ) from None
    return value
