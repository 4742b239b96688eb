"""The PostgreSQL store's run history: the ``job_history`` table, shared by every scheduler on
the store, written and pruned by the statement that releases a job.

The table was added after schema version 1 without bumping it (older nbsched versions never
look at it); :func:`add_history_table` adds it to stores created before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import psycopg

from .._enums import JobOutcome
from .._history import HistoryRetention, RunRecord
from ._row_positions import HISTORY_COLUMNS, HistoryRow

__all__ = ["HistoryQueries", "abandoned_records", "add_history_table"]

_logger = logging.getLogger(__name__)

_TABLE = """
CREATE TABLE IF NOT EXISTS {s}.job_history (
    seq bigserial PRIMARY KEY,
    job_id uuid NOT NULL,
    schedule_id text,
    task_id text NOT NULL,
    fire_time timestamptz,
    started_at timestamptz,
    finished_at timestamptz NOT NULL,
    outcome text NOT NULL,
    error_type text,
    error_message text,
    scheduler_id text
);
CREATE INDEX IF NOT EXISTS job_history_by_schedule ON {s}.job_history (schedule_id, seq);
CREATE INDEX IF NOT EXISTS job_history_by_finish ON {s}.job_history (finished_at)
"""

_COLUMNS = ", ".join(HISTORY_COLUMNS)


async def add_history_table(conn: psycopg.AsyncConnection[Any], schema: str) -> bool:
    """Create the history table if it is missing. Returns ``False`` (and logs why) when it is
    missing and this role may not create it: the store then keeps no history."""
    cursor = await conn.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = 'job_history'",
        (schema,),
    )
    if await cursor.fetchone():
        return True
    quoted = f'"{schema}"'
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"nbsched:{schema}",)
            )
            for statement in _TABLE.format(s=quoted).split(";"):
                await conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as exc:
        _logger.warning(
            "nbsched store %r: cannot create the run history table (%s); no run history is "
            "kept until a role owning the schema starts a scheduler",
            schema,
            exc,
        )
        return False
    return True


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(timezone.utc)


class HistoryQueries:
    """The history's SQL for one schema and retention.

    :param s: the quoted schema name
    :param release_ctes: the store's release statement up to its final ``SELECT``: CTEs that
        end with ``released`` (the deleted job's ``task_id, schedule_id, scheduled_fire_time``)
        available
    """

    def __init__(self, s: str, release_ctes: str, retention: HistoryRetention) -> None:
        self.retention = retention
        insert = (
            f", history AS (INSERT INTO {s}.job_history ({_COLUMNS}) "
            f"SELECT %s::uuid, schedule_id, task_id, scheduled_fire_time, %s::timestamptz, "
            f"%s::timestamptz, %s, %s, %s, %s FROM released)"
        )
        # The statement does not see its own insert: keep max_runs - 1 older rows.
        by_count = (
            f", by_count AS (DELETE FROM {s}.job_history WHERE seq IN (SELECT seq FROM "
            f"{s}.job_history WHERE {{match}} AND EXISTS (SELECT FROM released) "
            f"ORDER BY seq DESC OFFSET %s))"
        )
        by_age = (
            f", by_age AS (DELETE FROM {s}.job_history WHERE finished_at < %s "
            f"AND EXISTS (SELECT FROM released))"
        )
        tail = " SELECT task_id FROM released"
        prunes = "" if retention.max_age is None else by_age
        if retention.max_runs is None:
            self.release_of_scheduled = self.release_of_unscheduled = (
                release_ctes + insert + prunes + tail
            )
        else:
            self.release_of_scheduled = (
                release_ctes + insert + by_count.format(match="schedule_id = %s") + prunes + tail
            )
            self.release_of_unscheduled = (
                release_ctes
                + insert
                + by_count.format(match="schedule_id IS NULL")
                + prunes
                + tail
            )
        self.insert = (
            f"INSERT INTO {s}.job_history ({_COLUMNS}) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        )
        self.prune_by_age = f"DELETE FROM {s}.job_history WHERE finished_at < %s"
        self.prune_by_count = (
            f"DELETE FROM {s}.job_history WHERE seq IN (SELECT seq FROM (SELECT seq, "
            f"row_number() OVER (PARTITION BY schedule_id ORDER BY seq DESC) AS n "
            f"FROM {s}.job_history WHERE schedule_id = ANY(%s) OR (%s AND schedule_id IS NULL)) "
            f"AS ranked WHERE n > %s)"
        )
        self.select = f"SELECT {_COLUMNS} FROM {s}.job_history"

    def release(self, record: RunRecord) -> tuple[str, list[Any]]:
        """The release statement's text and the parameters it takes after the store's own."""
        retention = self.retention
        params: list[Any] = [
            record.job_id,
            record.started_at,
            record.finished_at,
            record.outcome.value,
            record.error_type,
            record.error_message,
            record.scheduler_id,
        ]
        if retention.max_runs is not None:
            if record.schedule_id is not None:
                params.append(record.schedule_id)
            params.append(retention.max_runs - 1)
        if retention.max_age is not None:
            params.append(record.finished_at - retention.max_age)
        if record.schedule_id is None:
            return self.release_of_unscheduled, params
        return self.release_of_scheduled, params

    async def record_many(
        self, conn: psycopg.AsyncConnection[Any], records: Sequence[RunRecord]
    ) -> None:
        """Insert ``records`` and prune their schedules' history (in the caller's
        transaction)."""
        if not records:
            return
        async with conn.cursor() as cursor:
            await cursor.executemany(
                self.insert,
                [
                    (
                        r.job_id,
                        r.schedule_id,
                        r.task_id,
                        r.fire_time,
                        r.started_at,
                        r.finished_at,
                        r.outcome.value,
                        r.error_type,
                        r.error_message,
                        r.scheduler_id,
                    )
                    for r in records
                ],
            )
        if self.retention.max_runs is not None:
            ids = sorted({r.schedule_id for r in records if r.schedule_id is not None})
            unscheduled = any(r.schedule_id is None for r in records)
            await conn.execute(self.prune_by_count, (ids, unscheduled, self.retention.max_runs))
        await self.prune(conn, max(r.finished_at for r in records))

    async def prune(self, conn: psycopg.AsyncConnection[Any], now: datetime) -> None:
        """Forget the runs that finished more than ``max_age`` before ``now``."""
        if self.retention.max_age is not None:
            await conn.execute(self.prune_by_age, (now - self.retention.max_age,))

    async def read(
        self,
        conn: psycopg.AsyncConnection[Any],
        schedule_id: str | None,
        since: datetime | None,
    ) -> list[RunRecord]:
        where: list[str] = []
        params: list[Any] = []
        if schedule_id is not None:
            where.append("schedule_id = %s")
            params.append(schedule_id)
        if since is not None:
            where.append("finished_at >= %s")
            params.append(since)
        query = self.select
        if where:
            query += " WHERE " + " AND ".join(where)
        cursor = await conn.execute(query + " ORDER BY seq", params)
        records = []
        for row in await cursor.fetchall():
            try:
                records.append(_decode(row))
            except (TypeError, ValueError) as exc:
                _logger.warning(
                    "skipping the damaged run history row of job %r: %s",
                    row[HistoryRow.job_id],
                    exc,
                )
        return records


def _decode(row: tuple[Any, ...]) -> RunRecord:
    finished_at = _utc(row[HistoryRow.finished_at])
    if finished_at is None:
        raise ValueError("no finished_at")
    return RunRecord(
        job_id=row[HistoryRow.job_id],
        schedule_id=row[HistoryRow.schedule_id],
        task_id=row[HistoryRow.task_id],
        fire_time=_utc(row[HistoryRow.fire_time]),
        started_at=_utc(row[HistoryRow.started_at]),
        finished_at=finished_at,
        outcome=JobOutcome(row[HistoryRow.outcome]),
        error_type=row[HistoryRow.error_type],
        error_message=row[HistoryRow.error_message],
        scheduler_id=row[HistoryRow.scheduler_id],
    )


def abandoned_records(rows: Sequence[tuple[Any, ...]], now: datetime) -> list[RunRecord]:
    """History records of the jobs the store's cleanup abandoned (its ``delete_abandoned_jobs``
    rows: id, task, schedule, fire time, jitter, started, holder)."""
    return [
        RunRecord(
            job_id=job_id,
            schedule_id=schedule_id,
            task_id=task_id,
            fire_time=_utc(fire_time),
            started_at=_utc(started_at),
            finished_at=now,
            outcome=JobOutcome.abandoned,
            scheduler_id=acquired_by,
        )
        for job_id, task_id, schedule_id, fire_time, _jitter, started_at, acquired_by in rows
    ]
