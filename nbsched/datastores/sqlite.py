"""The SQLite data store: schedules in one file, shared by several kernels, safe under kill -9.

Built on the standard library's :mod:`sqlite3` in WAL mode. Each store operation is one
transaction; writes start with ``BEGIN IMMEDIATE`` so that acquiring a lease is atomic across
every process using the file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from .._enums import ConflictPolicy, JobOutcome
from .._exceptions import (
    ConflictingIdError,
    DataStoreError,
    DeserializationError,
    TaskLookupError,
)
from .._structures import Job, JobResult, Schedule, ScheduleResult, Task
from ..abc import AsyncEventBroker, DataStore, EventBroker, Serializer
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
from ..serializers.json import JSONSerializer
from ._codec import (
    JOB_COLUMNS,
    JOB_RESULT_COLUMNS,
    SCHEDULE_COLUMNS,
    TASK_COLUMNS,
    RowCodec,
    row_label,
    trigger_to_json,
)
from ._lease_cleanup import release_expired_schedule_leases_sqlite
from ._sqlite_errors import SQLiteDiskFullError, disk_full_error
from ._sqlite_rows import fetch_one_changing, fetch_rows, iter_rows
from ._sqlite_schema import add_missing_indexes, check_existing, create_schema, prepare_file

__all__ = ["SQLiteDataStore", "SQLiteBusyError", "SQLiteDiskFullError"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# sqlite3 primary result codes
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 8, 11, 26


def _datetime_to_db(value: datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} is a naive datetime; the data store needs aware ones")
    return (value - _EPOCH) // _MICROSECOND


def _datetime_from_db(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _timedelta_to_db(value: timedelta) -> int:
    return value // _MICROSECOND


def _timedelta_from_db(value: int) -> timedelta:
    return timedelta(microseconds=value)


def _job_uuid(value: Any) -> UUID:
    """A job row's id, or the nil UUID if the stored id is damaged."""
    try:
        return UUID(value)
    except (TypeError, ValueError, AttributeError):
        return UUID(int=0)


def _ids_json(ids: Iterable[Any]) -> str:
    return json.dumps([str(i) for i in ids])


class SQLiteBusyError(DataStoreError):
    """The database file was locked by another connection for longer than ``busy_timeout``.

    Temporary: the scheduler retries the operation (see ``SQLiteDataStore.temporary_errors``).
    """


