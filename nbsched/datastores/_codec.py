"""Turning tasks, schedules, jobs and job results into database rows and back.

Shared by the SQL data stores (SQLite, PostgreSQL): the store decides how a datetime, a
timedelta and a UUID are written (through the ``*_to_db``/``*_from_db`` hooks) and the codec does
the rest:

* a trigger becomes JSON text ``{"type": "module:Class", "state": {...}}`` (its
  ``__getstate__``), never pickled code;
* a task's function becomes its import reference (``"package.module:function"``); reading a
  task gives that string back, so reading never imports or runs user code;
* args, kwargs, return values and exceptions go through the :class:`~nbsched.abc.Serializer`
  (JSON by default);
* metadata is plain JSON text; enums are stored by value.

Rows are tuples in the column order of the ``*_COLUMNS`` constants of
:mod:`._row_positions`, and are read by name (``row[JobRow.task_id]``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import MethodType
from typing import Any
from uuid import UUID

from .._enums import CoalescePolicy, JobOutcome
from .._exceptions import DeserializationError, SerializationError
from .._marshalling import (
    callable_to_ref,
    clone_trigger,
    clones_cheaply,
    trigger_from_state,
    trigger_to_state,
)
from .._structures import Job, JobResult, Schedule, Task
from ..abc import Serializer, Trigger
from ._row_positions import JOB_COLUMNS as JOB_COLUMNS
from ._row_positions import JOB_RESULT_COLUMNS as JOB_RESULT_COLUMNS
from ._row_positions import SCHEDULE_COLUMNS as SCHEDULE_COLUMNS
from ._row_positions import TASK_COLUMNS as TASK_COLUMNS
from ._row_positions import JobResultRow, JobRow, ScheduleRow, TaskRow


def _opt(decode: Callable[[Any], Any], value: Any) -> Any:
    """``decode(value)``, or ``None`` for a NULL column."""
    return None if value is None else decode(value)


def _same(value: Any) -> Any:
    return value


class RowDecodeError(DeserializationError):
    """A stored row cannot be turned back into its object.

    :ivar row_id: the row's id as readable text (undecodable bytes shown as escapes)
    :ivar column: the column whose value is at fault
    """

    def __init__(self, kind: str, row_id: Any, column: str, value: Any, reason: BaseException):
        self.row_id = row_label(row_id)
        self.column = column
        if isinstance(reason, DeserializationError):
            why = str(reason)
        else:
            why = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
        super().__init__(
            f"cannot restore {kind} {self.row_id!r}: column {column!r} holds "
            f"{_shorten(value)} ({why})"
        )


def row_label(value: Any) -> str:
    """A row id as text, whatever was stored (bytes that are not UTF-8 appear as escapes)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    return str(value)


def _shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:117]}..."


def _text(value: Any) -> str:
    if type(value) is not str:
        if isinstance(value, bytes):
            try:
                value.decode()
            except UnicodeDecodeError:
                raise ValueError("text that is not valid UTF-8") from None
            raise TypeError("bytes (a BLOB) where text belongs")
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _opt_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _flag(value: Any) -> bool:
    if value not in (0, 1) or type(value) not in (bool, int):
        raise ValueError("expected a boolean (0 or 1)")
    return bool(value)


def _checked_timedelta(value: Any) -> timedelta:
    if type(value) is not timedelta:
        raise TypeError(f"expected a time interval, got {type(value).__name__}")
    return value


def _json_object(value: Any) -> dict[str, Any]:
    data = json.loads(_text(value))
    if type(data) is not dict:
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    return data


def func_to_ref(func: Any) -> str | None:
    """Return what is stored for ``Task.func``: its import reference, or ``None``."""
    if func is None or isinstance(func, str):
        return func
    if not callable(func):
        raise TypeError(f"func: expected a callable or an import reference, got {func!r:.100}")
    try:
        return callable_to_ref(func)
    except ValueError as exc:
        if isinstance(func, MethodType) and not isinstance(func.__self__, type):
            reason = "it is bound to an object, which an import path cannot carry"
        else:
            reason = "it has no import path (lambdas and nested functions have none)"
        raise SerializationError(
            f"func: {func!r:.100} cannot be stored in a persistent data store: {reason}; "
            f"define a function at module level (an object it needs can go in args) or pass "
            f"an import reference such as 'package.module:function'"
        ) from exc


