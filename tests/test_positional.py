"""The positional builders of the records built per job: the same objects as the dataclasses'
own ``__init__`` builds, and the field order their call sites rely on."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from nbsched import Job, JobOutcome, JobResult, ScheduleResult
from nbsched._history import RunRecord
from nbsched._positional import positional_builder
from nbsched.events import JobReleased

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_built_record_equals_the_one_init_builds() -> None:
    job_id = uuid4()
    built = positional_builder(JobResult)(
        job_id, JobOutcome.success, NOW, NOW, NOW, 42, None, None, "me"
    )
    assert built == JobResult(
        job_id=job_id,
        outcome=JobOutcome.success,
        started_at=NOW,
        finished_at=NOW,
        expires_at=NOW,
        return_value=42,
        scheduler_id="me",
    )
    built.return_value = 43  # not frozen: still settable
    assert built.return_value == 43


def test_a_built_event_stays_frozen() -> None:
    job_id = uuid4()
    event = positional_builder(JobReleased)(
        NOW, job_id, "me", "t", "s", NOW, NOW, NOW, JobOutcome.success, None, None, None
    )
    assert event == JobReleased(
        timestamp=NOW,
        job_id=job_id,
        scheduler_id="me",
        task_id="t",
        schedule_id="s",
        scheduled_start=NOW,
        started_at=NOW,
        finished_at=NOW,
        outcome=JobOutcome.success,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.task_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "cls, names",
    [
        (
            Job,
            "id task_id args kwargs schedule_id scheduled_fire_time jitter start_deadline "
            "result_expiration_time created_at metadata acquired_by acquired_until started_at",
        ),
        (
            JobResult,
            "job_id outcome started_at finished_at expires_at return_value exception traceback "
            "scheduler_id",
        ),
        (ScheduleResult, "schedule_id task_id trigger last_fire_time next_fire_time"),
        (
            RunRecord,
            "job_id schedule_id task_id fire_time started_at finished_at outcome error_type "
            "error_message scheduler_id",
        ),
        (
            JobReleased,
            "timestamp job_id scheduler_id task_id schedule_id scheduled_start started_at "
            "finished_at outcome exception_type exception_message exception_traceback",
        ),
    ],
)
def test_the_field_order_the_builders_callers_pass(cls: type, names: str) -> None:
    """The scheduler and the history pass these fields positionally, in this order: a field
    added or moved must be added or moved at those call sites too."""
    assert [f.name for f in dataclasses.fields(cls)] == names.split()


def test_the_scheduler_builds_its_jobs_as_job_would() -> None:
    from nbsched import Schedule
    from nbsched._schedulers._process_loop import _job_of
    from nbsched.triggers.date import DateTrigger

    schedule = Schedule(
        id="s",
        task_id="t",
        trigger=DateTrigger(NOW),
        args=(1,),
        kwargs={"k": 2},
        job_result_expiration_time=timedelta(minutes=1),
    )
    job = _job_of(schedule, NOW, None, timedelta(seconds=5), NOW)
    assert job == Job(
        id=job.id,
        task_id="t",
        args=(1,),
        kwargs={"k": 2},
        schedule_id="s",
        scheduled_fire_time=NOW,
        start_deadline=NOW + timedelta(seconds=5),
        result_expiration_time=timedelta(minutes=1),
        created_at=NOW,
    )
