"""The run history: one compact record per released job, and the policy that bounds it.

APScheduler keeps no history ("it adds data forever"); nbsched keeps a bounded one. Each store
writes a :class:`RunRecord` when it releases a job (in the same transaction where it has
transactions) and prunes by its :class:`HistoryRetention` as it goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from ._enums import JobOutcome
from ._positional import positional_builder
from ._structures import Job, JobResult

__all__ = [
    "DEFAULT_HISTORY_RETENTION",
    "HistoryRetention",
    "RunRecord",
    "as_history_retention",
    "run_record",
]

#: Longest error message kept in a record (the full traceback stays in the job's result).
ERROR_MESSAGE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class HistoryRetention:
    """How much run history a data store keeps.

    :param max_runs: keep at most this many runs per schedule (jobs without a schedule
        count as one schedule); ``None``: no limit by count
    :param max_age: forget runs that finished longer than this before the latest release or
        cleanup; ``None``: no limit by age

    At least one of them must be set, so the history never grows without bound.
    """

    max_runs: int | None = 100
    max_age: timedelta | None = timedelta(days=30)

    def __post_init__(self) -> None:
        if self.max_runs is not None and (
            isinstance(self.max_runs, bool) or not isinstance(self.max_runs, int)
        ):
            raise TypeError(f"max_runs: expected an int or None, got {self.max_runs!r}")
        if self.max_runs is not None and self.max_runs < 1:
            raise ValueError(f"max_runs: {self.max_runs!r} must be at least 1")
        if self.max_age is not None and not isinstance(self.max_age, timedelta):
            raise TypeError(f"max_age: expected a timedelta or None, got {self.max_age!r}")
        if self.max_age is not None and self.max_age <= timedelta(0):
            raise ValueError(f"max_age: {self.max_age!r} must be positive")
        if self.max_runs is None and self.max_age is None:
            raise ValueError(
                "max_runs and max_age are both None: the history would grow without bound "
                "(use history_retention=0 to keep no history)"
            )


#: What the built-in stores keep unless told otherwise: the last 100 runs per schedule, and
#: nothing older than 30 days.
DEFAULT_HISTORY_RETENTION = HistoryRetention()


def as_history_retention(value: object) -> HistoryRetention | None:
    """The retention a store's ``history_retention`` argument stands for (``None``: no history).

    Accepts a :class:`HistoryRetention`; an int ``n`` (the last ``n`` runs per schedule, and
    the default maximum age; ``0`` turns the history off); a timedelta (that maximum age, and
    the default count).
    """
    if isinstance(value, HistoryRetention):
        return value
    if isinstance(value, bool):
        raise TypeError(
            f"history_retention: expected a HistoryRetention, an int or a timedelta, got {value!r}"
        )
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"history_retention: {value!r} is negative (0 keeps no history)")
        return None if value == 0 else HistoryRetention(max_runs=value)
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(f"history_retention: {value!r} must be a positive timedelta")
        return HistoryRetention(max_age=value)
    raise TypeError(
        f"history_retention: expected a HistoryRetention, an int or a timedelta, got "
        f"{type(value).__name__} {value!r}"
    )


@dataclass(slots=True, kw_only=True)
class RunRecord:
    """One released job, as the run history keeps it.

    :ivar job_id: id of the job
    :ivar schedule_id: the schedule that created it (``None`` for ``add_job``/``run_job``)
    :ivar task_id: the task it ran
    :ivar fire_time: the fire time that created it (``None`` without a schedule)
    :ivar started_at: when it started (``None`` if it never did: missed, cancelled early)
    :ivar finished_at: when it was released
    :ivar outcome: how it ended
    :ivar error_type: the exception's class name (``outcome`` ``error``;
        ``"DeserializationError"`` for ``deserialization_failed``: the stored job could not be
        read), else ``None``
    :ivar error_message: the exception's message, cut to 500 characters
    :ivar scheduler_id: the scheduler that ran it (for ``abandoned``: the one that held it)
    """

    job_id: UUID
    schedule_id: str | None
    task_id: str
    fire_time: datetime | None
    started_at: datetime | None
    finished_at: datetime
    outcome: JobOutcome
    error_type: str | None = None
    error_message: str | None = None
    scheduler_id: str | None = None

    @property
    def error(self) -> str | None:
        """``"Type: message"``, or ``None`` when the run raised nothing."""
        if self.error_type is None:
            return None
        return (
            f"{self.error_type}: {self.error_message}" if self.error_message else self.error_type
        )


_new_record = positional_builder(RunRecord)


def run_record(job: Job, result: JobResult, scheduler_id: str | None = None) -> RunRecord:
    """The history record of ``job`` released with ``result``."""
    exc = result.exception
    error_type = error_message = None
    if exc is not None:
        error_type = type(exc).__qualname__
        error_message = str(exc)[:ERROR_MESSAGE_LIMIT]
    return _new_record(  # positionally: one per released job
        job.id,
        job.schedule_id,
        job.task_id,
        job.scheduled_fire_time,  # fire_time
        result.started_at,
        result.finished_at,
        result.outcome,
        error_type,
        error_message,
        result.scheduler_id or scheduler_id,
    )


def abandoned_record(job: Job, now: datetime) -> RunRecord:
    """The history record of a job given up on at ``now`` (its scheduler's lease expired)."""
    return RunRecord(
        job_id=job.id,
        schedule_id=job.schedule_id,
        task_id=job.task_id,
        fire_time=job.scheduled_fire_time,
        started_at=job.started_at,
        finished_at=now,
        outcome=JobOutcome.abandoned,
        scheduler_id=job.acquired_by,
    )
