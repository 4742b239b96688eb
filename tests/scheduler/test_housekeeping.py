"""Leases of long jobs are renewed, expired results are cleaned up, executors run where they
say."""

from __future__ import annotations

import asyncio
import os

import pytest
from scheduler_helpers import START, seconds, start

from nbsched import AsyncScheduler, FakeClock, JobLookupError, JobOutcome

pytestmark = pytest.mark.anyio


def pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


async def test_the_lease_of_a_long_job_is_renewed(clock: FakeClock) -> None:
    gate = asyncio.Event()

    async def long_job() -> str:
        await gate.wait()
        return "done"

    async with AsyncScheduler(clock=clock, lease_duration=10, identity="me") as scheduler:
        job_id = await scheduler.add_job(long_job, result_expiration_time=3600)
        await start(scheduler, clock)
        await clock.advance(95)
        [job] = await scheduler.get_jobs()
        assert job.acquired_by == "me"
        assert job.acquired_until is not None
        assert job.acquired_until > clock.now()
        # without renewal, a cleanup would now take the job for abandoned
        await scheduler.data_store.cleanup(clock.now())
        assert len(await scheduler.get_jobs()) == 1
        gate.set()
        await clock.settle()
        result = await scheduler.get_job_result(job_id)
        assert result.outcome is JobOutcome.success
        assert result.started_at == START and result.finished_at == START + seconds(95)


async def test_expired_results_are_cleaned_up_periodically(clock: FakeClock) -> None:
    async def quick() -> int:
        return 1

    async with AsyncScheduler(clock=clock, cleanup_interval=60) as scheduler:
        await start(scheduler, clock)
        short = await scheduler.add_job(quick, result_expiration_time=30)
        long = await scheduler.add_job(quick, result_expiration_time=600)
        await clock.settle()
        await clock.advance(60)  # a cleanup ran at 60 s
        with pytest.raises(JobLookupError):
            await scheduler.get_job_result(short)
        assert (await scheduler.get_job_result(long)).return_value == 1


@pytest.mark.slow
async def test_processpool_runs_jobs_in_another_process(clock: FakeClock) -> None:
    async with AsyncScheduler(clock=clock) as scheduler:
        await start(scheduler, clock)
        pid, value = await scheduler.run_job(pid_and_square, args=[12], job_executor="processpool")
    assert value == 144
    assert pid != os.getpid()
