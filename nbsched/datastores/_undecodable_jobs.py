"""What becomes of a stored job that cannot be read: it never runs, it is finished with the
outcome ``deserialization_failed``, and it leaves a record in the run history like any other
released job (pruned by the same retention), saying why it could not be read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from .._enums import JobOutcome
from .._history import ERROR_MESSAGE_LIMIT, RunRecord
from .._structures import Job, JobResult
from ._row_positions import JobRow

__all__ = ["undecodable_record", "undecodable_release"]


def undecodable_record(
    row: tuple[Any, ...], fire_time: Any, now: datetime, scheduler_id: str, message: str
) -> RunRecord | None:
    """The history record of the job stored in ``row``, which could not be decoded.

    :param fire_time: the row's scheduled fire time, decoded by the caller (anything but an
        aware datetime, when that column is the damaged one, counts as unknown)
    :return: ``None`` for a row too damaged to say which job and task it was
    """
    job_id, task_id, schedule_id = row[JobRow.id], row[JobRow.task_id], row[JobRow.schedule_id]
    try:
        job_id = job_id if isinstance(job_id, UUID) else UUID(job_id)
    except (TypeError, ValueError, AttributeError):
        return None
    if not isinstance(task_id, str) or not isinstance(schedule_id, (str, type(None))):
        return None
    if not isinstance(fire_time, datetime) or fire_time.utcoffset() is None:
        fire_time = None
    return RunRecord(
        job_id=job_id,
        schedule_id=schedule_id,
        task_id=task_id,
        fire_time=fire_time,
        started_at=None,
        finished_at=now,
        outcome=JobOutcome.deserialization_failed,
        error_type="DeserializationError",
        error_message=message[:ERROR_MESSAGE_LIMIT],
        scheduler_id=scheduler_id,
    )


def undecodable_release(
    row: tuple[Any, ...], now: datetime, scheduler_id: str, message: str
) -> tuple[Job, JobResult, RunRecord | None]:
    """What a store whose column values come typed (PostgreSQL) releases for an undecodable
    job: a stub of the job, its ``deserialization_failed`` result (kept as long as the job
    asked, if that column can be read) and its history record."""
    job_id, expiration = row[JobRow.id], row[JobRow.result_expiration_time]
    if not isinstance(expiration, timedelta):
        expiration = timedelta(0)  # the damaged column itself: keep no result
    result = JobResult(
        job_id=job_id,
        outcome=JobOutcome.deserialization_failed,
        finished_at=now,
        expires_at=now + expiration,
        scheduler_id=scheduler_id,
    )
    stub = Job(id=job_id, task_id=row[JobRow.task_id], schedule_id=row[JobRow.schedule_id])
    record = undecodable_record(row, row[JobRow.scheduled_fire_time], now, scheduler_id, message)
    return stub, result, record
