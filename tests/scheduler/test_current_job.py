"""``nbsched.current_job``: a running job learns its own Job, in every executor."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

import pytest
from scheduler_helpers import START, seconds, start

import nbsched
from nbsched import AsyncScheduler, FakeClock, Job, JobOutcome
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio


def describe_current_job() -> dict[str, Any]:
    """What a job sees of itself (module level: the process pool pickles it by reference)."""
    job = nbsched.current_job.get()
    return {
        "id": job.id,
        "task_id": job.task_id,
        "schedule_id": job.schedule_id,
        "scheduled_fire_time": job.scheduled_fire_time,
        "original_scheduled_time": job.original_scheduled_time,  # APScheduler 4's name
        "jitter": job.jitter,
        "start_deadline": job.start_deadline,
        "pid": os.getpid(),
    }


async def adescribe_current_job() -> dict[str, Any]:
    await asyncio.sleep(0)
    return describe_current_job()


EXECUTORS = ["async", "threadpool", "loop", pytest.param("processpool", marks=pytest.mark.slow)]


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_a_scheduled_job_sees_its_own_job(clock: FakeClock, executor: str) -> None:
    func = adescribe_current_job if executor == "async" else describe_current_job
    async with AsyncScheduler(clock=clock, max_concurrent_jobs=1) as scheduler:
        await scheduler.add_schedule(
            func,
            IntervalTrigger(seconds=10, start_time=START + seconds(10)),
            id="period",
            job_executor=executor,
            misfire_grace_time=30,
            max_jitter=4,
            job_result_expiration_time=600,
        )
        released: list[Any] = []
        scheduler.subscribe(released.append, nbsched.events.JobReleased)
        await start(scheduler, clock)
        await clock.advance(15)
        assert [e.outcome for e in released] == [JobOutcome.success]
        job_id = released[0].job_id
        seen = (await scheduler.get_job_result(job_id)).return_value
        await scheduler.stop()
    assert seen["id"] == job_id
    assert seen["task_id"] == f"{__name__}:{func.__qualname__}"
    assert seen["schedule_id"] == "period"
    assert seen["scheduled_fire_time"] == START + seconds(10)
    assert seen["original_scheduled_time"] == START + seconds(10)  # the fire time, no jitter
    jitter = seen["jitter"]
    assert timedelta(0) <= jitter <= seconds(4)
    assert seen["start_deadline"] == START + seconds(10) + jitter + seconds(30)
    assert (seen["pid"] != os.getpid()) is (executor == "processpool")


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_run_job_sees_its_own_job(clock: FakeClock, executor: str) -> None:
    func = adescribe_current_job if executor == "async" else describe_current_job
    async with AsyncScheduler(clock=clock) as scheduler:
        await start(scheduler, clock)
        seen = await scheduler.run_job(func, job_executor=executor)
        await scheduler.stop()
    assert seen["schedule_id"] is None and seen["scheduled_fire_time"] is None
    assert seen["original_scheduled_time"] is None
    assert seen["task_id"] == f"{__name__}:{func.__qualname__}"


async def test_outside_a_job_current_job_is_unset(clock: FakeClock) -> None:
    async def job() -> Job:
        return nbsched.current_job.get()

    with pytest.raises(LookupError):
        nbsched.current_job.get()
    async with AsyncScheduler(clock=clock) as scheduler:
        await start(scheduler, clock)
        first = await scheduler.run_job(job)
        second = await scheduler.run_job(job)
        await scheduler.stop()
    assert first.id != second.id  # each job sees itself, not a neighbour
    with pytest.raises(LookupError):
        nbsched.current_job.get()
