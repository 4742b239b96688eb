"""A data store shared by schedulers on any number of machines, in a PostgreSQL database.

Needs the ``postgres`` extra: ``pip install nbsched[postgres]`` (psycopg 3).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from uuid import UUID

from psycopg import errors

from .._enums import ConflictPolicy, JobOutcome
from .._exceptions import ConflictingIdError, DataStoreError, DeserializationError, TaskLookupError
from .._history import (
    DEFAULT_HISTORY_RETENTION,
    HistoryRetention,
    RunRecord,
    as_history_retention,
    run_record,
)
from .._structures import Job, JobResult, Schedule, ScheduleResult, Task
from ..abc import AsyncDataStore, AsyncEventBroker, Serializer
from ..events import (
    Event,
    JobAdded,
    JobDeserializationFailed,
    JobReleased,
    JobRemoved,
    ScheduleAdded,
    ScheduleDeserializationFailed,
    ScheduleRemoved,
    ScheduleUpdated,
    TaskAdded,
    TaskRemoved,
    TaskUpdated,
)
from ._codec import (
    RowCodec,
    row_label,
    trigger_to_json,
)
from ._history_postgresql import HistoryQueries, abandoned_records, add_history_table
from ._lease_cleanup import release_expired_schedule_leases_postgresql
from ._postgresql_connect import TEMPORARY_ERRORS, ConnectionPool, describe_dsn
from ._postgresql_queries import Queries
from ._postgresql_rows import fetch_all
from ._postgresql_schema import check_schema_name, prepare_schema
from ._row_positions import JobRow, ScheduleRow
from ._undecodable_jobs import undecodable_release

__all__ = ["PostgreSQLDataStore"]

_logger = logging.getLogger(__name__)


# How long a finished job whose result is not kept leaves a trace (see Queries.insert_job).
_TOMBSTONE_LIFETIME = timedelta(minutes=10)


def _utc(value: datetime) -> datetime:
    # psycopg returns timestamptz in the session's time zone; hand out UTC
    return value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {value!r}")
    return value


class PostgreSQLDataStore(AsyncDataStore):
    """Keeps tasks, schedules and jobs in a PostgreSQL database, shared by every scheduler
    that points at it, on this machine or any other.

    * Schedules and jobs are leased with ``SELECT ... FOR UPDATE SKIP LOCKED``: schedulers
      never wait for each other, and each fire of a schedule becomes exactly one job.
    * The tables live in their own PostgreSQL schema (``nbsched`` unless ``schema`` says
      otherwise), created on first start. A schema written by a newer nbsched is refused
      with a clear :class:`~nbsched.DataStoreError` and left as it is.
    * Temporary failures (server restarting, connection refused or reset, administrator
      shutdown, serialization failure, deadlock) raise one of :attr:`temporary_errors`, which
      the scheduler retries with backoff; the store reconnects by itself. Permanent ones
      (wrong password, missing database or role, missing privilege) raise
      :class:`~nbsched.DataStoreError` at once, saying what is wrong.
    * Job arguments, return values and exceptions go through ``serializer`` (JSON by
      default); triggers are stored as their plain ``__getstate__`` data, tasks' functions as
      import references.

    :param dsn: libpq connection string or URL, e.g. ``"postgresql://scheduler@db.example.com/jobs"``
    :param schema: the PostgreSQL schema holding the store's tables
    :param serializer: for job arguments and results (default
        :class:`~nbsched.serializers.json.JSONSerializer`); every scheduler sharing the store
        must use the same kind
    :param max_connections: the most connections this store opens at once
    :param poll_interval: how often, in seconds, an idle scheduler looks at the store for
        changes other schedulers made. Default: 1 s; 10 s when the scheduler's event broker is
        a :class:`~nbsched.eventbrokers.postgresql.PostgreSQLEventBroker`, whose events wake it
        at once (the poll is then only a safety net for events lost while disconnected)
    :param history_retention: how much run history the store keeps, shared by every scheduler
        on it (see :class:`~nbsched.HistoryRetention`; an int ``n``: the last ``n`` runs per
        schedule; ``0``: none)

    Example::

        from nbsched import AsyncScheduler
        from nbsched.datastores.postgresql import PostgreSQLDataStore
        from nbsched.eventbrokers.postgresql import PostgreSQLEventBroker

        dsn = "postgresql://scheduler@db.example.com/jobs"
        async with AsyncScheduler(PostgreSQLDataStore(dsn), PostgreSQLEventBroker(dsn)) as s:
            await s.add_schedule(report, IntervalTrigger(hours=1), id="hourly-report")
            await s.run_until_stopped()
    """

    temporary_errors: ClassVar[tuple[type[BaseException], ...]] = TEMPORARY_ERRORS

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "nbsched",
        serializer: Serializer | None = None,
        max_connections: int = 10,
        poll_interval: float | None = None,
        history_retention: HistoryRetention | int = DEFAULT_HISTORY_RETENTION,
    ) -> None:
        self.history_retention = as_history_retention(history_retention)
        if not isinstance(dsn, str) or not dsn:
            raise TypeError(f"dsn: expected a PostgreSQL connection string, got {dsn!r}")
        if serializer is not None and not isinstance(serializer, Serializer):
            raise TypeError(f"serializer: expected a Serializer, got {serializer!r}")
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"max_connections: {max_connections!r} must be a positive int")
        if poll_interval is not None and (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, (int, float))
            or not poll_interval > 0
        ):
            raise ValueError(f"poll_interval: {poll_interval!r} must be a positive number")
        if serializer is None:
            from ..serializers.json import JSONSerializer

            serializer = JSONSerializer()
        self.dsn = dsn
        self.schema = check_schema_name(schema)
        self.serializer = serializer
        self._max_connections = max_connections
        self._poll_interval = poll_interval
        #: read by the scheduler: the longest it sleeps before looking at the store again
        self.poll_interval: float = poll_interval or 1.0
        self._codec = RowCodec(serializer, datetime_to_db=_aware, datetime_from_db=_utc)
        self._pool: ConnectionPool | None = None
        self._job_pool: ConnectionPool | None = None
        self._broker: AsyncEventBroker | None = None
        self._sql = Queries(f'"{self.schema}"')
        self._history: HistoryQueries | None = None
        if self.history_retention is not None:
            self._history = HistoryQueries(
                f'"{self.schema}"', self._sql.release_job_ctes, self.history_retention
            )

    def __repr__(self) -> str:
        return f"PostgreSQLDataStore({describe_dsn(self.dsn)!r}, schema={self.schema!r})"

    # --- lifecycle ---

    async def start(self, event_broker: AsyncEventBroker) -> None:
        """Connect, create the tables if needed and check their version."""
        pool = ConnectionPool(self.dsn, max_size=self._max_connections)
        try:
            async with pool.connection() as conn:
                await prepare_schema(conn, self.schema, describe_dsn(self.dsn))
                if self._history is not None and not await add_history_table(conn, self.schema):
                    self._history = None
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        # A schedule's jobs are committed without waiting for the WAL flush: the scheduler
        # releases the schedule that made them afterwards, with a normal commit, which flushes
        # the WAL up to there, jobs included. If the server crashes before that release, the
        # schedule was not advanced either: its fires are processed again (one job per fire),
        # so nothing is lost. This spares one disk flush per job.
        self._job_pool = ConnectionPool(
            self.dsn,
            max_size=max(1, self._max_connections // 4),
            setup="SET synchronous_commit = off",
        )
        self._broker = event_broker
        if self._poll_interval is None:
            from ..eventbrokers.postgresql import PostgreSQLEventBroker

            spans_processes = isinstance(event_broker, PostgreSQLEventBroker)
            self.poll_interval = 10.0 if spans_processes else 1.0

    async def stop(self, *, force: bool = False) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._job_pool is not None:
            await self._job_pool.close()
            self._job_pool = None

    def _connection(self) -> Any:
        if self._pool is None:
            raise DataStoreError(f"{self!r} is not started (call start() first)")
        return self._pool.connection()

    async def _fetchall(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        async with self._connection() as conn:
            cursor = await conn.execute(query, params)
            return await fetch_all(cursor)

    async def _publish(self, events: Iterable[Event]) -> None:
        if self._broker is not None:
            for event in events:
                await self._broker.publish(event)

    # --- tasks ---

    async def add_task(self, task: Task) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"task: expected a Task, got {type(task).__name__}")
        row = self._codec.encode_task(task)
        rows = await self._fetchall(self._sql.upsert_task, row[:-1])
        event = TaskAdded if rows[0][0] else TaskUpdated
        await self._publish([event(task_id=task.id)])

    async def remove_task(self, task_id: str) -> None:
        rows = await self._fetchall(self._sql.delete_task, (task_id,))
        if not rows:
            raise TaskLookupError(task_id)
        await self._publish([TaskRemoved(task_id=task_id)])

    async def get_task(self, task_id: str) -> Task:
        rows = await self._fetchall(self._sql.select_task, (task_id,))
        if not rows:
            raise TaskLookupError(task_id)
        return self._codec.decode_task(rows[0])

    async def get_tasks(self) -> list[Task]:
        rows = await self._fetchall(self._sql.select_tasks)
        return [self._codec.decode_task(row) for row in rows]

    # --- schedules ---

    async def add_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule: expected a Schedule, got {type(schedule).__name__}")
        if not isinstance(conflict_policy, ConflictPolicy):
            raise TypeError(f"conflict_policy: expected a ConflictPolicy, got {conflict_policy!r}")
        row = self._codec.encode_schedule(schedule.copy(acquired_by=None, acquired_until=None))
        if conflict_policy is ConflictPolicy.replace:
            query = self._sql.upsert_schedule
        elif conflict_policy is ConflictPolicy.do_nothing:
            query = self._sql.insert_schedule_or_nothing
        else:
            query = self._sql.insert_schedule
        try:
            rows = await self._fetchall(query, row)
        except errors.UniqueViolation:
            raise ConflictingIdError(schedule.id) from None
        if not rows:
            return  # do_nothing and it exists
        event = ScheduleAdded if rows[0][0] else ScheduleUpdated
        await self._publish(
            [
                event(
                    schedule_id=schedule.id,
                    task_id=schedule.task_id,
                    next_fire_time=schedule.next_fire_time,
                )
            ]
        )

    async def remove_schedules(self, ids: Iterable[str], *, finished: bool = False) -> None:
        ids = [ids] if isinstance(ids, str) else list(ids)
        if not ids:
            return
        rows = await self._fetchall(self._sql.delete_schedules, (ids,))
        await self._publish(
            ScheduleRemoved(schedule_id=schedule_id, task_id=task_id, finished=finished)
            for schedule_id, task_id in sorted(rows)
        )

    def _decode_schedules(
        self, rows: list[tuple[Any, ...]], failed: list[Event]
    ) -> list[Schedule]:
        schedules = []
        for row in rows:
            try:
                schedules.append(self._codec.decode_schedule(row))
            except DeserializationError as exc:
                schedule_id = row[ScheduleRow.id]
                _logger.warning("cannot read schedule %r: %s", schedule_id, exc)
                failed.append(
                    ScheduleDeserializationFailed(
                        schedule_id=row_label(schedule_id), exception=str(exc)
                    )
                )
        return schedules

    async def get_schedules(self, ids: Iterable[str] | None = None) -> list[Schedule]:
        if ids is None:
            rows = await self._fetchall(self._sql.select_schedules)
        else:
            ids = [ids] if isinstance(ids, str) else list(ids)
            rows = await self._fetchall(self._sql.select_schedules_by_id, (ids,))
        failed: list[Event] = []
        schedules = self._decode_schedules(rows, failed)
        await self._publish(failed)
        return schedules

    async def acquire_schedules(
        self, scheduler_id: str, lease_duration: timedelta, limit: int, now: datetime
    ) -> list[Schedule]:
        if limit <= 0:
            return []
        rows = await self._fetchall(
            self._sql.acquire_schedules,
            {"by": scheduler_id, "until": now + lease_duration, "now": now, "limit": limit},
        )
        # a schedule that cannot be read stays leased, so it is retried only once its lease
        # expires rather than on every wake-up
        failed: list[Event] = []
        schedules = self._decode_schedules(rows, failed)
        await self._publish(failed)
        schedules.sort(key=lambda s: (s.next_fire_time, s.id))
        return schedules

    async def release_schedules(
        self, scheduler_id: str, results: Iterable[ScheduleResult]
    ) -> None:
        updates: list[ScheduleResult] = []
        finished: list[str] = []
        for result in results:
            if result.next_fire_time is None:
                finished.append(result.schedule_id)
            else:
                updates.append(result)
        events: list[Event] = []
        codec = self._codec
        async with self._connection() as conn:
            if updates:
                cursor = await conn.execute(
                    self._sql.release_schedules,
                    (
                        [r.schedule_id for r in updates],
                        [trigger_to_json(r.trigger, schedule_id=r.schedule_id) for r in updates],
                        [codec.opt_dt_to_db(r.last_fire_time) for r in updates],
                        [codec.opt_dt_to_db(r.next_fire_time) for r in updates],
                        scheduler_id,
                    ),
                )
                for schedule_id, task_id, next_fire_time in await cursor.fetchall():
                    events.append(
                        ScheduleUpdated(
                            schedule_id=schedule_id,
                            task_id=task_id,
                            next_fire_time=_utc(next_fire_time),
                        )
                    )
            if finished:
                cursor = await conn.execute(
                    self._sql.delete_finished_schedules, (finished, scheduler_id)
                )
                for schedule_id, task_id in await cursor.fetchall():
                    events.append(
                        ScheduleRemoved(schedule_id=schedule_id, task_id=task_id, finished=True)
                    )
        await self._publish(events)

    async def get_next_schedule_run_time(self) -> datetime | None:
        rows = await self._fetchall(self._sql.next_schedule_run_time)
        value = rows[0][0]
        return None if value is None else _utc(value)

    # --- jobs ---

    async def add_job(self, job: Job) -> None:
        """Store a job. A second job for the same fire of the same schedule (same
        ``schedule_id`` and ``scheduled_fire_time``) while the first is stored is dropped: a
        schedule processed twice makes one job per fire."""
        if not isinstance(job, Job):
            raise TypeError(f"job: expected a Job, got {type(job).__name__}")
        row = self._codec.encode_job(job.copy(acquired_by=None, acquired_until=None))
        # a job a user added is committed durably before add_job returns; a schedule's, see
        # start()
        pool = self._pool if job.schedule_id is None else self._job_pool
        if pool is None:
            raise DataStoreError(f"{self!r} is not started (call start() first)")
        async with pool.connection() as conn:
            cursor = await conn.execute(self._sql.insert_job, (*row, job.id))
            inserted = await cursor.fetchall()
        if not inserted:
            return  # this job, or this fire's job, is already stored
        await self._publish(
            [JobAdded(job_id=job.id, task_id=job.task_id, schedule_id=job.schedule_id)]
        )

    async def get_jobs(self, ids: Iterable[UUID] | None = None) -> list[Job]:
        if ids is None:
            rows = await self._fetchall(self._sql.select_jobs)
        else:
            rows = await self._fetchall(self._sql.select_jobs_by_id, (list(ids),))
        jobs = []
        failed: list[Event] = []
        for row in rows:
            try:
                jobs.append(self._codec.decode_job(row))
            except DeserializationError as exc:
                _logger.warning("cannot read job %s: %s", row[JobRow.id], exc)
                failed.append(JobDeserializationFailed(job_id=row[JobRow.id], exception=str(exc)))
        await self._publish(failed)
        return jobs

    async def acquire_jobs(
        self, scheduler_id: str, lease_duration: timedelta, limit: int | None, now: datetime
    ) -> list[Job]:
        if limit is not None and limit <= 0:
            return []
        sql = self._sql
        picked: list[tuple[Any, ...]] = []
        failed: list[tuple[tuple[Any, ...], str]] = []
        async with self._connection() as conn:
            async with conn.transaction():
                # Jobs whose lease ended (their scheduler died) are taken over in their place
                # in line; they keep their slot in running_jobs, so they need no room.
                cursor = await conn.execute(sql.lock_candidate_jobs, {"now": now, "limit": limit})
                candidates = await fetch_all(cursor)
                if not candidates:
                    return []
                task_ids = sorted({row[JobRow.task_id] for row in candidates})
                # lock the tasks in id order (no deadlock between acquirers), count room
                cursor = await conn.execute(sql.lock_tasks, (task_ids,))
                room: dict[str, int | None] = {
                    task_id: None if limit_ is None else limit_ - running
                    for task_id, limit_, running in await cursor.fetchall()
                }
                counts: Counter[str] = Counter()
                for row in candidates:
                    if limit is not None and len(picked) >= limit:
                        break
                    if row[JobRow.acquired_by] is None:  # pending, not taken over
                        task_id = row[JobRow.task_id]
                        left = room.get(task_id)
                        if left is not None and counts[task_id] >= left:
                            continue
                        counts[task_id] += 1
                    picked.append(row[:-1])  # without seq, the column after JOB_COLUMNS
                until = now + lease_duration
                await conn.execute(
                    sql.lease_jobs,
                    {
                        "ids": [row[JobRow.id] for row in picked],
                        "by": scheduler_id,
                        "until": until,
                    },
                )
                counted = [task_id for task_id in sorted(counts) if task_id in room]
                if counted:
                    await conn.execute(sql.count_running, (counted, [counts[t] for t in counted]))
        jobs = []
        for row in picked:
            try:
                job = self._codec.decode_job(row)
            except DeserializationError as exc:
                failed.append((row, str(exc)))
                _logger.warning("cannot read job %s: %s", row[JobRow.id], exc)
                continue
            job.acquired_by = scheduler_id
            job.acquired_until = until
            jobs.append(job)
        for row, message in failed:
            await self._fail_undecodable_job(scheduler_id, row, now, message)
        return jobs

    async def _fail_undecodable_job(
        self, scheduler_id: str, row: tuple[Any, ...], now: datetime, message: str
    ) -> None:
        stub, result, record = undecodable_release(row, now, scheduler_id, message)
        await self._release(scheduler_id, stub, result, record)
        await self._publish([JobDeserializationFailed(job_id=stub.id, exception=message)])

    async def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
        await self._release(scheduler_id, job, result, run_record(job, result, scheduler_id))

    async def _release(
        self, scheduler_id: str, job: Job, result: JobResult, record: RunRecord | None
    ) -> None:
        query, history_params = self._sql.release_job, list[Any]()
        if self._history is not None and record is not None:
            query, history_params = self._history.release(record)
        keep_result = result.expires_at > result.finished_at
        if not keep_result:
            # only a tombstone: see insert_job
            result = replace(
                result,
                return_value=None,
                exception=None,
                traceback=None,
                expires_at=result.finished_at + _TOMBSTONE_LIFETIME,
            )
        params = (
            job.id,
            scheduler_id,
            *self._codec.encode_job_result(result),
            keep_result,
            *history_params,
        )
        rows = await self._fetchall(query, params)
        if rows:
            await self._publish([JobRemoved(job_id=job.id, task_id=rows[0][0])])

    async def get_job_result(self, job_id: UUID) -> JobResult | None:
        rows = await self._fetchall(self._sql.pop_job_result, (job_id,))
        return self._codec.decode_job_result(rows[0]) if rows else None

    # --- leases and housekeeping ---

    async def extend_acquired_schedule_leases(
        self, scheduler_id: str, schedule_ids: set[str], duration: timedelta, now: datetime
    ) -> None:
        if schedule_ids:
            await self._execute(
                self._sql.extend_schedule_leases,
                (now + duration, scheduler_id, list(schedule_ids)),
            )

    async def extend_acquired_job_leases(
        self, scheduler_id: str, job_ids: set[UUID], duration: timedelta, now: datetime
    ) -> None:
        if job_ids:
            await self._execute(
                self._sql.extend_job_leases, (now + duration, scheduler_id, list(job_ids))
            )

    async def _execute(self, query: str, params: Any) -> None:
        async with self._connection() as conn:
            await conn.execute(query, params)

    async def cleanup(self, now: datetime) -> None:
        async with self._connection() as conn:
            await conn.execute(self._sql.delete_expired_results, (now,))
            released = await release_expired_schedule_leases_postgresql(
                conn, f'"{self.schema}"', now, _utc
            )
            async with conn.transaction():
                cursor = await conn.execute(
                    self._sql.delete_abandoned_jobs, {"now": now, "tombstone": _TOMBSTONE_LIFETIME}
                )
                abandoned = await cursor.fetchall()
                counts = Counter(task_id for _, task_id, *_ in abandoned)
                if counts:
                    task_ids = sorted(counts)
                    await conn.execute(
                        self._sql.uncount_running, (task_ids, [counts[t] for t in task_ids])
                    )
                if self._history is not None:
                    await self._history.record_many(conn, abandoned_records(abandoned, now))
                    await self._history.prune(conn, now)
        events: list[Event] = [*released]
        for job_id, task_id, schedule_id, fire_time, jitter, started_at, acquired_by in abandoned:
            events.append(JobRemoved(job_id=job_id, task_id=task_id))
            events.append(
                JobReleased(
                    job_id=job_id,
                    scheduler_id=acquired_by or "",
                    task_id=task_id,
                    schedule_id=schedule_id,
                    scheduled_start=None if fire_time is None else _utc(fire_time) + jitter,
                    started_at=None if started_at is None else _utc(started_at),
                    finished_at=now,
                    outcome=JobOutcome.abandoned,
                )
            )
        await self._publish(events)

    # --- run history ---

    async def get_run_history(
        self, schedule_id: str | None = None, since: datetime | None = None
    ) -> list[RunRecord]:
        if self._history is None:
            return []
        async with self._connection() as conn:
            return await self._history.read(conn, schedule_id, since)
