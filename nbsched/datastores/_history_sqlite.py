"""The SQLite store's run history: the ``job_history`` table, written and pruned in the
transaction that releases a job.

The table was added after schema version 1 without bumping it: older nbsched versions never
look at it, so a file opened by this version stays usable by them. :func:`add_history_table`
adds it to files created before.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from .._enums import JobOutcome
from .._history import HistoryRetention, RunRecord
from ._row_positions import HISTORY_COLUMNS, HistoryRow

__all__ = ["add_history_table", "prune_history", "read_history", "record_run"]

_logger = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS job_history (
    seq INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    schedule_id TEXT,
    task_id TEXT NOT NULL,
    fire_time INTEGER,
    started_at INTEGER,
    finished_at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error_type TEXT,
    error_message TEXT,
    scheduler_id TEXT
);
CREATE INDEX IF NOT EXISTS job_history_by_schedule ON job_history (schedule_id, seq);
CREATE INDEX IF NOT EXISTS job_history_by_finish ON job_history (finished_at)
"""

_COLUMNS = ", ".join(HISTORY_COLUMNS)
_INSERT = f"INSERT INTO job_history ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# keep the newest max_runs rows of one schedule (IS: jobs without a schedule are one group)
_PRUNE_BY_COUNT = (
    "DELETE FROM job_history WHERE schedule_id IS ? AND seq <= (SELECT seq FROM job_history "
    "WHERE schedule_id IS ? ORDER BY seq DESC LIMIT 1 OFFSET ?)"
)
_PRUNE_BY_AGE = "DELETE FROM job_history WHERE finished_at < ?"


def _to_db(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // _MICROSECOND


def _from_db(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def add_history_table(conn: sqlite3.Connection) -> None:
    """Create the history table in a file that lacks it (one transaction; writes nothing when
    it is there)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'job_history'").fetchone():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in HISTORY_SCHEMA.split(";"):
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def record_run(conn: sqlite3.Connection, record: RunRecord, retention: HistoryRetention) -> None:
    """Insert ``record`` and prune its schedule's history (inside the caller's transaction)."""
    conn.execute(
        _INSERT,
        (
            str(record.job_id),
            record.schedule_id,
            record.task_id,
            _to_db(record.fire_time),
            _to_db(record.started_at),
            _to_db(record.finished_at),
            record.outcome.value,
            record.error_type,
            record.error_message,
            record.scheduler_id,
        ),
    )
    if retention.max_runs is not None:
        conn.execute(_PRUNE_BY_COUNT, (record.schedule_id, record.schedule_id, retention.max_runs))
    if retention.max_age is not None:
        conn.execute(_PRUNE_BY_AGE, (_to_db(record.finished_at - retention.max_age),))


def prune_history(
    conn: sqlite3.Connection, now: datetime, retention: HistoryRetention | None
) -> None:
    """Forget the runs that finished more than ``max_age`` before ``now``."""
    if retention is not None and retention.max_age is not None:
        conn.execute(_PRUNE_BY_AGE, (_to_db(now - retention.max_age),))


def _decode(row: tuple[Any, ...]) -> RunRecord:
    finished_at = _from_db(row[HistoryRow.finished_at])
    assert finished_at is not None
    return RunRecord(
        job_id=UUID(row[HistoryRow.job_id]),
        schedule_id=row[HistoryRow.schedule_id],
        task_id=row[HistoryRow.task_id],
        fire_time=_from_db(row[HistoryRow.fire_time]),
        started_at=_from_db(row[HistoryRow.started_at]),
        finished_at=finished_at,
        outcome=JobOutcome(row[HistoryRow.outcome]),
        error_type=row[HistoryRow.error_type],
        error_message=row[HistoryRow.error_message],
        scheduler_id=row[HistoryRow.scheduler_id],
    )


def read_history(
    conn: sqlite3.Connection, schedule_id: str | None, since: datetime | None
) -> list[RunRecord]:
    """The kept runs, oldest release first; rows too damaged to read are skipped (logged)."""
    where: list[str] = []
    params: list[Any] = []
    if schedule_id is not None:
        where.append("schedule_id = ?")
        params.append(schedule_id)
    if since is not None:
        where.append("finished_at >= ?")
        params.append(_to_db(since))
    query = f"SELECT {_COLUMNS} FROM job_history"
    if where:
        query += " WHERE " + " AND ".join(where)
    records = []
    for row in conn.execute(query + " ORDER BY seq", params):
        try:
            records.append(_decode(row))
        except (TypeError, ValueError, OverflowError, AssertionError) as exc:
            _logger.warning(
                "skipping the damaged run history row of job %r: %s", row[HistoryRow.job_id], exc
            )
    return records
