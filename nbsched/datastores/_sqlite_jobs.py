"""The job side of the SQLite store that runs inside its transactions: acquiring jobs (within
each task's ``max_running_jobs``, taking over expired leases) and finishing the jobs that will
never run (undecodable, abandoned), keeping a result for each when one is wanted.

Each function takes the open connection of the store's current transaction
(``SQLiteDataStore._run``) and the list of events to publish after the commit.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from .._enums import JobOutcome
from .._exceptions import DeserializationError
from .._history import HistoryRetention
from .._structures import Job, JobResult
from ..events import Event, JobDeserializationFailed
from ._codec import RowCodec
from ._history_sqlite import record_run
from ._row_positions import JobRow
from ._sqlite_rows import iter_rows
from ._sqlite_values import J_COLS, R_COLS, datetime_to_db, ids_json, job_uuid
from ._undecodable_jobs import undecodable_record

__all__ = ["decode_jobs", "finish_job", "insert_result", "lease_jobs"]


def decode_jobs(codec: RowCodec, rows: list[Any], events: list[Event]) -> list[Job]:
    """The jobs of ``rows``; each row that cannot be decoded is reported in ``events``."""
    jobs = []
    for row in rows:
        try:
            jobs.append(codec.decode_job(row))
        except DeserializationError as exc:
            events.append(
                JobDeserializationFailed(job_id=job_uuid(row[JobRow.id]), exception=str(exc))
            )
    return jobs


def lease_jobs(
    conn: sqlite3.Connection,
    events: list[Event],
    codec: RowCodec,
    scheduler_id: str,
    limit: int | None,
    now: datetime,
    until: datetime,
    history: HistoryRetention | None,
) -> list[Job]:
    """Lease up to ``limit`` jobs to ``scheduler_id`` until ``until``, oldest first; the jobs
    that cannot be decoded are finished instead, each leaving a record in the run history
    (by the ``history`` retention; ``None``: no history)."""
    room: dict[str, int] = {
        task_id: max_running - running
        for task_id, max_running, running in conn.execute(
            "SELECT id, max_running_jobs, running_jobs FROM tasks "
            "WHERE max_running_jobs IS NOT NULL"
        )
    }
    rows = iter_rows(
        conn,
        f"SELECT {J_COLS} FROM jobs WHERE acquired_until IS NULL OR acquired_until < ? "
        f"ORDER BY created_at, seq",
        (datetime_to_db(now),),
    )
    acquired: list[Job] = []
    added: dict[str, int] = {}
    failed: list[tuple[Any, ...]] = []
    for row in rows:
        if limit is not None and len(acquired) >= limit:
            break
        task_id = row[JobRow.task_id]
        # An expired lease (its scheduler died) is taken over: that job is already
        # counted in running_jobs, so it needs no free slot.
        taken_over = row[JobRow.acquired_by] is not None
        if not taken_over:
            free = room.get(task_id)
            if free is not None:
                if free <= 0:
                    continue
                room[task_id] = free - 1
        try:
            job = codec.decode_job(row)
        except DeserializationError as exc:
            failed.append((row, taken_over, str(exc)))
            continue
        if not taken_over:
            added[task_id] = added.get(task_id, 0) + 1
        job.acquired_by = scheduler_id
        job.acquired_until = until
        acquired.append(job)
    rows.close()
    if acquired:
        conn.execute(
            "UPDATE jobs SET acquired_by = ?, acquired_until = ? "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (scheduler_id, datetime_to_db(until), ids_json(job.id for job in acquired)),
        )
        conn.executemany(
            "UPDATE tasks SET running_jobs = running_jobs + ? WHERE id = ?",
            [(count, task_id) for task_id, count in added.items()],
        )
    for row, taken_over, message in failed:
        finish_job(
            conn, codec, row, taken_over, JobOutcome.deserialization_failed, now, scheduler_id
        )
        if history is not None:
            try:
                fire_time = codec.opt_dt_from_db(row[JobRow.scheduled_fire_time])
            except Exception:  # the damaged column itself: an unknown fire time
                fire_time = None
            record = undecodable_record(row, fire_time, now, scheduler_id, message)
            if record is not None:
                record_run(conn, record, history)
        events.append(JobDeserializationFailed(job_id=job_uuid(row[JobRow.id]), exception=message))
    return acquired


def finish_job(
    conn: sqlite3.Connection,
    codec: RowCodec,
    row: tuple[Any, ...],
    counted: bool,
    outcome: JobOutcome,
    now: datetime,
    scheduler_id: str | None,
) -> None:
    """Remove a job row that will never run, keeping a result for it if one is wanted.

    :param counted: whether the job counts in its task's ``running_jobs`` (it was acquired)
    """
    conn.execute("DELETE FROM jobs WHERE id = ?", (row[JobRow.id],))
    if counted:
        conn.execute(
            "UPDATE tasks SET running_jobs = max(running_jobs - 1, 0) WHERE id = ?",
            (row[JobRow.task_id],),
        )
    try:
        job_id = UUID(row[JobRow.id])
        expiration = timedelta(microseconds=row[JobRow.result_expiration_time])
    except (TypeError, ValueError, OverflowError, AttributeError):
        return  # a row too damaged to keep a result for
    if expiration > timedelta(0):
        result = JobResult(
            job_id=job_id,
            outcome=outcome,
            finished_at=now,
            expires_at=now + expiration,
            scheduler_id=scheduler_id,
        )
        insert_result(
            conn,
            codec.encode_job_result(result),
            row[JobRow.schedule_id],
            row[JobRow.scheduled_fire_time],
        )


def insert_result(
    conn: sqlite3.Connection, row: tuple[Any, ...], schedule_id: Any, fire_time: Any
) -> None:
    """Keep an encoded job result, with the schedule and fire time its job was for."""
    conn.execute(
        f"INSERT OR REPLACE INTO job_results ({R_COLS}, schedule_id, scheduled_fire_time) "
        f"VALUES ({', '.join('?' * (len(row) + 2))})",
        (*row, schedule_id, fire_time),
    )
