"""The scenarios of APScheduler 4's own scheduler tests, tried against nbsched.

Each test is a scenario from ``tests/test_schedulers.py`` of APScheduler 4, written again for
nbsched (a fake clock instead of real waits). Where nbsched differs on purpose, the test pins
nbsched's behaviour and README's "Coming from APScheduler 4" lists the difference.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from scheduler_helpers import START, Recorder, seconds, start

import nbsched
from nbsched import (
    AsyncScheduler,
    FakeClock,
    JobLookupError,
    JobOutcome,
    RunState,
    Scheduler,
    SchedulerNotRunningError,
)
from nbsched.datastores.memory import MemoryDataStore
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.events import (
    JobAcquired,
    JobAdded,
    JobReleased,
    ScheduleAdded,
    ScheduleRemoved,
    ScheduleUpdated,
    TaskAdded,
    TaskUpdated,
)
from nbsched.executors.async_ import AsyncJobExecutor
from nbsched.executors.processpool import ProcessPoolJobExecutor
from nbsched.executors.threadpool import ThreadPoolJobExecutor
from nbsched.triggers.date import DateTrigger

pytestmark = pytest.mark.anyio


async def async_job(fail: bool = False) -> str:
    if fail:
        raise RuntimeError("failing as requested")
    return "returnvalue"


def sync_job(fail: bool = False) -> str:
    if fail:
        raise RuntimeError("failing as requested")
    return "returnvalue"


class Holder:
    def __init__(self, value: int) -> None:
        self.value = value

    @staticmethod
    async def a_static() -> str:
        return "static"

    @classmethod
    def a_class_method(cls) -> str:
        return "class"

    def a_method(self) -> int:
        return self.value

    async def an_async_method(self) -> int:
        return self.value

    def __call__(self) -> int:
        return self.value


def entered(clock: FakeClock, **options: Any) -> AsyncScheduler:
    return AsyncScheduler(clock=clock, **options)


# --- construction and use -------------------------------------------------------------------


async def test_use_before_entering_raises_a_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="has not been started") as info:
        await AsyncScheduler().add_job(async_job)
    assert isinstance(info.value, SchedulerNotRunningError)


async def test_properties(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        assert isinstance(scheduler.data_store, MemoryDataStore)
        assert isinstance(scheduler.event_broker, LocalEventBroker)
        assert isinstance(scheduler.identity, str)
        assert isinstance(scheduler.job_executors["async"], AsyncJobExecutor)
        assert isinstance(scheduler.job_executors["threadpool"], ThreadPoolJobExecutor)
        assert isinstance(scheduler.job_executors["processpool"], ProcessPoolJobExecutor)
        assert scheduler.state is RunState.stopped


def test_the_sync_scheduler_exposes_the_same_settings() -> None:
    executor = ThreadPoolJobExecutor()
    scheduler = Scheduler(
        identity="identity",
        max_concurrent_jobs=150,
        cleanup_interval=5,
        job_executors={"executor1": executor},
    )
    assert scheduler.identity == "identity"
    assert scheduler.max_concurrent_jobs == 150
    assert scheduler.cleanup_interval == timedelta(seconds=5)
    assert scheduler.job_executors["executor1"] is executor
    assert scheduler.lease_duration == timedelta(seconds=30)


@pytest.mark.parametrize(
    "executor, same_thread",
    [("async", True), ("loop", True), ("threadpool", False)],
)
async def test_where_a_plain_function_runs(
    clock: FakeClock, executor: str, same_thread: bool
) -> None:
    async with entered(clock) as scheduler:
        await start(scheduler, clock)
        thread_id = await scheduler.run_job(threading.get_ident, job_executor=executor)
        await scheduler.stop()
    assert (thread_id == threading.get_ident()) is same_thread


async def test_a_plain_function_runs_in_the_thread_pool_by_default(clock: FakeClock) -> None:
    # APScheduler 4 runs every task on the "async" executor unless told otherwise
    async with entered(clock) as scheduler:
        await start(scheduler, clock)
        assert await scheduler.run_job(threading.get_ident) != threading.get_ident()
        await scheduler.stop()


@pytest.mark.slow
async def test_processpool_executor(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        await start(scheduler, clock)
        assert await scheduler.run_job(os.getpid, job_executor="processpool") != os.getpid()
        await scheduler.stop()


# --- tasks and schedules --------------------------------------------------------------------


async def test_configure_task_then_update_it(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, [TaskAdded, TaskUpdated])
        await scheduler.configure_task("mytask", func=async_job)
        configured = await scheduler.configure_task("mytask", misfire_grace_time=2)
        assert configured.func == f"{__name__}:async_job"
        (task,) = await scheduler.get_tasks()
        assert task.id == "mytask"
        assert task.func == f"{__name__}:async_job"  # the import reference, in every store
        assert task.misfire_grace_time == timedelta(seconds=2)
    assert recorder.names() == ["TaskAdded", "TaskUpdated"]


async def test_add_pause_unpause_remove_schedule(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, [TaskAdded, ScheduleAdded, ScheduleUpdated, ScheduleRemoved])
        schedule_id = await scheduler.add_schedule(async_job, DateTrigger(START), id="foo")
        assert schedule_id == "foo"
        (schedule,) = await scheduler.get_schedules()
        assert schedule.task_id == f"{__name__}:async_job"
        await scheduler.pause_schedule("foo")
        assert (await scheduler.get_schedule("foo")).paused
        await scheduler.unpause_schedule("foo")
        schedule = await scheduler.get_schedule("foo")
        assert not schedule.paused and schedule.next_fire_time == START
        await scheduler.remove_schedule("foo")
        assert await scheduler.get_schedules() == []
    assert recorder.names() == [
        "TaskAdded",
        "ScheduleAdded",
        "ScheduleUpdated",
        "ScheduleUpdated",
        "ScheduleRemoved",
    ]
    removed = recorder.events[-1]
    assert isinstance(removed, ScheduleRemoved) and not removed.finished


async def test_add_job_then_start_and_wait_for_its_result(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder)
        job_id = await scheduler.add_job(async_job, result_expiration_time=10)
        (job,) = await scheduler.get_jobs()
        assert job.id == job_id and job.task_id == f"{__name__}:async_job"
        with pytest.raises(JobLookupError):
            await scheduler.get_job_result(job_id, wait=False)
        await scheduler.start_in_background()
        result = await scheduler.get_job_result(job_id)
        assert result.outcome is JobOutcome.success and result.return_value == "returnvalue"
        await scheduler.stop()
    names = [n for n in recorder.names() if n != "JobRemoved"]
    assert names == [
        "TaskAdded",
        "JobAdded",
        "SchedulerStarted",
        "JobAcquired",
        "JobReleased",
        "SchedulerStopped",
    ]
    acquired, released = recorder.of(JobAcquired)[0], recorder.of(JobReleased)[0]
    assert acquired.schedule_id is None and acquired.scheduled_start is None
    assert released.started_at is not None and released.started_at >= acquired.timestamp


@pytest.mark.parametrize("success", [True, False])
async def test_run_job(clock: FakeClock, success: bool) -> None:
    async with entered(clock) as scheduler:
        await scheduler.start_in_background()
        if success:
            assert await scheduler.run_job(async_job) == "returnvalue"
        else:
            with pytest.raises(RuntimeError, match="failing as requested"):
                await scheduler.run_job(async_job, kwargs={"fail": True})
        assert await scheduler.get_jobs() == []
        await scheduler.stop()


@pytest.mark.parametrize(
    "target, expected",
    [
        pytest.param(async_job, "returnvalue", id="async function"),
        pytest.param(sync_job, "returnvalue", id="function"),
        pytest.param(Holder.a_static, "static", id="staticmethod"),
        pytest.param(Holder.a_class_method, "class", id="classmethod"),
        pytest.param(Holder(5).a_method, 5, id="method"),
        pytest.param(Holder(6).an_async_method, 6, id="async method"),
        pytest.param(Holder(7), 7, id="callable instance"),
        pytest.param(bytes, b"", id="builtin"),
        pytest.param(functools.partial(bytes, "foo", "ascii"), b"foo", id="partial"),
    ],
)
@pytest.mark.parametrize("scheduled", [False, True], ids=["job", "schedule"])
async def test_callable_types(
    clock: FakeClock, target: Any, expected: object, scheduled: bool
) -> None:
    async with entered(clock) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, JobReleased)
        await start(scheduler, clock)
        if scheduled:
            await scheduler.add_schedule(
                target, DateTrigger(START), id="foo", job_result_expiration_time=10
            )
        else:
            await scheduler.add_job(target, result_expiration_time=10)
        await clock.settle()
        (released,) = recorder.of(JobReleased)
        result = await scheduler.get_job_result(released.job_id)
        await scheduler.stop()
    assert result.outcome is JobOutcome.success
    assert result.return_value == expected


def _one_name_targets() -> list[Callable[..., Any]]:
    return [
        lambda: "first lambda",
        lambda: "second lambda",
        functools.partial(str, "first partial"),
        functools.partial(str, "second partial"),
        Holder(1).a_method,
        Holder(2).a_method,
        Holder(3),
        Holder(4),
    ]


async def test_different_callables_with_one_name_each_run_their_own(clock: FakeClock) -> None:
    # lambdas, partials, bound methods and callable instances share "module:qualname"
    targets = _one_name_targets()
    async with entered(clock) as scheduler:
        await start(scheduler, clock)
        job_ids = [await scheduler.add_job(t, result_expiration_time=10) for t in targets]
        await clock.settle()
        values = [(await scheduler.get_job_result(j)).return_value for j in job_ids]
        await scheduler.stop()
    assert values == [
        "first lambda",
        "second lambda",
        "first partial",
        "second partial",
        1,
        2,
        3,
        4,
    ]


async def test_a_scheduled_job_that_missed_its_deadline(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, [JobAdded, ScheduleRemoved, JobReleased])
        await scheduler.add_schedule(async_job, DateTrigger(START), misfire_grace_time=0, id="foo")
        await clock.advance(1)
        await start(scheduler, clock)
        await scheduler.stop()
    added, *rest = recorder.events
    assert isinstance(added, JobAdded) and added.schedule_id == "foo"
    released = recorder.of(JobReleased)[0]
    assert released.job_id == added.job_id and released.scheduled_start == START
    assert released.started_at is None
    assert released.outcome is JobOutcome.missed_start_deadline
    # a finished schedule is removed at once (APScheduler keeps it until cleanup())
    (removed,) = recorder.of(ScheduleRemoved)
    assert removed.finished


async def test_get_job_result_of_a_job_that_failed(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        job_id = await scheduler.add_job(
            async_job, kwargs={"fail": True}, result_expiration_time=5
        )
        await scheduler.start_in_background()
        result = await scheduler.get_job_result(job_id)
        await scheduler.stop()
    assert result.outcome is JobOutcome.error
    assert isinstance(result.exception, RuntimeError)
    assert str(result.exception) == "failing as requested"


async def test_a_result_that_is_not_kept_cannot_be_fetched(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, JobReleased)
        await start(scheduler, clock)
        job_id = await scheduler.add_job(async_job)
        await clock.settle()
        assert [e.job_id for e in recorder.events] == [job_id]
        with pytest.raises(JobLookupError):
            await scheduler.get_job_result(job_id, wait=False)
        await scheduler.stop()


async def test_a_pending_result_raises_job_lookup_error_without_wait(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        job_id = await scheduler.add_job(async_job)
        with pytest.raises(JobLookupError):
            await scheduler.get_job_result(job_id, wait=False)


async def test_add_job_keeps_the_tasks_configuration(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        await scheduler.configure_task(
            "configured",
            func=async_job,
            job_executor="async",
            misfire_grace_time=10,
            max_running_jobs=5,
            metadata={"key": "value"},
        )
        assert await scheduler.add_job("configured")
        task = await scheduler.data_store.get_task("configured")
    assert task.job_executor == "async"
    assert task.misfire_grace_time == timedelta(seconds=10)
    assert task.max_running_jobs == 5
    assert task.metadata == {"key": "value"}


async def test_context_variables_inside_a_job(clock: FakeClock) -> None:
    seen: dict[str, Any] = {}

    def check() -> None:
        seen["scheduler"] = nbsched.current_async_scheduler.get()
        seen["job"] = nbsched.current_job.get()

    async with entered(clock) as scheduler:
        await scheduler.configure_task("contextvars", func=check)
        await scheduler.add_schedule(
            "contextvars", DateTrigger(START), id="foo", misfire_grace_time=10
        )
        await start(scheduler, clock)
        await scheduler.stop()
    assert seen["scheduler"] is scheduler
    job = seen["job"]
    assert job.task_id == "contextvars" and job.schedule_id == "foo"
    assert job.scheduled_fire_time == START
    assert job.start_deadline == START + job.jitter + seconds(10)


async def test_explicit_cleanup_drops_expired_results(clock: FakeClock) -> None:
    async with entered(clock, cleanup_interval=3600) as scheduler:
        await start(scheduler, clock)
        job_id = await scheduler.add_job(async_job, result_expiration_time=1)
        await clock.settle()
        await clock.advance(2)
        await scheduler.cleanup()
        with pytest.raises(JobLookupError):
            await scheduler.get_job_result(job_id)
        await scheduler.stop()


async def test_get_next_event(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        await start(scheduler, clock)
        waiting = asyncio.ensure_future(scheduler.get_next_event(JobReleased))
        await asyncio.sleep(0)  # subscribed
        await scheduler.add_job(async_job)
        event = await waiting
        await scheduler.stop()
    assert isinstance(event, JobReleased) and event.outcome is JobOutcome.success


async def test_wait_until_stopped_when_not_started_returns(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        await scheduler.add_job(scheduler.stop)
        await scheduler.wait_until_stopped()
    await scheduler.wait_until_stopped()  # a no-op


async def test_a_job_that_stops_the_scheduler(clock: FakeClock) -> None:
    runs: list[int] = []

    async def second_stops() -> None:
        runs.append(1)
        if len(runs) == 2:
            await scheduler.stop()

    async with entered(clock, max_concurrent_jobs=1) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, JobReleased)
        await scheduler.configure_task("stopper", func=second_stops)
        await scheduler.add_job("stopper")
        await scheduler.add_job("stopper")
        await scheduler.run_until_stopped()
    assert runs == [1, 1]
    assert [e.outcome for e in recorder.events] == [JobOutcome.success] * 2


async def test_pause_then_start_then_unpause(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        recorder = Recorder()
        await scheduler.add_schedule(async_job, DateTrigger(START), id="foo")
        scheduler.subscribe(recorder, [ScheduleUpdated, JobAdded])
        await scheduler.pause_schedule("foo")
        await start(scheduler, clock)
        assert await scheduler.get_jobs() == []
        await scheduler.unpause_schedule("foo")
        await clock.settle()
        await scheduler.stop()
    assert recorder.names()[:3] == ["ScheduleUpdated", "ScheduleUpdated", "JobAdded"]


async def test_a_schedules_job_result_expiration_time(clock: FakeClock) -> None:
    async with entered(clock) as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, JobAdded)
        await scheduler.add_schedule(
            async_job, DateTrigger(START), id="foo", job_result_expiration_time=10
        )
        await start(scheduler, clock)
        (added,) = recorder.events
        result = await scheduler.get_job_result(added.job_id)
        await scheduler.stop()
    assert result.outcome is JobOutcome.success and result.return_value == "returnvalue"


# --- the sync Scheduler ---------------------------------------------------------------------


def test_sync_threadpool_executor() -> None:
    with Scheduler() as scheduler:
        scheduler.start_in_background()
        assert scheduler.run_job(threading.get_ident) != threading.get_ident()


def test_sync_add_job_wait_result() -> None:
    with Scheduler() as scheduler:
        recorder = Recorder()
        assert scheduler.get_jobs() == []
        scheduler.subscribe(recorder)
        job_id = scheduler.add_job(sync_job, result_expiration_time=10)
        with pytest.raises(JobLookupError):
            scheduler.get_job_result(job_id, wait=False)
        scheduler.start_in_background()
        result = scheduler.get_job_result(job_id)
    assert result.outcome is JobOutcome.success and result.return_value == "returnvalue"
    names = [n for n in recorder.names() if n != "JobRemoved"]
    assert names[:5] == ["TaskAdded", "JobAdded", "SchedulerStarted", "JobAcquired", "JobReleased"]


@pytest.mark.parametrize("how", ["start_in_background", "run_until_stopped"])
def test_sync_a_job_that_stops_the_scheduler(how: str) -> None:
    with Scheduler() as scheduler:
        recorder = Recorder()
        scheduler.configure_task("stop", func=scheduler.stop)
        scheduler.add_job("stop")
        scheduler.subscribe(recorder)
        if how == "start_in_background":
            scheduler.start_in_background()
            scheduler.wait_until_stopped()
        else:
            scheduler.run_until_stopped()
    names = [n for n in recorder.names() if n != "JobRemoved"]
    assert names == ["SchedulerStarted", "JobAcquired", "JobReleased", "SchedulerStopped"]
    (released,) = recorder.of(JobReleased)
    assert released.outcome is JobOutcome.success


def test_sync_context_variables_inside_a_job() -> None:
    def who() -> tuple[object, object]:
        return nbsched.current_scheduler.get(), nbsched.current_async_scheduler.get()

    with Scheduler() as scheduler:
        scheduler.start_in_background()
        sync_one, async_one = scheduler.run_job(who)
    assert sync_one is scheduler and async_one is scheduler.async_scheduler


def test_sync_explicit_cleanup() -> None:
    with Scheduler() as scheduler:
        scheduler.start_in_background()
        scheduler.cleanup()
        assert scheduler.get_tasks() == []


async def test_callables_without_an_import_path_run_as_given_from_the_memory_store(
    clock: FakeClock,
) -> None:
    """The memory store hands these back as given (there is no reference to hand back), so a
    scheduler that did not configure them itself (here: entered again, its task cache gone)
    still runs them."""
    targets = [*_one_name_targets(), sync_job]  # and one read back by reference, imported
    store = MemoryDataStore()
    scheduler = AsyncScheduler(store, clock=clock)
    async with scheduler:
        for target in targets:
            await scheduler.configure_task(target)
    async with scheduler:
        tasks = {task.func: task for task in await scheduler.get_tasks()}
        tasks[sync_job] = tasks.pop(f"{__name__}:sync_job")
        await start(scheduler, clock)
        job_ids = [
            await scheduler.add_job(tasks[t].id, result_expiration_time=10) for t in targets
        ]
        await clock.settle()
        values = [(await scheduler.get_job_result(j)).return_value for j in job_ids]
        await scheduler.stop()
    assert values == [
        "first lambda",
        "second lambda",
        "first partial",
        "second partial",
        1,
        2,
        3,
        4,
        "returnvalue",
    ]
