"""When the sleeping processing loop wakes up: an added or updated schedule wakes it only when it
fires before the time the loop already sleeps until (no needless store queries per add). On the
memory store the store tells its schedulers of changes itself, so events nobody subscribes to
are not built."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from scheduler_helpers import START, Recorder, seconds, start

from nbsched import AsyncScheduler, FakeClock, JobOutcome
from nbsched.datastores.memory import MemoryDataStore
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.events import Event, JobAdded, JobReleased, ScheduleUpdated
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio


class CountingStore(MemoryDataStore):
    """Counts how often the scheduler looks for due schedules."""

    def __init__(self) -> None:
        super().__init__()
        self.acquisitions = 0

    async def acquire_schedules(self, *args: Any, **kwargs: Any) -> Any:
        self.acquisitions += 1
        return await super().acquire_schedules(*args, **kwargs)


class Ran:
    """A job that records its name, and the names recorded."""

    def __init__(self) -> None:
        self.names: list[str] = []

    async def __call__(self, name: str) -> None:
        self.names.append(name)


async def test_later_schedules_do_not_wake_the_loop_earlier_ones_do() -> None:
    clock, store, ran = FakeClock(START), CountingStore(), Ran()
    async with AsyncScheduler(store, clock=clock) as scheduler:
        await scheduler.add_schedule(ran, DateTrigger(START + seconds(60)), args=["first"])
        await start(scheduler, clock)
        asleep = store.acquisitions

        for i in range(20):  # all fire after the time the loop sleeps until
            await scheduler.add_schedule(
                ran, DateTrigger(START + seconds(120)), args=[f"later {i}"], id=f"later{i}"
            )
        await clock.settle()
        assert store.acquisitions == asleep

        # one that fires sooner wakes the loop, which then sleeps until that time
        await scheduler.add_schedule(ran, DateTrigger(START + seconds(30)), args=["sooner"])
        await clock.settle()
        assert store.acquisitions == asleep + 1

        await clock.advance(30)
        assert ran.names == ["sooner"]
        await clock.advance(30)
        assert ran.names == ["sooner", "first"]
        await clock.advance(60)
        assert sorted(ran.names[2:]) == sorted(f"later {i}" for i in range(20))
        await scheduler.stop()


async def test_a_schedule_due_at_the_wake_time_fires_then() -> None:
    clock, ran = FakeClock(START), Ran()
    async with AsyncScheduler(CountingStore(), clock=clock) as scheduler:
        await scheduler.add_schedule(ran, DateTrigger(START + seconds(10)), args=["a"], id="a")
        await start(scheduler, clock)
        await scheduler.add_schedule(ran, DateTrigger(START + seconds(10)), args=["b"], id="b")
        await clock.advance(10)
        assert sorted(ran.names) == ["a", "b"]
        await scheduler.stop()


class CountingBroker(LocalEventBroker):
    """Counts the events published, by class name."""

    def __init__(self) -> None:
        super().__init__()
        self.published: Counter[str] = Counter()

    async def publish(self, event: Event) -> None:
        self.published[type(event).__name__] += 1
        await super().publish(event)


async def _noop() -> None:
    pass


async def test_a_scheduler_on_the_memory_store_builds_no_event_nobody_subscribes_to() -> None:
    clock, broker = FakeClock(START), CountingBroker()
    async with AsyncScheduler(MemoryDataStore(), broker, clock=clock) as scheduler:
        await start(scheduler, clock)
        for i in range(3):
            await scheduler.add_schedule(_noop, DateTrigger(START + seconds(10)), id=f"s{i}")
        await scheduler.add_schedule(
            _noop, IntervalTrigger(seconds=10, start_time=START + seconds(10)), id="every"
        )
        await clock.advance(10)  # the store wakes the loop itself: every job runs
        assert broker.published["ScheduleAdded"] == 0
        assert broker.published["JobAdded"] == 0
        assert broker.published["JobReleased"] == 0
        assert broker.published["ScheduleUpdated"] == 0

        released = Recorder()
        scheduler.subscribe(released, {JobReleased, JobAdded, ScheduleUpdated})
        await clock.advance(10)  # subscribed to: published as before
        assert released.names() == ["JobAdded", "ScheduleUpdated", "JobReleased"]
        await scheduler.stop()


async def test_schedulers_sharing_a_memory_store_wake_each_other_and_see_results() -> None:
    clock, store, ran = FakeClock(START), MemoryDataStore(), Ran()
    broker = LocalEventBroker()
    async with (
        AsyncScheduler(store, broker, clock=clock, identity="a") as a,
        AsyncScheduler(store, broker, clock=clock, identity="b", max_concurrent_jobs=1) as b,
    ):
        await start(b, clock)  # b sleeps with nothing to do; a never runs its loop
        await a.add_schedule(ran, DateTrigger(START + seconds(5)), args=["from a"])
        await clock.advance(5)
        assert ran.names == ["from a"]  # b was woken by a's add

        # a waits for the result of a job only b runs (b is told when it is released)
        job_id = await a.add_job(ran, args=["job"], result_expiration_time=60)
        result = await asyncio.wait_for(a.get_job_result(job_id), 5)
        assert result.outcome is JobOutcome.success
        assert ran.names == ["from a", "job"]
        await b.stop()


class Gate:
    """Jobs that wait until they are let through, and the names of those that ran."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.names: list[str] = []

    async def __call__(self, name: str) -> None:
        await self.open.wait()
        self.names.append(name)


async def test_a_fire_looks_at_the_store_once_its_jobs_release_does_not_wake_the_loop() -> None:
    # a fire: the loop wakes, turns the due schedule into a job and starts it, looks again
    # (nothing more) and sleeps; the job's release on the memory store does not wake it again
    # when no other job waits (that pass cost a scheduled cell in a kernel about 0.2 ms a run)
    clock, store, ran = FakeClock(START), CountingStore(), Ran()
    async with AsyncScheduler(store, clock=clock) as scheduler:
        await scheduler.add_schedule(
            ran, IntervalTrigger(seconds=10, start_time=START + seconds(10)), args=["tick"]
        )
        await start(scheduler, clock)
        before = store.acquisitions
        for _ in range(5):
            await clock.advance(10)
        assert ran.names == ["tick"] * 5
        assert store.acquisitions - before == 2 * 5
        await scheduler.stop()


@pytest.mark.parametrize("limit", ["max_concurrent_jobs", "max_running_jobs"])
async def test_a_release_wakes_the_loop_for_a_job_waiting_for_room(limit: str) -> None:
    clock, gate = FakeClock(START), Gate()
    options: dict[str, Any] = {"max_concurrent_jobs": 1} if limit == "max_concurrent_jobs" else {}
    async with AsyncScheduler(MemoryDataStore(), clock=clock, **options) as scheduler:
        if limit == "max_running_jobs":
            await scheduler.configure_task(gate, max_running_jobs=1)
        await start(scheduler, clock)
        first = await scheduler.add_job(gate, args=["first"], result_expiration_time=60)
        second = await scheduler.add_job(gate, args=["second"], result_expiration_time=60)
        await clock.settle()
        gate.open.set()  # the first ends; the second waits for its room, then runs
        for job_id in (first, second):
            result = await asyncio.wait_for(scheduler.get_job_result(job_id), 5)
            assert result.outcome is JobOutcome.success
        assert gate.names == ["first", "second"]
        await scheduler.stop()
