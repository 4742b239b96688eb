"""The schedule side of the SQLite store that runs inside its transactions: decoding schedule
rows (a row that cannot be read is reported, not fatal), leasing due schedules and handing
them back with their new fire times.

Each function takes the open connection of the store's current transaction
(``SQLiteDataStore._run``) and the list of events to publish after the commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .._exceptions import DeserializationError
from .._structures import Schedule
from ..events import Event, ScheduleDeserializationFailed, ScheduleRemoved, ScheduleUpdated
from ._codec import RowCodec, row_label
from ._row_positions import ScheduleRow
from ._sqlite_rows import fetch_rows
from ._sqlite_values import S_COLS, datetime_to_db, ids_json

__all__ = ["decode_schedules", "lease_schedules", "release_leased_schedules"]

# (id, (trigger, last fire time, next fire time) or None when it is finished, next fire time)
PreparedRelease = tuple[str, "tuple[Any, Any, Any] | None", "datetime | None"]


def decode_schedules(codec: RowCodec, rows: list[Any], events: list[Event]) -> list[Schedule]:
    """The schedules of ``rows``; each row that cannot be decoded is reported in ``events``."""
    schedules = []
    for row in rows:
        try:
            schedules.append(codec.decode_schedule(row))
        except DeserializationError as exc:
            events.append(
                ScheduleDeserializationFailed(
                    schedule_id=row_label(row[ScheduleRow.id]), exception=str(exc)
                )
            )
    return schedules


def lease_schedules(
    conn: sqlite3.Connection,
    events: list[Event],
    codec: RowCodec,
    scheduler_id: str,
    limit: int,
    now: datetime,
    until: datetime,
) -> list[Schedule]:
    """Lease up to ``limit`` due schedules to ``scheduler_id`` until ``until``."""
    now_db = datetime_to_db(now)
    until_db = datetime_to_db(until)
    rows = fetch_rows(
        conn,
        f"SELECT {S_COLS} FROM schedules WHERE paused = 0 AND next_fire_time <= ? "
        f"AND (acquired_until IS NULL OR acquired_until < ?) "
        f"ORDER BY next_fire_time, id LIMIT ?",
        (now_db, now_db, limit),
    )
    if not rows:
        return []
    # Rows that fail to decode stay leased too: they are retried (and reported again)
    # only when this lease expires, instead of on every pass.
    ids = [row[ScheduleRow.id] for row in rows]
    conn.execute(
        "UPDATE schedules SET acquired_by = ?, acquired_until = ? "
        "WHERE id IN (SELECT value FROM json_each(?))",
        (scheduler_id, until_db, ids_json(ids)),
    )
    for raw_id in (schedule_id for schedule_id in ids if not isinstance(schedule_id, str)):
        conn.execute(  # an id that is not valid text (a flipped bit) is leased too
            "UPDATE schedules SET acquired_by = ?, acquired_until = ? WHERE CAST(id AS BLOB) = ?",
            (scheduler_id, until_db, raw_id),
        )
    schedules = decode_schedules(codec, rows, events)
    for schedule in schedules:
        schedule.acquired_by = scheduler_id
        schedule.acquired_until = until
    return schedules


def release_leased_schedules(
    conn: sqlite3.Connection,
    events: list[Event],
    scheduler_id: str,
    prepared: Sequence[PreparedRelease],
) -> None:
    """Store the new fire times of the schedules ``scheduler_id`` leased and end the leases;
    remove the finished ones. A schedule no longer leased to it is left alone."""
    for schedule_id, values, next_fire_time in prepared:
        if values is None:
            row = conn.execute(
                "DELETE FROM schedules WHERE id = ? AND acquired_by = ? RETURNING task_id",
                (schedule_id, scheduler_id),
            ).fetchone()
            if row is not None:
                (task_id,) = row
                events.append(
                    ScheduleRemoved(schedule_id=schedule_id, task_id=task_id, finished=True)
                )
            continue
        row = conn.execute(
            "UPDATE schedules SET trigger = ?, last_fire_time = ?, next_fire_time = ?, "
            "acquired_by = NULL, acquired_until = NULL "
            "WHERE id = ? AND acquired_by = ? RETURNING task_id",
            (*values, schedule_id, scheduler_id),
        ).fetchone()
        # no row: removed or replaced meanwhile, or the lease was taken over
        if row is not None:
            (task_id,) = row
            events.append(
                ScheduleUpdated(
                    schedule_id=schedule_id, task_id=task_id, next_fire_time=next_fire_time
                )
            )
