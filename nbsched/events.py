"""Events published by data stores and schedulers on the event broker.

Every event is a frozen dataclass whose fields are plain data (str, int, bool, datetime, UUID,
enums), so brokers that cross process boundaries can serialize them. Subscribe with
``scheduler.subscribe(callback, {JobReleased})``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from uuid import UUID

from ._enums import JobOutcome


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base class of every event. ``timestamp`` is when it happened (UTC)."""

    timestamp: datetime = field(default_factory=_utcnow)


# --- data store events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStoreEvent(Event):
    """Base class of the events a data store publishes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskAdded(DataStoreEvent):
    task_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskUpdated(DataStoreEvent):
    task_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRemoved(DataStoreEvent):
    task_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleAdded(DataStoreEvent):
    schedule_id: str
    task_id: str
    next_fire_time: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleUpdated(DataStoreEvent):
    schedule_id: str
    task_id: str
    next_fire_time: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRemoved(DataStoreEvent):
    """A schedule was removed; ``finished`` is True when its trigger ran out of fire times."""

    schedule_id: str
    task_id: str
    finished: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleDeserializationFailed(DataStoreEvent):
    """A stored schedule could not be read back (its trigger class is gone, say)."""

    schedule_id: str
    exception: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobAdded(DataStoreEvent):
    job_id: UUID
    task_id: str
    schedule_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRemoved(DataStoreEvent):
    job_id: UUID
    task_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDeserializationFailed(DataStoreEvent):
    job_id: UUID
    exception: str


# --- scheduler events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerEvent(Event):
    """Base class of the events a scheduler publishes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStarted(SchedulerEvent):
    scheduler_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStopped(SchedulerEvent):
    """The scheduler stopped; ``exception`` says why if it crashed."""

    scheduler_id: str = ""
    exception: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobAcquired(SchedulerEvent):
    job_id: UUID
    scheduler_id: str
    task_id: str
    schedule_id: str | None
    scheduled_start: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobReleased(SchedulerEvent):
    """A job ended (or was given up on); ``outcome`` says how."""

    job_id: UUID
    scheduler_id: str
    task_id: str
    schedule_id: str | None
    scheduled_start: datetime | None
    started_at: datetime | None
    finished_at: datetime | None = None
    outcome: JobOutcome
    exception_type: str | None = None
    exception_message: str | None = None
    exception_traceback: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTriggerFailed(SchedulerEvent):
    """A schedule's trigger broke the trigger contract (it raised, returned something other
    than an aware datetime or None, or a fire time not later than the one before it). The
    scheduler paused the schedule at its pending fire time; the other schedules run on."""

    schedule_id: str
    task_id: str
    exception: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStoreRetryGaveUp(SchedulerEvent):
    """A call you made (``add_schedule``, ``get_schedules``, ...) retried a data store operation
    on temporary errors for the whole retry window and gave up, raising
    :class:`~nbsched.DataStoreUnavailableError`. (The scheduler's own calls never give up: see
    :class:`DataStoreUnavailable`.)"""

    operation: str
    attempts: int
    exception: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStoreUnavailable(SchedulerEvent):
    """The data store has failed with temporary errors (locked, disk full, server unreachable)
    for longer than the retry window. The scheduler keeps retrying with capped backoff and
    carries on by itself when it is back (:class:`DataStoreRecovered`).

    ``since`` is when the failing call first failed; ``exception`` the last error.
    """

    scheduler_id: str
    store: str
    since: datetime
    operation: str
    exception: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStoreRecovered(SchedulerEvent):
    """The data store answered again after being unavailable since ``unavailable_since``."""

    scheduler_id: str
    store: str
    unavailable_since: datetime
