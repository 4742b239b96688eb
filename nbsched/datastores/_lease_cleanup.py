"""Housekeeping shared by the SQL stores: dropping the schedule leases of dead schedulers.

A schedule whose lease expired is taken over by the next ``acquire_schedules`` anyway; cleanup
also clears the lease, so that the stored schedule shows nobody holds it, and publishes
``ScheduleUpdated`` (as APScheduler 4 does).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..events import ScheduleUpdated

__all__ = ["release_expired_schedule_leases_sqlite", "release_expired_schedule_leases_postgresql"]

_RELEASE = (
    "UPDATE {table} SET acquired_by = NULL, acquired_until = NULL "
    "WHERE acquired_until < {now} RETURNING id, task_id, next_fire_time"
)


def _events(rows: list[Any], fire_time: Callable[[Any], datetime]) -> list[ScheduleUpdated]:
    return [
        ScheduleUpdated(
            schedule_id=schedule_id,
            task_id=task_id,
            next_fire_time=None if next_fire_time is None else fire_time(next_fire_time),
        )
        for schedule_id, task_id, next_fire_time in sorted(rows, key=lambda row: str(row[0]))
    ]


def release_expired_schedule_leases_sqlite(
    conn: sqlite3.Connection, now_db: int, fire_time: Callable[[int], datetime]
) -> list[ScheduleUpdated]:
    rows = conn.execute(_RELEASE.format(table="schedules", now="?"), (now_db,)).fetchall()
    return _events(rows, fire_time)


async def release_expired_schedule_leases_postgresql(
    conn: Any, schema: str, now: datetime, fire_time: Callable[[datetime], datetime]
) -> list[ScheduleUpdated]:
    cursor = await conn.execute(_RELEASE.format(table=f"{schema}.schedules", now="%s"), (now,))
    return _events(await cursor.fetchall(), fire_time)
