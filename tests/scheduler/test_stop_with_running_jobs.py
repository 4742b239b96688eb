"""stop() with jobs running in threads: a thread cannot be cancelled, so the scheduler waits for
it (up to ``stop_grace_time``) and records what really happened."""

from __future__ import annotations

import asyncio
import threading

import pytest
from scheduler_helpers import Recorder, start

from nbsched import AsyncScheduler, FakeClock, JobOutcome
from nbsched.events import JobReleased

pytestmark = pytest.mark.anyio


class Blocker:
    """A thread-pool job that waits until the test releases it, then leaves a side effect."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.release = threading.Event()
        self.side_effects: list[str] = []

    def __call__(self) -> str:
        self.running.set()
        self.release.wait(30)
        self.side_effects.append("written")
        return "done"


async def test_stop_waits_for_a_thread_job_and_records_its_real_outcome(
    clock: FakeClock,
) -> None:
    blocker = Blocker()
    async with AsyncScheduler(clock=clock) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, JobReleased)
        await start(scheduler, clock)
        job_id = await scheduler.add_job(
            blocker, job_executor="threadpool", result_expiration_time=600
        )
        await asyncio.to_thread(blocker.running.wait, 30)
        stopping = asyncio.ensure_future(scheduler.stop())
        await asyncio.sleep(0)
        assert not stopping.done()
        blocker.release.set()
        await stopping
        result = await scheduler.get_job_result(job_id, wait=False)
    assert blocker.side_effects == ["written"]
    assert result.outcome is JobOutcome.success and result.return_value == "done"
    assert [e.outcome for e in recorder.events] == [JobOutcome.success]


async def test_a_thread_job_still_running_after_the_grace_is_recorded_abandoned(
    clock: FakeClock,
) -> None:
    blocker = Blocker()
    async with AsyncScheduler(clock=clock, stop_grace_time=0.01) as scheduler:
        await start(scheduler, clock)
        job_id = await scheduler.add_job(
            blocker, job_executor="threadpool", result_expiration_time=600
        )
        await asyncio.to_thread(blocker.running.wait, 30)
        await scheduler.stop()  # the job is blocked until released below: the grace runs out
        result = await scheduler.get_job_result(job_id, wait=False)
    blocker.release.set()
    # not "cancelled": the thread went on, and what it did is not known to the scheduler
    assert result.outcome is JobOutcome.abandoned
    assert result.started_at is not None


async def test_async_jobs_are_still_cancelled_at_once(clock: FakeClock) -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    async with AsyncScheduler(clock=clock, stop_grace_time=3600) as scheduler:
        await start(scheduler, clock)
        job_id = await scheduler.add_job(forever, result_expiration_time=600)
        await started.wait()
        await scheduler.stop()
        result = await scheduler.get_job_result(job_id, wait=False)
    assert result.outcome is JobOutcome.cancelled


@pytest.mark.parametrize("bad", [-1, "soon", True])
def test_stop_grace_time_must_be_zero_or_more(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="stop_grace_time"):
        AsyncScheduler(stop_grace_time=bad)  # type: ignore[arg-type]