_S_COLS = ", ".join(SCHEDULE_COLUMNS)
_J_COLS = ", ".join(JOB_COLUMNS)
_T_COLS = ", ".join(TASK_COLUMNS)
_R_COLS = ", ".join(JOB_RESULT_COLUMNS)
# (ON CONFLICT names the id: any other constraint still fails, unlike INSERT OR IGNORE)
_INSERT_SCHEDULE_IF_NEW = (
    f"INSERT INTO schedules ({_S_COLS}) VALUES ({', '.join('?' * len(SCHEDULE_COLUMNS))}) "
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
    ):
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
            datetime_to_db=_datetime_to_db,
            datetime_from_db=_datetime_from_db,
            timedelta_to_db=_timedelta_to_db,
            timedelta_from_db=_timedelta_from_db,
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
            self._conn = self._open()
        if isinstance(event_broker, AsyncEventBroker):
            import anyio.from_thread

            # only valid when called from a worker thread of the broker's event loop
            broker = event_broker
            self._publish = lambda event: anyio.from_thread.run(broker.publish, event)
        else:
            self._publish = event_broker.publish

    def _open(self) -> sqlite3.Connection:
        is_new = prepare_file(self.path)
        if not is_new:
            check_existing(self.path)
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise DataStoreError(
                    f"SQLite data store {str(self.path)!r}: cannot switch the file to WAL mode "
                    f"(it stays in {mode!r} mode; is it on a network file system?)"
                )
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            if is_new and not create_schema(conn):
                check_existing(self.path)  # another process created it meanwhile
            add_missing_indexes(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def stop(self, *, force: bool = False) -> None:
        """Close the file. Calling it on a stopped store does nothing."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    # --- plumbing ---

    def _translate(self, exc: sqlite3.Error) -> DataStoreError:
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        message = str(exc)
        where = f"SQLite data store {str(self.path)!r}"
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in message:
            return SQLiteBusyError(
                f"{where}: the file is locked by another connection ({message}); try again"
            )
        full = disk_full_error(exc, where)
        if full is not None:
            return full
        if code == _SQLITE_READONLY:
            return DataStoreError(f"{where}: the file cannot be written to ({message})")
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return DataStoreError(f"{where}: the file is corrupt ({message})")
        return DataStoreError(f"{where}: {message}")

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

    def _decode_schedules(self, rows: list[Any], events: list[Event]) -> list[Schedule]:
        schedules = []
        for row in rows:
            try:
                schedules.append(self._codec.decode_schedule(row))
            except DeserializationError as exc:
                events.append(
                    ScheduleDeserializationFailed(
                        schedule_id=row_label(row[0]), exception=str(exc)
                    )
                )
        return schedules

    # --- tasks ---

    def add_task(self, task: Task) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"task: expected a Task, got {type(task).__name__}")
        row = self._codec.encode_task(task)

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            cursor = conn.execute(
                "UPDATE tasks SET func = ?, job_executor = ?, max_running_jobs = ?, "
                "misfire_grace_time = ?, metadata = ? WHERE id = ?",
                (*row[1:6], task.id),
            )
            if cursor.rowcount:
                events.append(TaskUpdated(task_id=task.id))
            else:
                conn.execute(
                    f"INSERT INTO tasks ({_T_COLS}) VALUES (?, ?, ?, ?, ?, ?, 0)", row[:6]
                )
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
                conn, f"SELECT {_T_COLS} FROM tasks WHERE id = ?", (task_id,)
            ),
        )
        if not rows:
            raise TaskLookupError(task_id)
        return self._codec.decode_task(rows[0])

    def get_tasks(self) -> list[Task]:
        rows = self._run(
            False,
            lambda conn, _: fetch_rows(conn, f"SELECT {_T_COLS} FROM tasks ORDER BY id"),
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
        ids_json = _ids_json([ids] if isinstance(ids, str) else ids)

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            rows = conn.execute(
                "DELETE FROM schedules WHERE id IN (SELECT value FROM json_each(?)) "
                "RETURNING id, task_id",
                (ids_json,),
            ).fetchall()
            for schedule_id, task_id in sorted(rows):
                events.append(
                    ScheduleRemoved(schedule_id=schedule_id, task_id=task_id, finished=finished)
                )

        self._run(True, body)

    def get_schedules(self, ids: Iterable[str] | None = None) -> list[Schedule]:
        def body(conn: sqlite3.Connection, events: list[Event]) -> list[Schedule]:
            if ids is None:
                rows = fetch_rows(conn, f"SELECT {_S_COLS} FROM schedules ORDER BY id")
            else:
                rows = fetch_rows(
                    conn,
                    f"SELECT {_S_COLS} FROM schedules WHERE id IN "
                    f"(SELECT value FROM json_each(?)) ORDER BY id",
                    (_ids_json([ids] if isinstance(ids, str) else ids),),
                )
            return self._decode_schedules(rows, events)

        return self._run(False, body)

    def acquire_schedules(
        self, scheduler_id: str, lease_duration: timedelta, limit: int, now: datetime
    ) -> list[Schedule]:
        if limit <= 0:
            return []
        now_db = _datetime_to_db(now)
        until = now + lease_duration
        until_db = _datetime_to_db(until)

        def body(conn: sqlite3.Connection, events: list[Event]) -> list[Schedule]:
            rows = fetch_rows(
                conn,
                f"SELECT {_S_COLS} FROM schedules WHERE paused = 0 AND next_fire_time <= ? "
                f"AND (acquired_until IS NULL OR acquired_until < ?) "
                f"ORDER BY next_fire_time, id LIMIT ?",
                (now_db, now_db, limit),
            )
            if not rows:
                return []
            # Rows that fail to decode stay leased too: they are retried (and reported again)
            # only when this lease expires, instead of on every pass.
            conn.execute(
                "UPDATE schedules SET acquired_by = ?, acquired_until = ? "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (scheduler_id, until_db, _ids_json(row[0] for row in rows)),
            )
            for raw_id in (row[0] for row in rows if not isinstance(row[0], str)):
                conn.execute(  # an id that is not valid text (a flipped bit) is leased too
                    "UPDATE schedules SET acquired_by = ?, acquired_until = ? "
                    "WHERE CAST(id AS BLOB) = ?",
                    (scheduler_id, until_db, raw_id),
                )
            schedules = self._decode_schedules(rows, events)
            for schedule in schedules:
                schedule.acquired_by = scheduler_id
                schedule.acquired_until = until
            return schedules

        return self._run(True, body)

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
                    _datetime_to_db(result.next_fire_time),
                ),
                result.next_fire_time,
            )
            for result in results
        ]

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            for schedule_id, values, next_fire_time in prepared:
                if values is None:
                    row = conn.execute(
                        "DELETE FROM schedules WHERE id = ? AND acquired_by = ? RETURNING task_id",
                        (schedule_id, scheduler_id),
                    ).fetchone()
                    if row is not None:
                        events.append(
                            ScheduleRemoved(schedule_id=schedule_id, task_id=row[0], finished=True)
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
                    events.append(
                        ScheduleUpdated(
                            schedule_id=schedule_id, task_id=row[0], next_fire_time=next_fire_time
                        )
                    )

        self._run(True, body)

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
        return None if row[0] is None else _datetime_from_db(row[0])

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
                    f"INSERT INTO jobs ({_J_COLS}) VALUES ({', '.join('?' * len(row))})", row
                )
            except sqlite3.IntegrityError as exc:
                if "jobs.id" in str(exc):
                    raise ValueError(f"job: a job with id {job.id} is already stored") from None
                return  # this fire of the schedule already has its job
            events.append(
                JobAdded(job_id=job.id, task_id=job.task_id, schedule_id=job.schedule_id)
            )

        self._run(True, body)

    def _decode_jobs(self, rows: list[Any], events: list[Event]) -> list[Job]:
        jobs = []
        for row in rows:
            try:
                jobs.append(self._codec.decode_job(row))
            except DeserializationError as exc:
                events.append(
                    JobDeserializationFailed(job_id=_job_uuid(row[0]), exception=str(exc))
                )
        return jobs

    def get_jobs(self, ids: Iterable[UUID] | None = None) -> list[Job]:
        def body(conn: sqlite3.Connection, events: list[Event]) -> list[Job]:
            if ids is None:
                rows = fetch_rows(conn, f"SELECT {_J_COLS} FROM jobs ORDER BY created_at, seq")
            else:
                rows = fetch_rows(
                    conn,
                    f"SELECT {_J_COLS} FROM jobs WHERE id IN (SELECT value FROM json_each(?)) "
                    f"ORDER BY created_at, seq",
                    (_ids_json(ids),),
                )
            return self._decode_jobs(rows, events)

        return self._run(False, body)

    def acquire_jobs(
        self, scheduler_id: str, lease_duration: timedelta, limit: int | None, now: datetime
    ) -> list[Job]:
        if limit is not None and limit <= 0:
            return []
        now_db = _datetime_to_db(now)
        until = now + lease_duration
        until_db = _datetime_to_db(until)
        codec = self._codec

        def body(conn: sqlite3.Connection, events: list[Event]) -> list[Job]:
            room: dict[str, int] = {
                task_id: max_running - running
                for task_id, max_running, running in conn.execute(
                    "SELECT id, max_running_jobs, running_jobs FROM tasks "
                    "WHERE max_running_jobs IS NOT NULL"
                )
            }
            rows = iter_rows(
                conn,
                f"SELECT {_J_COLS} FROM jobs WHERE acquired_until IS NULL OR acquired_until < ? "
                f"ORDER BY created_at, seq",
                (now_db,),
            )
            acquired: list[Job] = []
            added: dict[str, int] = {}
            failed: list[tuple[Any, ...]] = []
            for row in rows:
                if limit is not None and len(acquired) >= limit:
                    break
                task_id = row[1]
                # An expired lease (its scheduler died) is taken over: that job is already
                # counted in running_jobs, so it needs no free slot.
                taken_over = row[11] is not None
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
                    (scheduler_id, until_db, _ids_json(job.id for job in acquired)),
                )
                conn.executemany(
                    "UPDATE tasks SET running_jobs = running_jobs + ? WHERE id = ?",
                    [(count, task_id) for task_id, count in added.items()],
                )
            for row, taken_over, message in failed:
                self._finish_job(
                    conn, row, taken_over, JobOutcome.deserialization_failed, now, scheduler_id
                )
                events.append(
                    JobDeserializationFailed(job_id=_job_uuid(row[0]), exception=message)
                )
            return acquired

        return self._run(True, body)

    def _finish_job(
        self,
        conn: sqlite3.Connection,
        row: tuple[Any, ...],
        counted: bool,
        outcome: JobOutcome,
        now: datetime,
        scheduler_id: str | None,
    ) -> None:
        """Remove a job row that will never run, keeping a result for it if one is wanted."""
        conn.execute("DELETE FROM jobs WHERE id = ?", (row[0],))
        if counted:
            conn.execute(
                "UPDATE tasks SET running_jobs = max(running_jobs - 1, 0) WHERE id = ?", (row[1],)
            )
        try:
            job_id, expiration = UUID(row[0]), timedelta(microseconds=row[8])
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
            self._insert_result(conn, self._codec.encode_job_result(result), row[4], row[5])

    @staticmethod
    def _insert_result(
        conn: sqlite3.Connection, row: tuple[Any, ...], schedule_id: Any, fire_time: Any
    ) -> None:
        conn.execute(
            f"INSERT OR REPLACE INTO job_results ({_R_COLS}, schedule_id, scheduled_fire_time) "
            f"VALUES ({', '.join('?' * (len(row) + 2))})",
            (*row, schedule_id, fire_time),
        )

    def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
        job_id = str(job.id)
        result_row = (
            self._codec.encode_job_result(result)
            if result.expires_at > result.finished_at
            else None
        )

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            row = conn.execute(
                "SELECT task_id, acquired_by, schedule_id, scheduled_fire_time FROM jobs "
                "WHERE id = ?",
                (job_id,),
            ).fetchone()
            if row is None or row[1] != scheduler_id:
                return  # given up on (abandoned), or taken over by another scheduler
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            conn.execute(
                "UPDATE tasks SET running_jobs = max(running_jobs - 1, 0) WHERE id = ?", (row[0],)
            )
            if result_row is not None:
                self._insert_result(conn, result_row, row[2], row[3])
            events.append(JobRemoved(job_id=job.id, task_id=row[0]))

        self._run(True, body)

    def get_job_result(self, job_id: UUID) -> JobResult | None:
        row = self._run(
            True,
            lambda conn, _: fetch_one_changing(
                conn,
                f"DELETE FROM job_results WHERE job_id = ? RETURNING {_R_COLS}",
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
        ids_json = _ids_json(ids)
        if ids_json == "[]":
            return
        until_db = _datetime_to_db(until)
        self._run(
            True,
            lambda conn, _: conn.execute(
                f"UPDATE {table} SET acquired_until = ? WHERE acquired_by = ? "
                f"AND id IN (SELECT value FROM json_each(?))",
                (until_db, scheduler_id, ids_json),
            ),
        )

    def cleanup(self, now: datetime) -> None:
        now_db = _datetime_to_db(now)

        def body(conn: sqlite3.Connection, events: list[Event]) -> None:
            conn.execute("DELETE FROM job_results WHERE expires_at <= ?", (now_db,))
            events.extend(release_expired_schedule_leases_sqlite(conn, now_db, _datetime_from_db))
            rows = conn.execute(
                f"SELECT {_J_COLS} FROM jobs WHERE acquired_by IS NOT NULL "
                f"AND acquired_until < ? ORDER BY created_at, seq",
                (now_db,),
            ).fetchall()
            for row in rows:
                self._finish_job(conn, row, True, JobOutcome.abandoned, now, row[11])
                job_id = UUID(row[0])
                events.append(JobRemoved(job_id=job_id, task_id=row[1]))
                fire_time = self._codec.opt_dt_from_db(row[5])
                jitter = timedelta(microseconds=row[6])
                events.append(
                    JobReleased(
                        job_id=job_id,
                        scheduler_id=row[11],
                        task_id=row[1],
                        schedule_id=row[4],
                        scheduled_start=None if fire_time is None else fire_time + jitter,
                        started_at=self._codec.opt_dt_from_db(row[13]),
                        finished_at=now,
                        outcome=JobOutcome.abandoned,
                    )
                )

        self._run(True, body)
