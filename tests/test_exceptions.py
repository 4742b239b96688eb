"""The exception hierarchy: code ported from APScheduler 4 catches what it caught there."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4

import pytest

from nbsched import AsyncScheduler, FakeClock, JobLookupError, JobResultNotReady

pytestmark = pytest.mark.anyio


def test_job_result_not_ready_is_a_job_lookup_error() -> None:
    job_id = uuid4()
    error = JobResultNotReady(job_id)
    assert isinstance(error, JobLookupError)
    assert isinstance(error, LookupError)
    assert error.job_id == job_id
    assert str(error) == f"no result yet for job {job_id}"


async def test_pending_job_result_without_waiting_is_caught_as_job_lookup_error() -> None:
    async def work() -> int:
        return 1

    clock = FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    async with AsyncScheduler(clock=clock) as scheduler:
        job_id = await scheduler.add_job(work)
        try:  # the APScheduler 4.0.0a6 way
            await scheduler.get_job_result(job_id, wait=False)
        except JobLookupError as exc:
            assert type(exc) is JobResultNotReady
            assert exc.job_id == job_id
        else:
            pytest.fail("get_job_result(wait=False) of a pending job returned")
