"""The data the scheduler and the data stores exchange: tasks, schedules, jobs and results.

These are plain dataclasses. Data stores copy them in and out; the scheduler never shares a
live instance with a store, so a store may keep its own copies or rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from ._enums import CoalescePolicy, JobOutcome

if TYPE_CHECKING:
    from .abc import Trigger

__all__ = ["Task", "Schedule", "ScheduleResult", "Job", "JobResult"]


@dataclass(slots=True, kw_only=True)
class Task:
    """A unit of work that schedules and jobs refer to by id.

    :ivar id: unique identifier of the task
    :ivar func: the callable, or its import reference (``"package.module:function"``). Stores
        (and so :meth:`~nbsched.AsyncScheduler.get_tasks`) hand out the reference; only a
        callable with none (a lambda, a nested function, a bound method... which only the
        memory store keeps) comes back as the callable itself
    :ivar job_executor: name of the executor that runs the task's jobs (``"async"``,
        ``"threadpool"``, ``"processpool"`` or ``"loop"``, or a name the user registered)
    :ivar max_running_jobs: how many jobs of this task may run at once (``None``: no limit)
    :ivar misfire_grace_time: default for schedules of this task: how late a job may start
    :ivar metadata: JSON-compatible key-value pairs for the user's own use
    :ivar running_jobs: how many jobs of this task are running now (maintained by the store)
    """

    id: str
    func: Any = None
    job_executor: str = "threadpool"
    max_running_jobs: int | None = None
    misfire_grace_time: timedelta | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    running_jobs: int = 0

    def copy(self, **changes: Any) -> Task:
        return replace(self, **changes)


@dataclass(slots=True, kw_only=True)
class Schedule:
    """A task bound to a trigger: when the trigger fires, a job of the task is created.

    :ivar id: unique identifier of the schedule
    :ivar task_id: id of the task run on this schedule
    :ivar trigger: the trigger that decides the fire times
    :ivar args: positional arguments for the task's callable
    :ivar kwargs: keyword arguments for the task's callable
    :ivar paused: a paused schedule produces no jobs
    :ivar coalesce: what to do when several fire times are due at once
    :ivar misfire_grace_time: how late after its fire time a job may still start
        (``None``: no limit)
    :ivar max_jitter: the largest random delay added to each fire time (``None``: none)
    :ivar job_result_expiration_time: how long a job's result is kept after it finishes
    :ivar metadata: JSON-compatible key-value pairs for the user's own use
    :ivar next_fire_time: the next time this schedule fires (``None`` once exhausted)
    :ivar last_fire_time: the last fire time a job was created for
    :ivar acquired_by: id of the scheduler holding the lease on this schedule
    :ivar acquired_until: when that lease expires
    """

    id: str
    task_id: str
    trigger: Trigger
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    coalesce: CoalescePolicy = CoalescePolicy.latest
    misfire_grace_time: timedelta | None = None
    max_jitter: timedelta | None = None
    job_result_expiration_time: timedelta = timedelta(0)
    metadata: dict[str, Any] = field(default_factory=dict)
    next_fire_time: datetime | None = None
    last_fire_time: datetime | None = None
    acquired_by: str | None = None
    acquired_until: datetime | None = None

    def copy(self, **changes: Any) -> Schedule:
        return replace(self, **changes)


@dataclass(slots=True, kw_only=True)
class ScheduleResult:
    """What a scheduler reports back to the store after processing an acquired schedule.

    :ivar schedule_id: id of the schedule
    :ivar task_id: id of its task
    :ivar trigger: the trigger, advanced past every fire time that was processed
    :ivar last_fire_time: the last fire time processed
    :ivar next_fire_time: the next fire time, or ``None`` when the trigger is exhausted (the
        store then removes the schedule, publishing ``ScheduleRemoved(finished=True)``)
    """

    schedule_id: str
    task_id: str
    trigger: Trigger
    last_fire_time: datetime | None
    next_fire_time: datetime | None


@dataclass(slots=True, kw_only=True)
class Job:
    """One run of a task, created by a schedule firing or by ``add_job``/``run_job``.

    :ivar id: unique identifier of the job
    :ivar task_id: id of the task to run
    :ivar args: positional arguments for the callable
    :ivar kwargs: keyword arguments for the callable
    :ivar schedule_id: id of the schedule that created the job, if any
    :ivar scheduled_fire_time: the fire time that created the job, if any
    :ivar jitter: the random delay added to the fire time
    :ivar start_deadline: the job is not started after this (it is then recorded as
        ``missed_start_deadline``)
    :ivar result_expiration_time: how long the result is kept after the job finishes
    :ivar created_at: when the job was created
    :ivar metadata: JSON-compatible key-value pairs
    :ivar acquired_by: id of the scheduler running the job
    :ivar acquired_until: when that lease expires
    :ivar started_at: when the job started running
    """

    id: UUID = field(default_factory=uuid4)
    task_id: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    schedule_id: str | None = None
    scheduled_fire_time: datetime | None = None
    jitter: timedelta = timedelta(0)
    start_deadline: datetime | None = None
    result_expiration_time: timedelta = timedelta(0)
    created_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    acquired_by: str | None = None
    acquired_until: datetime | None = None
    started_at: datetime | None = None

    @property
    def scheduled_start_time(self) -> datetime | None:
        """The fire time plus jitter: when the job was meant to start."""
        if self.scheduled_fire_time is None:
            return None
        return self.scheduled_fire_time + self.jitter

    @property
    def original_scheduled_time(self) -> datetime | None:
        """The fire time without jitter (APScheduler 4's name; here the same as
        ``scheduled_fire_time``, which in nbsched never includes the jitter)."""
        return self.scheduled_fire_time

    def copy(self, **changes: Any) -> Job:
        return replace(self, **changes)


@dataclass(slots=True, kw_only=True)
class JobResult:
    """The outcome of a job.

    :ivar job_id: id of the job
    :ivar outcome: how it ended
    :ivar started_at: when it started (``None`` if it never started)
    :ivar finished_at: when it ended
    :ivar expires_at: when the store may forget this result
    :ivar return_value: what the callable returned (``outcome == success``)
    :ivar exception: the exception it raised (``outcome == error``)
    :ivar traceback: the formatted traceback of that exception
    :ivar scheduler_id: the scheduler that ran the job
    """

    job_id: UUID
    outcome: JobOutcome
    started_at: datetime | None = None
    finished_at: datetime
    expires_at: datetime
    return_value: Any = None
    exception: BaseException | None = None
    traceback: str | None = None
    scheduler_id: str | None = None

    @classmethod
    def from_job(
        cls,
        job: Job,
        outcome: JobOutcome,
        *,
        finished_at: datetime | None = None,
        started_at: datetime | None = None,
        exception: BaseException | None = None,
        return_value: Any = None,
    ) -> JobResult:
        """The result of ``job`` (APScheduler 4's constructor): kept until ``finished_at`` (the
        current time when not given) plus the job's ``result_expiration_time``."""
        if finished_at is None:
            finished_at = datetime.now(timezone.utc)
        return cls(
            job_id=job.id,
            outcome=outcome,
            started_at=started_at,
            finished_at=finished_at,
            expires_at=finished_at + job.result_expiration_time,
            return_value=return_value,
            exception=exception,
        )
