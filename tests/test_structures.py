"""The public data classes' own helpers (those APScheduler 4 code calls)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from nbsched import Job, JobOutcome, JobResult

T0 = datetime(2026, 12, 4, 12, tzinfo=timezone.utc)


def test_job_result_from_job_takes_the_expiry_from_the_job() -> None:
    job = Job(task_id="task", result_expiration_time=timedelta(minutes=5))
    error = ValueError("boom")
    result = JobResult.from_job(
        job,
        JobOutcome.error,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        exception=error,
    )
    assert result.job_id == job.id
    assert result.outcome is JobOutcome.error
    assert result.started_at == T0
    assert result.finished_at == T0 + timedelta(seconds=2)
    assert result.expires_at == T0 + timedelta(minutes=5, seconds=2)
    assert result.exception is error
    assert result.return_value is None


def test_job_result_from_job_finishes_now_when_not_told() -> None:
    job = Job(task_id="task")
    before = datetime.now(timezone.utc)
    result = JobResult.from_job(job, JobOutcome.success, return_value=42)
    assert before <= result.finished_at <= datetime.now(timezone.utc)
    assert result.expires_at == result.finished_at  # no expiration time: kept not at all
    assert result.finished_at.tzinfo is not None
    assert result.return_value == 42 and result.started_at is None