def trigger_to_json(trigger: Trigger, *, schedule_id: str = "?") -> str:
    """Return the JSON text stored for ``trigger``."""
    if not isinstance(trigger, Trigger):
        raise TypeError(
            f"trigger: schedule {schedule_id!r} has {trigger!r:.100}, which is not a Trigger"
        )
    try:
        state = trigger_to_state(trigger)
    except ValueError as exc:
        raise SerializationError(
            f"trigger: {type(trigger).__qualname__} of schedule {schedule_id!r} has no import "
            f"path, so it cannot be stored; define the trigger class at module level"
        ) from exc
    try:
        text = json.dumps(state, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"trigger: the state of {state['type']} (schedule {schedule_id!r}) is not plain "
            f"JSON data ({exc}); __getstate__ must return dicts, lists, str, int, float, bool "
            f"or None"
        ) from exc
    if clones_cheaply(type(trigger)):
        if len(_written) >= _WRITTEN_LIMIT:
            _written.clear()
        _written[text] = clone_trigger(trigger)
    return text


#: text written by trigger_to_json -> a private copy of the trigger it was written from, for
#: the built-in triggers (cloned without a state round trip). A schedule's row is usually read
#: back by the process that wrote it, at its next fire: cloning that copy costs a fraction of
#: parsing and restoring the text, and gives the trigger the text describes (a clone keeps the
#: search shortcuts a restored trigger rebuilds). Bounded: cleared when full.
_written: dict[str, Trigger] = {}
_WRITTEN_LIMIT = 1024


def trigger_from_json(text: str) -> Trigger:
    """Rebuild a trigger from :func:`trigger_to_json`'s text (imports nothing: see
    :func:`~nbsched._marshalling.stored_class`)."""
    written = _written.get(text) if type(text) is str else None
    if written is not None:
        return clone_trigger(written)
    try:
        return trigger_from_state(json.loads(_text(text)), fresh=True)
    except Exception as exc:
        raise DeserializationError(
            f"cannot restore the trigger: {type(exc).__name__}: {exc}"
        ) from exc


def metadata_to_json(metadata: Any, *, owner: str) -> str:
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata: {owner} has {metadata!r:.100}; expected a dict")
    if not metadata:
        return "{}"
    try:
        return json.dumps(metadata, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"metadata: {owner} has metadata that is not plain JSON data: {exc}"
        ) from exc


