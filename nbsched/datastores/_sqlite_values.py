"""How the SQLite store writes values SQL has no type for: datetimes as integer microseconds
since the epoch (UTC), timedeltas as integer microseconds, id lists as JSON for ``json_each``;
and the column lists of its SELECT statements (in the order of :mod:`._codec`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from ._codec import JOB_COLUMNS, JOB_RESULT_COLUMNS, SCHEDULE_COLUMNS, TASK_COLUMNS

__all__ = [
    "J_COLS",
    "R_COLS",
    "S_COLS",
    "T_COLS",
    "datetime_from_db",
    "datetime_to_db",
    "ids_json",
    "job_uuid",
    "timedelta_from_db",
    "timedelta_to_db",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

S_COLS = ", ".join(SCHEDULE_COLUMNS)
J_COLS = ", ".join(JOB_COLUMNS)
T_COLS = ", ".join(TASK_COLUMNS)
R_COLS = ", ".join(JOB_RESULT_COLUMNS)


def datetime_to_db(value: datetime) -> int:
    """Microseconds since the epoch; refuses a naive datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} is a naive datetime; the data store needs aware ones")
    return (value - _EPOCH) // _MICROSECOND


def datetime_from_db(value: int) -> datetime:
    """The UTC datetime ``value`` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=value)


def timedelta_to_db(value: timedelta) -> int:
    """Whole microseconds."""
    return value // _MICROSECOND


def timedelta_from_db(value: int) -> timedelta:
    """The timedelta of ``value`` microseconds."""
    return timedelta(microseconds=value)


def job_uuid(value: Any) -> UUID:
    """A job row's id, or the nil UUID if the stored id is damaged."""
    try:
        return UUID(value)
    except (TypeError, ValueError, AttributeError):
        return UUID(int=0)


def ids_json(ids: Iterable[Any]) -> str:
    """The ids as a JSON list of strings (for ``json_each``)."""
    return json.dumps([str(i) for i in ids])
