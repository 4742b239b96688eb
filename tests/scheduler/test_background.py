"""Running on somebody else's loop (start_in_background) and the thread-safe sync facade."""

from __future__ import annotations

import asyncio
import inspect
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from scheduler_helpers import START, Recorder

from nbsched import AsyncScheduler, FakeClock, JobOutcome, RunState, Scheduler
from nbsched.datastores.memory import MemoryDataStore
from nbsched.events import SchedulerStarted, SchedulerStopped
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger


class BrokenStore(MemoryDataStore):
    async def acquire_schedules(self, *args: object, **kwargs: object) -> list:
        raise RuntimeError("the disk caught fire")


async def triple(x: int) -> int:
    return 3 * x


def square(x: int) -> int:
    return x * x


def test_start_in_background_on_a_running_loop() -> None:
    """As in a notebook cell: synchronous code on a running loop starts the scheduler."""
    clock = FakeClock(START)
    outcome: dict[str, object] = {}

    def cell(scheduler: AsyncScheduler) -> None:
        scheduler.start_in_background()  # returns at once, nothing awaited
        outcome["state right after"] = scheduler.state

    async def main() -> None:
        scheduler = AsyncScheduler(clock=clock)
        recorder = Recorder()
        scheduler.subscribe(recorder)
        cell(scheduler)
        calls: list[int] = []

        async def tick(n: int) -> None:
            calls.append(n)

        # methods called while the host task is still starting wait for it
        await scheduler.add_schedule(
            tick, IntervalTrigger(seconds=5, start_time=START + timedelta(seconds=5)), args=[1]
        )
        await clock.advance(15)
        outcome["calls"] = list(calls)
        outcome["tasks while running"] = len(
            [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        )
        assert await scheduler.run_job(triple, args=[3]) == 9
        await scheduler.stop()
        outcome["state after stop"] = scheduler.state
        outcome["events"] = [type(e) for e in recorder.of(SchedulerStarted, SchedulerStopped)]
        outcome["leftover tasks"] = [
            t for t in asyncio.all_tasks() if t is not asyncio.current_task()
        ]

    asyncio.run(main())
    assert outcome["state right after"] is RunState.starting
    assert outcome["calls"] == [1, 1, 1]
    # the host task, the processing loop's two housekeeping tasks and its wait for the next fire
    assert outcome["tasks while running"] == 4
    assert outcome["state after stop"] is RunState.stopped
    assert outcome["events"] == [SchedulerStarted, SchedulerStopped]
    assert outcome["leftover tasks"] == []


def test_start_in_background_without_a_running_loop_explains_what_to_do() -> None:
    scheduler = AsyncScheduler()
    with pytest.raises(RuntimeError, match="nbsched.Scheduler"):
        scheduler.start_in_background()
    assert scheduler.state is RunState.stopped


def test_a_crash_in_the_host_task_is_logged_and_published(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> list[SchedulerStopped]:
        scheduler = AsyncScheduler(BrokenStore(), clock=FakeClock(START))
        stopped: list[SchedulerStopped] = []
        scheduler.subscribe(stopped.append, SchedulerStopped)  # type: ignore[arg-type]  # filtered
        scheduler.start_in_background()
        await scheduler.wait_until_stopped()
        assert scheduler.state is RunState.stopped
        return stopped

    stopped = asyncio.run(main())
    assert len(stopped) == 1
    assert stopped[0].exception == "RuntimeError: the disk caught fire"
    assert "the disk caught fire" in caplog.text


def test_sync_facade_from_several_threads_at_once() -> None:
    with Scheduler() as scheduler:
        scheduler.start_in_background()
        assert scheduler.state is RunState.started

        def worker(n: int) -> tuple[Any, bool, UUID]:
            value = scheduler.run_job(square, args=[n])
            schedule_id = scheduler.add_schedule(
                square,
                DateTrigger(datetime(2999, 1, 1, tzinfo=timezone.utc)),
                id=f"s{n}",
                args=[n],
            )
            scheduler.pause_schedule(schedule_id)
            paused = scheduler.get_schedule(schedule_id).paused
            job_id = scheduler.add_job(triple, args=[n], result_expiration_time=60)
            return value, paused, job_id

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(worker, range(40)))
        assert [r[0] for r in results] == [n * n for n in range(40)]
        assert all(r[1] is True for r in results)
        for n, (_, _, job_id) in enumerate(results):
            result = scheduler.get_job_result(job_id)
            assert result.outcome is JobOutcome.success and result.return_value == 3 * n
        assert sorted(s.id for s in scheduler.get_schedules()) == sorted(
            f"s{n}" for n in range(40)
        )
        thread = scheduler._thread
    assert thread is not None and not thread.is_alive()
    assert scheduler.state is RunState.stopped


def test_sync_facade_refuses_blocking_calls_from_its_own_thread() -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    with Scheduler() as scheduler:

        def callback(event: object) -> None:
            try:
                scheduler.get_schedules()
            except RuntimeError as exc:
                errors.append(exc)
            done.set()

        scheduler.subscribe(callback, SchedulerStarted, one_shot=True)
        scheduler.start_in_background()
        assert done.wait(10)
    assert "scheduler's own thread" in str(errors[0])


def test_sync_facade_stop_from_another_thread_ends_run_until_stopped() -> None:
    scheduler = Scheduler()
    started = threading.Event()
    scheduler.subscribe(lambda event: started.set(), SchedulerStarted)

    def stop_once_started() -> None:
        if started.wait(10):
            scheduler.request_stop()

    stopper = threading.Thread(target=stop_once_started)
    stopper.start()
    scheduler.run_until_stopped()
    stopper.join()
    assert scheduler.state is RunState.stopped
    scheduler.stop()


def test_the_sync_facade_offers_every_public_coroutine_method_with_its_signature() -> None:
    coroutine_methods = {
        name
        for name, member in vars(AsyncScheduler).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }
    # the lifecycle ones have blocking versions of their own (they manage the thread too)
    lifecycle = {"run_until_stopped", "stop", "wait_until_stopped"}
    for name in coroutine_methods - lifecycle:
        blocking = getattr(Scheduler, name)
        assert inspect.signature(blocking) == inspect.signature(getattr(AsyncScheduler, name))
        assert blocking.__doc__ == getattr(AsyncScheduler, name).__doc__
        assert blocking.__qualname__ == f"Scheduler.{name}"
        assert not inspect.iscoroutinefunction(blocking)
    assert lifecycle <= set(vars(Scheduler))


def test_the_sync_facade_has_every_public_attribute_of_the_async_scheduler() -> None:
    # APScheduler 4 checks the same parity (properties included) between its two schedulers
    public = {name for name in dir(AsyncScheduler) if not name.startswith("_")}
    assert sorted(public - set(dir(Scheduler))) == []


def test_the_sync_facade_event_loop_is_the_one_its_thread_runs() -> None:
    scheduler = Scheduler()
    assert scheduler.event_loop is None
    with scheduler:
        scheduler.start_in_background()
        loop = scheduler.event_loop
        assert loop is not None
        assert scheduler.run_job(asyncio.get_running_loop, job_executor="async") is loop