class RowCodec:
    """Encodes and decodes the domain objects of :mod:`nbsched._structures` as row tuples.

    :param serializer: for args, kwargs, return values and exceptions
    :param datetime_to_db: how an aware datetime is written (default: unchanged)
    :param datetime_from_db: how it is read back (must return an aware datetime)
    :param timedelta_to_db: how a timedelta is written
    :param timedelta_from_db: how it is read back
    :param uuid_to_db: how a UUID is written
    :param uuid_from_db: how it is read back
    """

    def __init__(
        self,
        serializer: Serializer,
        *,
        datetime_to_db: Callable[[datetime], Any] = _same,
        datetime_from_db: Callable[[Any], datetime] = _same,
        timedelta_to_db: Callable[[timedelta], Any] = _same,
        timedelta_from_db: Callable[[Any], timedelta] = _checked_timedelta,
        uuid_to_db: Callable[[UUID], Any] = _same,
        uuid_from_db: Callable[[Any], UUID] = _same,
    ):
        self.serializer = serializer
        self.dt_to_db = datetime_to_db
        self.dt_from_db = datetime_from_db
        self.td_to_db = timedelta_to_db
        self.td_from_db = timedelta_from_db
        self.uuid_to_db = uuid_to_db
        self.uuid_from_db = uuid_from_db
        # what the serializer made of an empty tuple / dict (most schedules' args and kwargs)
        self._empty_blobs: dict[type, bytes] = {}

    # --- small helpers ---

    def opt_dt_to_db(self, value: datetime | None) -> Any:
        return None if value is None else self.dt_to_db(value)

    def opt_dt_from_db(self, value: Any) -> datetime | None:
        return None if value is None else self.dt_from_db(value)

    def _opt_td_to_db(self, value: timedelta | None) -> Any:
        return None if value is None else self.td_to_db(value)

    def _opt_td_from_db(self, value: Any) -> timedelta | None:
        return None if value is None else self.td_from_db(value)

    def _serialize(self, value: Any, what: str) -> bytes:
        empty = not value and type(value) in (tuple, dict)
        if empty and type(value) in self._empty_blobs:
            return self._empty_blobs[type(value)]
        try:
            blob = self.serializer.serialize(value)
        except SerializationError as exc:
            raise SerializationError(f"{what}: {exc}") from exc
        if empty:
            self._empty_blobs[type(value)] = blob
        return blob

    # --- tasks ---

    def encode_task(self, task: Task) -> tuple[Any, ...]:
        return (
            task.id,
            func_to_ref(task.func),
            task.job_executor,
            task.max_running_jobs,
            self._opt_td_to_db(task.misfire_grace_time),
            metadata_to_json(task.metadata, owner=f"task {task.id!r}"),
            task.running_jobs,
        )

    def decode_task(self, row: Sequence[Any]) -> Task:
        """Rebuild a task; raises :class:`RowDecodeError` naming the bad column."""
        column = TaskRow.id
        try:
            task = Task(
                id=_text(row[TaskRow.id]),
                func=_opt_text(row[(column := TaskRow.func)]),
                job_executor=_text(row[(column := TaskRow.job_executor)]),
                max_running_jobs=_opt_int(row[(column := TaskRow.max_running_jobs)]),
                misfire_grace_time=self._opt_td_from_db(
                    row[(column := TaskRow.misfire_grace_time)]
                ),
                metadata=_json_object(row[(column := TaskRow.metadata)]),
                running_jobs=_int(row[(column := TaskRow.running_jobs)]),
            )
        except Exception as exc:
            raise RowDecodeError(
                "task", row[TaskRow.id], TASK_COLUMNS[column], row[column], exc
            ) from exc
        return task

    # --- schedules ---

    def encode_schedule(self, schedule: Schedule) -> tuple[Any, ...]:
        owner = f"schedule {schedule.id!r}"
        return (
            schedule.id,
            schedule.task_id,
            trigger_to_json(schedule.trigger, schedule_id=schedule.id),
            self._serialize(tuple(schedule.args), f"args of {owner}"),
            self._serialize(dict(schedule.kwargs), f"kwargs of {owner}"),
            bool(schedule.paused),
            CoalescePolicy(schedule.coalesce).value,
            self._opt_td_to_db(schedule.misfire_grace_time),
            self._opt_td_to_db(schedule.max_jitter),
            self.td_to_db(schedule.job_result_expiration_time),
            metadata_to_json(schedule.metadata, owner=owner),
            self.opt_dt_to_db(schedule.next_fire_time),
            self.opt_dt_to_db(schedule.last_fire_time),
            schedule.acquired_by,
            self.opt_dt_to_db(schedule.acquired_until),
        )

    def decode_schedule(self, row: Sequence[Any]) -> Schedule:
        """Rebuild a schedule; raises :class:`RowDecodeError` (a
        :class:`~nbsched.DeserializationError`) naming the bad column if it can't be."""
        # ``column`` follows the conversion under way, so a failure names its column
        column = ScheduleRow.id
        try:
            schedule = Schedule(
                id=_text(row[ScheduleRow.id]),
                task_id=_text(row[(column := ScheduleRow.task_id)]),
                trigger=trigger_from_json(row[(column := ScheduleRow.trigger)]),
                args=self._args(row[(column := ScheduleRow.args)]),
                kwargs=self._kwargs(row[(column := ScheduleRow.kwargs)]),
                paused=_flag(row[(column := ScheduleRow.paused)]),
                coalesce=CoalescePolicy(_text(row[(column := ScheduleRow.coalesce)])),
                misfire_grace_time=self._opt_td_from_db(
                    row[(column := ScheduleRow.misfire_grace_time)]
                ),
                max_jitter=self._opt_td_from_db(row[(column := ScheduleRow.max_jitter)]),
                job_result_expiration_time=self.td_from_db(
                    row[(column := ScheduleRow.job_result_expiration_time)]
                ),
                metadata=_json_object(row[(column := ScheduleRow.metadata)]),
                next_fire_time=self.opt_dt_from_db(row[(column := ScheduleRow.next_fire_time)]),
                last_fire_time=self.opt_dt_from_db(row[(column := ScheduleRow.last_fire_time)]),
                acquired_by=_opt_text(row[(column := ScheduleRow.acquired_by)]),
                acquired_until=self.opt_dt_from_db(row[(column := ScheduleRow.acquired_until)]),
            )
        except Exception as exc:
            raise RowDecodeError(
                "schedule", row[ScheduleRow.id], SCHEDULE_COLUMNS[column], row[column], exc
            ) from exc
        return schedule

    def _args(self, blob: Any) -> tuple[Any, ...]:
        args = self.serializer.deserialize(blob)
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"expected a sequence of arguments, got {type(args).__name__}")
        return tuple(args)

    def _kwargs(self, blob: Any) -> dict[str, Any]:
        kwargs = self.serializer.deserialize(blob)
        if not isinstance(kwargs, dict) or not all(type(key) is str for key in kwargs):
            raise TypeError(f"expected a dict of keyword arguments, got {kwargs!r:.60}")
        return kwargs

    # --- jobs ---

    def encode_job(self, job: Job) -> tuple[Any, ...]:
        owner = f"job {job.id}"
        if not isinstance(job.id, UUID):
            raise TypeError(f"id: job id {job.id!r} is not a UUID")
        return (
            self.uuid_to_db(job.id),
            job.task_id,
            self._serialize(tuple(job.args), f"args of {owner}"),
            self._serialize(dict(job.kwargs), f"kwargs of {owner}"),
            job.schedule_id,
            self.opt_dt_to_db(job.scheduled_fire_time),
            self.td_to_db(job.jitter),
            self.opt_dt_to_db(job.start_deadline),
            self.td_to_db(job.result_expiration_time),
            self.opt_dt_to_db(job.created_at),
            metadata_to_json(job.metadata, owner=owner),
            job.acquired_by,
            self.opt_dt_to_db(job.acquired_until),
            self.opt_dt_to_db(job.started_at),
        )

    def decode_job(self, row: Sequence[Any]) -> Job:
        """Rebuild a job; raises :class:`RowDecodeError` (a
        :class:`~nbsched.DeserializationError`) naming the bad column if it can't be."""
        column = JobRow.id
        try:
            job = Job(
                id=self.uuid_from_db(row[JobRow.id]),
                task_id=_text(row[(column := JobRow.task_id)]),
                args=self._args(row[(column := JobRow.args)]),
                kwargs=self._kwargs(row[(column := JobRow.kwargs)]),
                schedule_id=_opt_text(row[(column := JobRow.schedule_id)]),
                scheduled_fire_time=self.opt_dt_from_db(
                    row[(column := JobRow.scheduled_fire_time)]
                ),
                jitter=self.td_from_db(row[(column := JobRow.jitter)]),
                start_deadline=self.opt_dt_from_db(row[(column := JobRow.start_deadline)]),
                result_expiration_time=self.td_from_db(
                    row[(column := JobRow.result_expiration_time)]
                ),
                created_at=self.opt_dt_from_db(row[(column := JobRow.created_at)]),
                metadata=_json_object(row[(column := JobRow.metadata)]),
                acquired_by=_opt_text(row[(column := JobRow.acquired_by)]),
                acquired_until=self.opt_dt_from_db(row[(column := JobRow.acquired_until)]),
                started_at=self.opt_dt_from_db(row[(column := JobRow.started_at)]),
            )
        except Exception as exc:
            raise RowDecodeError(
                "job", row[JobRow.id], JOB_COLUMNS[column], row[column], exc
            ) from exc
        return job

    # --- job results ---

    def encode_job_result(self, result: JobResult) -> tuple[Any, ...]:
        """Encode a result. A return value the serializer refuses turns the result into an
        ``error`` one carrying the :class:`~nbsched.SerializationError`, so the job is still
        accounted for."""
        outcome = JobOutcome(result.outcome)
        exception = result.exception
        return_value = None
        if result.return_value is not None:
            try:
                return_value = self.serializer.serialize(result.return_value)
            except SerializationError as exc:
                outcome = JobOutcome.error
                exception = SerializationError(
                    f"the return value of job {result.job_id} could not be stored: {exc}"
                )
        exception_data = None
        if exception is not None:
            try:
                exception_data = self.serializer.serialize(exception)
            except SerializationError:
                exception_data = self.serializer.serialize(
                    RuntimeError(f"{type(exception).__qualname__}: {exception}")
                )
        return (
            self.uuid_to_db(result.job_id),
            outcome.value,
            self.opt_dt_to_db(result.started_at),
            self.dt_to_db(result.finished_at),
            self.dt_to_db(result.expires_at),
            return_value,
            exception_data,
            result.traceback,
            result.scheduler_id,
        )

    def decode_job_result(self, row: Sequence[Any]) -> JobResult:
        """Rebuild a job result; raises :class:`RowDecodeError` naming the bad column."""
        column = JobResultRow.job_id
        deserialize = self.serializer.deserialize
        try:
            result = JobResult(
                job_id=self.uuid_from_db(row[JobResultRow.job_id]),
                outcome=JobOutcome(_text(row[(column := JobResultRow.outcome)])),
                started_at=self.opt_dt_from_db(row[(column := JobResultRow.started_at)]),
                finished_at=self.dt_from_db(row[(column := JobResultRow.finished_at)]),
                expires_at=self.dt_from_db(row[(column := JobResultRow.expires_at)]),
                return_value=_opt(deserialize, row[(column := JobResultRow.return_value)]),
                exception=_opt(deserialize, row[(column := JobResultRow.exception)]),
                traceback=_opt_text(row[(column := JobResultRow.traceback)]),
                scheduler_id=_opt_text(row[(column := JobResultRow.scheduler_id)]),
            )
        except Exception as exc:
            raise RowDecodeError(
                "job result",
                row[JobResultRow.job_id],
                JOB_RESULT_COLUMNS[column],
                row[column],
                exc,
            ) from exc
        return result
