"""Jobs: outcomes, results, failures, executors and the events they produce."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any
from uuid import uuid4

import pytest
from scheduler_helpers import START, Recorder, seconds, start

from nbsched import (
    AsyncScheduler,
    FakeClock,
    JobLookupError,
    JobOutcome,
    JobResultNotReady,
    SchedulerNotRunningError,
)
from nbsched.datastores.memory import MemoryDataStore
from nbsched.events import (
    JobAcquired,
    JobAdded,
    JobReleased,
    JobRemoved,
    ScheduleAdded,
    SchedulerStarted,
    SchedulerStopped,
    ScheduleUpdated,
    TaskAdded,
)
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


fails_left = [0]


async def flaky(n: int) -> int:
    if fails_left[0]:
        fails_left[0] -= 1
        raise Boom(f"failure number {n}")
    return n


def explode() -> None:
    raise Boom("exploded in a thread")


async def double(x: int) -> int:
    return 2 * x


def thread_name() -> str:
    return threading.current_thread().name


async def test_a_raising_job_is_recorded_and_the_scheduler_goes_on(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    fails_left[0] = 1
    await scheduler.add_schedule(
        flaky, IntervalTrigger(seconds=10, start_time=START + seconds(10)), args=[7]
    )
    await start(scheduler, clock)
    await clock.advance(20)
    first, second = recorder.of(JobReleased)
    assert first.outcome is JobOutcome.error
    assert first.exception_type == "Boom"
    assert first.exception_message == "failure number 7"
    assert first.exception_traceback is not None
    assert "in flaky" in first.exception_traceback
    assert 'raise Boom(f"failure number {n}")' in first.exception_traceback
    assert second.outcome is JobOutcome.success
    assert scheduler.state.name == "started"


async def test_run_job_returns_the_value_or_reraises(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    await start(scheduler, clock)
    assert await scheduler.run_job(double, args=[21]) == 42
    with pytest.raises(Boom, match="exploded in a thread"):
        await scheduler.run_job(explode)
    assert (await scheduler.run_job(thread_name)).startswith("nbsched-job")
    assert await scheduler.run_job(thread_name, job_executor="loop") == (
        threading.current_thread().name
    )


async def test_run_job_needs_a_running_scheduler(scheduler: AsyncScheduler) -> None:
    with pytest.raises(SchedulerNotRunningError, match="start_in_background"):
        await scheduler.run_job(double, args=[1])


async def test_get_job_result_waits_for_the_job(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    job_id = await scheduler.add_job(double, args=[5])
    with pytest.raises(JobResultNotReady):
        await scheduler.get_job_result(job_id, wait=False)
    scheduler.start_in_background()
    result = await scheduler.get_job_result(job_id)
    assert result.outcome is JobOutcome.success
    assert result.return_value == 10
    assert result.started_at == START and result.finished_at == START


async def test_a_kept_result_can_be_fetched_later_once(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    await start(scheduler, clock)
    kept = await scheduler.add_job(explode, result_expiration_time=60)
    not_kept = await scheduler.add_job(double, args=[1])
    await clock.settle()
    result = await scheduler.get_job_result(kept, wait=False)
    assert result.outcome is JobOutcome.error
    assert isinstance(result.exception, Boom)
    assert result.traceback is not None and "in explode" in result.traceback
    assert result.expires_at == result.finished_at + seconds(60)
    with pytest.raises(JobLookupError):
        await scheduler.get_job_result(kept)  # returned once, then forgotten
    with pytest.raises(JobLookupError):
        await scheduler.get_job_result(not_kept)  # expiration 0: nothing kept
    with pytest.raises(JobLookupError, match="no job with id"):
        await scheduler.get_job_result(uuid4())


async def test_events_come_in_order_with_their_fields(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    schedule_id = await scheduler.add_schedule(
        double, IntervalTrigger(seconds=10, start_time=START + seconds(10)), args=[1], id="s1"
    )
    await start(scheduler, clock)
    await clock.advance(10)
    await scheduler.stop()
    assert recorder.names() == [
        "TaskAdded",
        "ScheduleAdded",
        "SchedulerStarted",
        "JobAdded",
        "ScheduleUpdated",
        "JobAcquired",
        "JobRemoved",
        "JobReleased",
        "SchedulerStopped",
    ]
    (
        task_added,
        schedule_added,
        started,
        job_added,
        updated,
        acquired,
        removed,
        released,
        stopped,
    ) = recorder.events
    task_id = f"{__name__}:double"
    assert isinstance(task_added, TaskAdded) and task_added.task_id == task_id
    assert isinstance(schedule_added, ScheduleAdded)
    assert (schedule_added.schedule_id, schedule_added.task_id) == (schedule_id, task_id)
    assert schedule_added.next_fire_time == START + seconds(10)
    assert isinstance(started, SchedulerStarted) and started.scheduler_id == "test-scheduler"
    assert isinstance(job_added, JobAdded) and job_added.schedule_id == "s1"
    assert isinstance(updated, ScheduleUpdated)
    assert updated.next_fire_time == START + seconds(20)
    assert isinstance(acquired, JobAcquired)
    assert acquired.job_id == job_added.job_id
    assert acquired.scheduled_start == START + seconds(10)
    assert isinstance(removed, JobRemoved) and removed.job_id == job_added.job_id
    assert isinstance(released, JobReleased)
    assert released.job_id == job_added.job_id
    assert released.outcome is JobOutcome.success
    assert released.scheduler_id == "test-scheduler"
    assert released.started_at == released.finished_at == START + seconds(10)
    assert released.timestamp == START + seconds(10)
    assert isinstance(stopped, SchedulerStopped) and stopped.exception is None


async def test_subscribe_filters_and_one_shot(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    released: list[JobReleased] = []
    first_added: list[JobAdded] = []
    scheduler.subscribe(released.append, JobReleased)  # type: ignore[arg-type]  # filtered
    scheduler.subscribe(first_added.append, {JobAdded}, one_shot=True)  # type: ignore[arg-type]
    await start(scheduler, clock)
    for n in range(3):
        await scheduler.run_job(double, args=[n])
    assert len(released) == 3
    assert len(first_added) == 1


async def test_configure_task_by_id(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    task = await scheduler.configure_task("doubler", func=double, metadata={"team": "a"})
    assert task.job_executor == "async"
    assert task.metadata == {"team": "a"}
    await start(scheduler, clock)
    assert await scheduler.run_job("doubler", args=[4]) == 8
    with pytest.raises(ValueError, match="job_executor: 'gpu'"):
        await scheduler.configure_task("doubler", job_executor="gpu")
    with pytest.raises(ValueError, match="max_running_jobs"):
        await scheduler.configure_task("doubler", max_running_jobs=0)
    assert (await scheduler.data_store.get_task("doubler")).max_running_jobs is None


def exits() -> None:
    raise SystemExit(3)


async def test_a_job_raising_systemexit_does_not_end_the_scheduler(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    await start(scheduler, clock)
    with pytest.raises(SystemExit):
        await scheduler.run_job(exits, job_executor="loop")
    assert scheduler.state.name == "started"
    assert await scheduler.run_job(double, args=[2]) == 4
    assert recorder.of(JobReleased)[0].outcome is JobOutcome.error


async def test_a_job_acquired_just_before_stop_is_released_as_cancelled(clock: FakeClock) -> None:
    class StopsRightAfterAcquiring(MemoryDataStore):
        """Stop is requested after jobs are acquired and before their tasks take a step."""

        scheduler: AsyncScheduler

        async def acquire_jobs(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            jobs = await super().acquire_jobs(*args, **kwargs)
            if jobs:
                self.scheduler.request_stop()
            return jobs

    store = StopsRightAfterAcquiring()
    recorder = Recorder()
    async with AsyncScheduler(store, clock=clock) as scheduler:
        store.scheduler = scheduler
        scheduler.subscribe(recorder)
        job_id = await scheduler.add_job(double, args=[21], result_expiration_time=60)
        await start(scheduler, clock)
        await scheduler.wait_until_stopped()
        (released,) = recorder.of(JobReleased)
        assert (released.job_id, released.outcome) == (job_id, JobOutcome.cancelled)
        assert released.started_at is None
        assert await scheduler.get_jobs() == []  # not left acquired until its lease expires
        result = await scheduler.get_job_result(job_id, wait=False)
        assert result.outcome is JobOutcome.cancelled


async def test_a_backlog_of_due_schedules_runs_batch_by_batch(clock: FakeClock) -> None:
    """Due schedules become jobs one batch at a time, and each batch's jobs run before the
    next batch is acquired: a backlog is never all held as pending jobs at once."""

    class CountsJobs(MemoryDataStore):
        most_jobs = 0

        async def add_job(self, job):  # type: ignore[no-untyped-def]
            await super().add_job(job)
            self.most_jobs = max(self.most_jobs, len(await self.get_jobs()))

    store = CountsJobs()
    ran: list[int] = []

    async def record(n: int) -> None:
        ran.append(n)

    async with AsyncScheduler(store, clock=clock, batch_size=2, max_concurrent_jobs=2) as s:
        for n in range(10):
            await s.add_schedule(record, DateTrigger(START - seconds(1)), args=[n], id=f"s{n}")
        await start(s, clock)
        assert sorted(ran) == list(range(10))
    assert store.most_jobs == 2  # one batch: before, the other 8 waited as pending jobs


async def test_a_jobs_task_comes_from_the_loops_task_factory(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    """Job tasks are made without loop.create_task only when that changes nothing: a task
    factory set on the loop makes every job's task."""
    loop = asyncio.get_running_loop()
    made: list[asyncio.Task[Any]] = []

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        await start(scheduler, clock)
        made.clear()
        assert await scheduler.run_job(double, args=[4], job_executor="loop") == 8
        assert any(
            task.get_coro().__qualname__ == "JobRunner._run_job"  # type: ignore[union-attr]
            for task in made
        )
    finally:
        loop.set_task_factory(None)
