"""The SQLite data store: schedules in one file, shared by several kernels, safe under kill -9.

Built on the standard library's :mod:`sqlite3` in WAL mode. Each store operation is one
transaction; writes start with ``BEGIN IMMEDIATE`` so that acquiring a lease is atomic across
every process using the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from .._enums import ConflictPolicy, JobOutcome
from .._exceptions import (
    ConflictingIdError,
    DataStoreError,
    TaskLookupError,
)
from .._history import (
    DEFAULT_HISTORY_RETENTION,
    HistoryRetention,
    RunRecord,
    as_history_retention,
    run_record,
)
from .._structures import Job, JobResult, Schedule, ScheduleResult, Task
from ..abc import AsyncEventBroker, DataStore, EventBroker, Serializer
from ..events import (
    Event,
    JobAdded,
    JobReleased,
    JobRemoved,
    ScheduleAdded,
    ScheduleRemoved,
    ScheduleUpdated,
    TaskAdded,
    TaskRemoved,
    TaskUpdated,
)
from ..serializers.json import JSONSerializer
from ._codec import (
    SCHEDULE_COLUMNS,
    RowCodec,
    trigger_to_json,
)
from ._history_sqlite import prune_history, read_history, record_run
from ._lease_cleanup import release_expired_schedule_leases_sqlite
from ._row_positions import JobRow, TaskRow
from ._sqlite_connect import open_file
from ._sqlite_errors import SQLiteBusyError, SQLiteDiskFullError, translate_error
from ._sqlite_jobs import decode_jobs, finish_job, insert_result, lease_jobs
from ._sqlite_rows import fetch_one_changing, fetch_rows
from ._sqlite_schedules import decode_schedules, lease_schedules, release_leased_schedules
from ._sqlite_values import (
    J_COLS,
    R_COLS,
    S_COLS,
    T_COLS,
    datetime_from_db,
    datetime_to_db,
    ids_json,
    timedelta_from_db,
    timedelta_to_db,
)

__all__ = ["SQLiteDataStore", "SQLiteBusyError", "SQLiteDiskFullError"]

T = TypeVar("T")

_INSERT_SCHEDULE_IF_NEW = (
    f"INSERT INTO schedules ({S_COLS}) VALUES ({', '.join('?' * len(SCHEDULE_COLUMNS))}) "
    f"ON CONFLICT (id) DO NOTHING"
)


class SQLiteDataStore(DataStore):
    """Keeps tasks, schedules, jobs and results in one SQLite file.

    Several schedulers (kernels, scripts) on one machine may share the file: schedules and jobs
    are leased, so each fire of a schedule becomes one job. A scheduler notices changes made by
    another process within :attr:`poll_interval` seconds.

    :param path: the database file; created with permissions 0600 if missing (its directory
        must exist)
    :param serializer: for job arguments, return values and exceptions (default: JSON; pass a
        :class:`~nbsched.serializers.pickle.PickleSerializer` to store arbitrary objects, only
        for files nobody else can write to)
    :param synchronous: ``"NORMAL"`` (default) or ``"FULL"``. Both survive a crash or
        ``kill -9`` of any process with every committed change. On a power cut (or OS crash)
        ``NORMAL`` may roll back the last changes committed before it, while ``FULL`` keeps
        them at the cost of one ``fsync`` per change (about 10x slower to add schedules here);
        the file stays consistent either way
    :param busy_timeout: seconds to wait for another process's write lock before raising
        :class:`SQLiteBusyError` (which the scheduler retries with backoff)
    :param poll_interval: the longest a scheduler sleeps before looking at the file again, so
        changes made by other processes are picked up within this many seconds
    :param history_retention: how much run history the file keeps (see
        :class:`~nbsched.HistoryRetention`; an int ``n``: the last ``n`` runs per schedule;
        ``0``: none)
    :raises DataStoreError: from :meth:`start`, for a missing directory, a read-only,
        corrupt, truncated or foreign file, or one written by a newer nbsched (the file is then
        left exactly as it was)

    Example::

        from nbsched import Scheduler
        from nbsched.datastores.sqlite import SQLiteDataStore

        with Scheduler(SQLiteDataStore("schedules.db")) as scheduler:
            ...
    """

    temporary_errors = (SQLiteBusyError, SQLiteDiskFullError)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        serializer: Serializer | None = None,
        synchronous: str = "NORMAL",
        busy_timeout: float = 0.2,
        poll_interval: float = 1.0,
        history_retention: HistoryRetention | int = DEFAULT_HISTORY_RETENTION,
    ):
        self.history_retention = as_history_retention(history_retention)
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a file path, got {type(path).__name__} {path!r}")
        if str(path) in ("", ":memory:"):
            raise ValueError(
                f"path: {str(path)!r} is not a file; use MemoryDataStore for an in-memory store"
            )
        if serializer is None:
            serializer = JSONSerializer()
        elif not isinstance(serializer, Serializer):
            raise TypeError(f"serializer: expected a Serializer, got {serializer!r}")
        if not isinstance(synchronous, str) or synchronous.upper() not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous: {synchronous!r} is not 'FULL' or 'NORMAL'")
        for name, value in (("busy_timeout", busy_timeout), ("poll_interval", poll_interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name}: expected a number of seconds, got {value!r}")
        if busy_timeout < 0:
            raise ValueError(f"busy_timeout: {busy_timeout!r} is negative")
        if not poll_interval > 0:
            raise ValueError(f"poll_interval: {poll_interval!r} must be positive")
        self.path = Path(path)
        self.serializer = serializer
        self.synchronous = synchronous.upper()
        self.busy_timeout = float(busy_timeout)
        self.poll_interval = float(poll_interval)
        self._codec = RowCodec(
            serializer,
            datetime_to_db=datetime_to_db,
            datetime_from_db=datetime_from_db,
            timedelta_to_db=timedelta_to_db,
            timedelta_from_db=timedelta_from_db,
            uuid_to_db=str,
            uuid_from_db=UUID,
        )
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._publish: Callable[[Event], Any] = lambda event: None

    def __repr__(self) -> str:
        return f"SQLiteDataStore({str(self.path)!r})"

    # --- lifecycle ---

    def start(self, event_broker: EventBroker | AsyncEventBroker) -> None:
        """Open (or create) the file, checking it first; remember the broker."""
        with self._lock:
            if self._conn is not None:
                raise RuntimeError(f"{self!r} is already started")
            self._conn = open_file(self.path, self.busy_timeout, self.synchronous)
        if isinstance(event_broker, AsyncEventBroker):
            import anyio.from_thread

            # only valid when called from a worker thread of the broker's event loop
            broker = event_broker
            self._publish = lambda event: anyio.from_thread.run(broker.publish, event)
        else:
            self._publish = event_broker.publish

    def stop(self, *, force: bool = False) -> None:
        """Close the file. Calling it on a stopped store does nothing."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    # --- plumbing ---

    def _translate(self, exc: sqlite3.Error) -> DataStoreError:
        return translate_error(exc, f"SQLite data store {str(self.path)!r}")

    def _run(self, write: bool, body: Callable[[sqlite3.Connection, list[Event]], T]) -> T:
        """Run ``body`` in one transaction, then publish the events it collected."""
        events: list[Event] = []
        with self._lock:
            conn = self._conn
            if conn is None:
                raise DataStoreError(f"{self!r} is not started (call start() first)")
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = body(conn, events)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
        for event in events:
            self._publish(event)
        return result

    # --- tasks ---

    def add_task(self, task: Task) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"task: expected a Task, got {type(task).__name__}")
        row = self._codec.encode_task(task)

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            cursor = conn.execute(
                "UPDATE tasks SET func = ?, job_executor = ?, max_running_jobs = ?, "
                "misfire_grace_time = ?, metadata = ? WHERE id = ?",
                (
                    row[TaskRow.func],
                    row[TaskRow.job_executor],
                    row[TaskRow.max_running_jobs],
                    row[TaskRow.misfire_grace_time],
                    row[TaskRow.metadata],
                    task.id,
                ),
            )
            if cursor.rowcount:
                events.append(TaskUpdated(task_id=task.id))
            else:
                conn.execute(f"INSERT INTO tasks ({T_COLS}) VALUES (?, ?, ?, ?, ?, ?, 0)", row[:6])
                events.append(TaskAdded(task_id=task.id))

        self._run(True, body)

    def remove_task(self, task_id: str) -> None:
        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            if not conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,)).rowcount:
                raise TaskLookupError(task_id)
            events.append(TaskRemoved(task_id=task_id))

        self._run(True, body)

    def get_task(self, task_id: str) -> Task:
        rows = self._run(
            False,
            lambda conn, _: fetch_rows(
                conn, f"SELECT {T_COLS} FROM tasks WHERE id = ?", (task_id,)
            ),
        )
        if not rows:
            raise TaskLookupError(task_id)
        return self._codec.decode_task(rows[0])

    def get_tasks(self) -> list[Task]:
        rows = self._run(
            False,
            lambda conn, _: fetch_rows(conn, f"SELECT {T_COLS} FROM tasks ORDER BY id"),
        )
        return [self._codec.decode_task(row) for row in rows]

    # --- schedules ---

    def add_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule: expected a Schedule, got {type(schedule).__name__}")
        if not isinstance(conflict_policy, ConflictPolicy):
            raise TypeError(f"conflict_policy: expected a ConflictPolicy, got {conflict_policy!r}")
        if schedule.acquired_by is not None or schedule.acquired_until is not None:
            schedule = schedule.copy(acquired_by=None, acquired_until=None)
        row = self._codec.encode_schedule(schedule)

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            # one statement when the id is new (the common case)
            exists = not conn.execute(_INSERT_SCHEDULE_IF_NEW, row).rowcount
            if exists:
                if conflict_policy is ConflictPolicy.do_nothing:
                    return
                if conflict_policy is ConflictPolicy.exception:
                    raise ConflictingIdError(schedule.id)
                conn.execute("DELETE FROM schedules WHERE id = ?", (schedule.id,))
                conn.execute(_INSERT_SCHEDULE_IF_NEW, row)
            event_class = ScheduleUpdated if exists else ScheduleAdded
            events.append(
                event_class(
                    schedule_id=schedule.id,
                    task_id=schedule.task_id,
                    next_fire_time=schedule.next_fire_time,
                )
            )

        self._run(True, body)

    def remove_schedules(self, ids: Iterable[str], *, finished: bool = False) -> None:
        id_list = ids_json([ids] if isinstance(ids, str) else ids)

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            rows = conn.execute(
                "DELETE FROM schedules WHERE id IN (SELECT value FROM json_each(?)) "
                "RETURNING id, task_id",
                (id_list,),
            ).fetchall()
            for schedule_id, task_id in sorted(rows):
                events.append(
                    ScheduleRemoved(schedule_id=schedule_id, task_id=task_id, finished=finished)
                )

        self._run(True, body)

    def get_schedules(self, ids: Iterable[str] | None = None) -> list[Schedule]:
        def body(conn: sqlite3.Connection, events: list[Event]) -> list[Schedule]:
            if ids is None:
                rows = fetch_rows(conn, f"SELECT {S_COLS} FROM schedules ORDER BY id")
            else:
                rows = fetch_rows(
                    conn,
                    f"SELECT {S_COLS} FROM schedules WHERE id IN "
                    f"(SELECT value FROM json_each(?)) ORDER BY id",
                    (ids_json([ids] if isinstance(ids, str) else ids),),
                )
            return decode_schedules(self._codec, rows, events)

        return self._run(False, body)

    def acquire_schedules(
        self, scheduler_id: str, lease_duration: timedelta, limit: int, now: datetime
    ) -> list[Schedule]:
        if limit <= 0:
            return []
        until = now + lease_duration
        codec = self._codec
        return self._run(
            True,
            lambda conn, events: lease_schedules(
                conn, events, codec, scheduler_id, limit, now, until
            ),
        )

    def release_schedules(self, scheduler_id: str, results: Iterable[ScheduleResult]) -> None:
        codec = self._codec
        prepared = [
            (
                result.schedule_id,
                None
                if result.next_fire_time is None
                else (
                    trigger_to_json(result.trigger, schedule_id=result.schedule_id),
                    codec.opt_dt_to_db(result.last_fire_time),
                    datetime_to_db(result.next_fire_time),
                ),
                result.next_fire_time,
            )
            for result in results
        ]

        self._run(
            True,
            lambda conn, events: release_leased_schedules(conn, events, scheduler_id, prepared),
        )

    def get_next_schedule_run_time(self) -> datetime | None:
        # A leased schedule counts from just after its lease ends (it may be taken over
        # then), so schedules held by another process never make this scheduler spin.
        row = self._run(
            False,
            lambda conn, _: conn.execute(
                "SELECT min(CASE WHEN acquired_until >= next_fire_time THEN acquired_until + 1 "
                "ELSE next_fire_time END) FROM schedules "
                "WHERE paused = 0 AND next_fire_time IS NOT NULL"
            ).fetchone(),
        )
        return None if row[0] is None else datetime_from_db(row[0])

    # --- jobs ---

    def add_job(self, job: Job) -> None:
        """Store a job. A second job for the same fire of the same schedule (same
        ``schedule_id`` and ``scheduled_fire_time``) while the first is still stored is
        dropped: a schedule processed twice (its lease expired mid-way) makes one job per fire."""
        if not isinstance(job, Job):
            raise TypeError(f"job: expected a Job, got {type(job).__name__}")
        if job.acquired_by is not None or job.acquired_until is not None:
            job = job.copy(acquired_by=None, acquired_until=None)
        row = self._codec.encode_job(job)

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            try:
                conn.execute(
                    f"INSERT INTO jobs ({J_COLS}) VALUES ({', '.join('?' * len(row))})", row
                )
            except sqlite3.IntegrityError as exc:
                if "jobs.id" in str(exc):
                    raise ValueError(f"job: a job with id {job.id} is already stored") from None
                return  # this fire of the schedule already has its job
            events.append(
                JobAdded(job_id=job.id, task_id=job.task_id, schedule_id=job.schedule_id)
            )

        self._run(True, body)

    def get_jobs(self, ids: Iterable[UUID] | None = None) -> list[Job]:
        def body(conn: sqlite3.Connection, events: list[Event]) -> list[Job]:
            if ids is None:
                rows = fetch_rows(conn, f"SELECT {J_COLS} FROM jobs ORDER BY created_at, seq")
            else:
                rows = fetch_rows(
                    conn,
                    f"SELECT {J_COLS} FROM jobs WHERE id IN (SELECT value FROM json_each(?)) "
                    f"ORDER BY created_at, seq",
                    (ids_json(ids),),
                )
            return decode_jobs(self._codec, rows, events)

        return self._run(False, body)

    def acquire_jobs(
        self, scheduler_id: str, lease_duration: timedelta, limit: int | None, now: datetime
    ) -> list[Job]:
        if limit is not None and limit <= 0:
            return []
        until, codec, history = now + lease_duration, self._codec, self.history_retention
        return self._run(
            True,
            lambda conn, events: lease_jobs(
                conn, events, codec, scheduler_id, limit, now, until, history
            ),
        )

    def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
        job_id = str(job.id)
        result_row = (
            self._codec.encode_job_result(result)
            if result.expires_at > result.finished_at
            else None
        )
        history = self.history_retention

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            row = conn.execute(
                "SELECT task_id, acquired_by, schedule_id, scheduled_fire_time FROM jobs "
                "WHERE id = ?",
                (job_id,),
            ).fetchone()
            if row is None:
                return  # given up on (abandoned)
            task_id, acquired_by, schedule_id, fire_time = row
            if acquired_by != scheduler_id:
                return  # taken over by another scheduler
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            conn.execute(
                "UPDATE tasks SET running_jobs = max(running_jobs - 1, 0) WHERE id = ?", (task_id,)
            )
            if result_row is not None:
                insert_result(conn, result_row, schedule_id, fire_time)
            if history is not None:
                record_run(conn, run_record(job, result, scheduler_id), history)
            events.append(JobRemoved(job_id=job.id, task_id=task_id))

        self._run(True, body)

    def get_job_result(self, job_id: UUID) -> JobResult | None:
        row = self._run(
            True,
            lambda conn, _: fetch_one_changing(
                conn,
                f"DELETE FROM job_results WHERE job_id = ? RETURNING {R_COLS}",
                (str(job_id),),
            ),
        )
        return None if row is None else self._codec.decode_job_result(row)

    # --- leases and housekeeping ---

    def extend_acquired_schedule_leases(
        self, scheduler_id: str, schedule_ids: set[str], duration: timedelta, now: datetime
    ) -> None:
        self._extend("schedules", scheduler_id, schedule_ids, now + duration)

    def extend_acquired_job_leases(
        self, scheduler_id: str, job_ids: set[UUID], duration: timedelta, now: datetime
    ) -> None:
        self._extend("jobs", scheduler_id, job_ids, now + duration)

    def _extend(self, table: str, scheduler_id: str, ids: Iterable[Any], until: datetime) -> None:
        id_list = ids_json(ids)
        if id_list == "[]":
            return
        until_db = datetime_to_db(until)
        self._run(
            True,
            lambda conn, _: conn.execute(
                f"UPDATE {table} SET acquired_until = ? WHERE acquired_by = ? "
                f"AND id IN (SELECT value FROM json_each(?))",
                (until_db, scheduler_id, id_list),
            ),
        )

    def cleanup(self, now: datetime) -> None:
        now_db = datetime_to_db(now)

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            conn.execute("DELETE FROM job_results WHERE expires_at <= ?", (now_db,))
            prune_history(conn, now, self.history_retention)
            events.extend(release_expired_schedule_leases_sqlite(conn, now_db, datetime_from_db))
            rows = conn.execute(
                f"SELECT {J_COLS} FROM jobs WHERE acquired_by IS NOT NULL "
                f"AND acquired_until < ? ORDER BY created_at, seq",
                (now_db,),
            ).fetchall()
            for row in rows:
                scheduler_id = row[JobRow.acquired_by]
                finish_job(conn, self._codec, row, True, JobOutcome.abandoned, now, scheduler_id)
                job_id = UUID(row[JobRow.id])
                task_id = row[JobRow.task_id]
                events.append(JobRemoved(job_id=job_id, task_id=task_id))
                fire_time = self._codec.opt_dt_from_db(row[JobRow.scheduled_fire_time])
                jitter = timedelta(microseconds=row[JobRow.jitter])
                started_at = self._codec.opt_dt_from_db(row[JobRow.started_at])
                if self.history_retention is not None:
                    record = RunRecord(
                        job_id=job_id,
                        schedule_id=row[JobRow.schedule_id],
                        task_id=task_id,
                        fire_time=fire_time,
                        started_at=started_at,
                        finished_at=now,
                        outcome=JobOutcome.abandoned,
                        scheduler_id=scheduler_id,
                    )
                    record_run(conn, record, self.history_retention)
                events.append(
                    JobReleased(
                        job_id=job_id,
                        scheduler_id=scheduler_id,
                        task_id=task_id,
                        schedule_id=row[JobRow.schedule_id],
                        scheduled_start=None if fire_time is None else fire_time + jitter,
                        started_at=started_at,
                        finished_at=now,
                        outcome=JobOutcome.abandoned,
                    )
                )

        self._run(True, body)

    # --- run history ---

    def get_run_history(
        self, schedule_id: str | None = None, since: datetime | None = None
    ) -> list[RunRecord]:
        return self._run(False, lambda conn, _: read_history(conn, schedule_id, since))
