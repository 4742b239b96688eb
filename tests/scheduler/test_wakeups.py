"""When the sleeping processing loop wakes up: an added or updated schedule wakes it only when it
fires before the time the loop already sleeps until (no needless store queries per add)."""

from __future__ import annotations

from typing import Any

import pytest
from scheduler_helpers import START, seconds, start

from nbsched import AsyncScheduler, FakeClock
from nbsched.datastores.memory import MemoryDataStore
from nbsched.triggers.date import DateTrigger

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
