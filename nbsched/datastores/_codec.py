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

Rows are tuples in the column order of the ``*_COLUMNS`` constants.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from .._enums import CoalescePolicy, JobOutcome
from .._exceptions import DeserializationError, SerializationError
from .._marshalling import callable_to_ref, trigger_from_state, trigger_to_state
from .._structures import Job, JobResult, Schedule, Task
from ..abc import Serializer, Trigger

TASK_COLUMNS = (
    "id",
    "func",
    "job_executor",
    "max_running_jobs",
    "misfire_grace_time",
    "metadata",
    "running_jobs",
)
SCHEDULE_COLUMNS = (
    "id",
    "task_id",
    "trigger",
    "args",
    "kwargs",
    "paused",
    "coalesce",
    "misfire_grace_time",
    "max_jitter",
    "job_result_expiration_time",
    "metadata",
    "next_fire_time",
    "last_fire_time",
    "acquired_by",
    "acquired_until",
)
JOB_COLUMNS = (
    "id",
    "task_id",
    "args",
    "kwargs",
    "schedule_id",
    "scheduled_fire_time",
    "jitter",
    "start_deadline",
    "result_expiration_time",
    "created_at",
    "metadata",
    "acquired_by",
    "acquired_until",
    "started_at",
)
JOB_RESULT_COLUMNS = (
    "job_id",
    "outcome",
    "started_at",
    "finished_at",
    "expires_at",
    "return_value",
    "exception",
    "traceback",
    "scheduler_id",
)


def _same(value: Any) -> Any:
    return value


def func_to_ref(func: Any) -> str | None:
    """Return what is stored for ``Task.func``: its import reference, or ``None``."""
    if func is None or isinstance(func, str):
        return func
    if not callable(func):
        raise TypeError(f"func: expected a callable or an import reference, got {func!r:.100}")
    try:
        return callable_to_ref(func)
    except ValueError as exc:
        raise SerializationError(
            f"func: {func!r:.100} cannot be stored in a persistent data store: it has no import "
            f"path (lambdas and nested functions have none); define it at module level or "
            f"pass an import reference such as 'package.module:function'"
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
        return json.dumps(state, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"trigger: the state of {state['type']} (schedule {schedule_id!r}) is not plain "
            f"JSON data ({exc}); __getstate__ must return dicts, lists, str, int, float, bool "
            f"or None"
        ) from exc


def trigger_from_json(text: str) -> Trigger:
    """Rebuild a trigger from :func:`trigger_to_json`'s text (imports the trigger class only)."""
    try:
        return trigger_from_state(json.loads(text))
    except Exception as exc:
        raise DeserializationError(
            f"cannot restore trigger from {text[:200]!r}: {type(exc).__name__}: {exc}"
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
        timedelta_from_db: Callable[[Any], timedelta] = _same,
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
        return Task(
            id=row[0],
            func=row[1],
            job_executor=row[2],
            max_running_jobs=row[3],
            misfire_grace_time=self._opt_td_from_db(row[4]),
            metadata=json.loads(row[5]),
            running_jobs=row[6],
        )

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
        """Rebuild a schedule; raises :class:`~nbsched.DeserializationError` if it can't be."""
        try:
            args = self.serializer.deserialize(row[3])
            kwargs = self.serializer.deserialize(row[4])
            metadata = json.loads(row[10])
        except Exception as exc:
            raise DeserializationError(
                f"cannot restore the arguments of schedule {row[0]!r}: {exc}"
            ) from exc
        return Schedule(
            id=row[0],
            task_id=row[1],
            trigger=trigger_from_json(row[2]),
            args=tuple(args),
            kwargs=kwargs,
            paused=bool(row[5]),
            coalesce=CoalescePolicy(row[6]),
            misfire_grace_time=self._opt_td_from_db(row[7]),
            max_jitter=self._opt_td_from_db(row[8]),
            job_result_expiration_time=self.td_from_db(row[9]),
            metadata=metadata,
            next_fire_time=self.opt_dt_from_db(row[11]),
            last_fire_time=self.opt_dt_from_db(row[12]),
            acquired_by=row[13],
            acquired_until=self.opt_dt_from_db(row[14]),
        )

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
        """Rebuild a job; raises :class:`~nbsched.DeserializationError` if it can't be."""
        job_id = self.uuid_from_db(row[0])
        try:
            args = self.serializer.deserialize(row[2])
            kwargs = self.serializer.deserialize(row[3])
            metadata = json.loads(row[10])
        except Exception as exc:
            raise DeserializationError(
                f"cannot restore the arguments of job {job_id}: {exc}"
            ) from exc
        return Job(
            id=job_id,
            task_id=row[1],
            args=tuple(args),
            kwargs=kwargs,
            schedule_id=row[4],
            scheduled_fire_time=self.opt_dt_from_db(row[5]),
            jitter=self.td_from_db(row[6]),
            start_deadline=self.opt_dt_from_db(row[7]),
            result_expiration_time=self.td_from_db(row[8]),
            created_at=self.opt_dt_from_db(row[9]),
            metadata=metadata,
            acquired_by=row[11],
            acquired_until=self.opt_dt_from_db(row[12]),
            started_at=self.opt_dt_from_db(row[13]),
        )

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
        job_id = self.uuid_from_db(row[0])
        try:
            return_value = None if row[5] is None else self.serializer.deserialize(row[5])
            exception = None if row[6] is None else self.serializer.deserialize(row[6])
        except Exception as exc:
            raise DeserializationError(
                f"cannot restore the result of job {job_id}: {exc}"
            ) from exc
        return JobResult(
            job_id=job_id,
            outcome=JobOutcome(row[1]),
            started_at=self.opt_dt_from_db(row[2]),
            finished_at=self.dt_from_db(row[3]),
            expires_at=self.dt_from_db(row[4]),
            return_value=return_value,
            exception=exception,
            traceback=row[7],
            scheduler_id=row[8],
        )
