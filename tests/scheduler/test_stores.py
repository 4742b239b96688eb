"""The scheduler end to end on every persistent store (the memory store is used everywhere
else): schedules fire on the fake clock, results come back, pause/unpause and the end of a
trigger behave the same."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from scheduler_helpers import START, Recorder, seconds, start

from nbsched import AsyncScheduler, FakeClock, JobOutcome, ScheduleLookupError
from nbsched.events import JobReleased, ScheduleRemoved
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio

calls: list[int] = []


async def tick(n: int) -> int:
    calls.append(n)
    return n * 10


def _sqlite(request: pytest.FixtureRequest) -> Any:
    from nbsched.datastores.sqlite import SQLiteDataStore

    return SQLiteDataStore(request.getfixturevalue("tmp_path") / "schedules.db")


def _postgresql(request: pytest.FixtureRequest) -> Any:
    from nbsched.datastores.postgresql import PostgreSQLDataStore

    dsn = request.getfixturevalue("postgresql_dsn")
    return PostgreSQLDataStore(dsn, schema=f"engine_{uuid.uuid4().hex[:10]}")


STORES: dict[str, Callable[[pytest.FixtureRequest], Any]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> Any:
    calls.clear()
    return STORES[request.param](request)


async def test_scheduler_end_to_end_on_a_persistent_store(store: Any) -> None:
    clock = FakeClock(START)
    recorder = Recorder()
    async with AsyncScheduler(store, clock=clock) as scheduler:
        scheduler.subscribe(recorder)
        schedule_id = await scheduler.add_schedule(
            tick, IntervalTrigger(seconds=10, start_time=START + seconds(10)), args=[1]
        )
        once = await scheduler.add_schedule(tick, DateTrigger(START + seconds(25)), args=[2])
        await start(scheduler, clock)
        await clock.advance(30)
        assert sorted(calls) == [1, 1, 1, 2]
        assert all(e.outcome is JobOutcome.success for e in recorder.of(JobReleased))
        assert [e.schedule_id for e in recorder.of(ScheduleRemoved) if e.finished] == [once]
        with pytest.raises(ScheduleLookupError):
            await scheduler.get_schedule(once)

        assert await scheduler.run_job(tick, args=[3]) == 30

        await scheduler.pause_schedule(schedule_id)
        await clock.advance(60)
        assert calls.count(1) == 3
        await scheduler.unpause_schedule(schedule_id, resume_from="catch_up")
        await clock.settle()
        assert calls.count(1) == 4  # latest of the missed fires, once
        schedule = await scheduler.get_schedule(schedule_id)
        assert schedule.next_fire_time == START + seconds(100)
