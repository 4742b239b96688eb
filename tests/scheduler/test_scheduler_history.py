"""``nbsched.history()``: what the scheduler ran, from the store's run history, on every store,
after a restart (SQLite) and across schedulers (PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from scheduler_helpers import START, seconds, start

import nbsched
from nbsched import AsyncScheduler, FakeClock, Scheduler, current_async_scheduler
from nbsched.datastores.memory import MemoryDataStore
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio


def _postgresql(request: pytest.FixtureRequest, schema: str | None = None) -> Any:
    from nbsched.datastores.postgresql import PostgreSQLDataStore

    schema = schema or f"hist_{uuid.uuid4().hex[:12]}"
    return PostgreSQLDataStore(request.getfixturevalue("postgresql_dsn"), schema=schema)


STORES: dict[str, Callable[[pytest.FixtureRequest], Any]] = {
    "memory": lambda request: MemoryDataStore(),
    "sqlite": lambda request: SQLiteDataStore(request.getfixturevalue("tmp_path") / "s.db"),
    "postgresql": _postgresql,
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> Any:
    return STORES[request.param](request)


def tick() -> str:
    return "ok"


def fail() -> None:
    raise ValueError("no data for today")


async def three_seconds_of_work() -> None:
    scheduler = current_async_scheduler.get()
    assert scheduler is not None
    await scheduler.clock.sleep_until(scheduler.clock.now() + seconds(3))


class Blocker:
    """A thread-pool job that runs until the test lets it go (so it outlives a stop)."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> None:
        self.running.set()
        self.release.wait(30)


class Jobs:
    """What the module-level jobs below use (a persistent store needs importable functions)."""

    blocker = Blocker()
    forever_started = asyncio.Event()


def blocked() -> None:
    Jobs.blocker()


async def forever() -> None:
    Jobs.forever_started.set()
    await asyncio.Event().wait()


async def test_every_outcome_is_in_the_history(store: Any, clock: FakeClock) -> None:
    blocker = Jobs.blocker = Blocker()
    forever_started = Jobs.forever_started = asyncio.Event()

    async with AsyncScheduler(
        store, clock=clock, identity="one", stop_grace_time=0.01
    ) as scheduler:
        await scheduler.add_schedule(
            tick,
            IntervalTrigger(
                seconds=10, start_time=START + seconds(10), end_time=START + seconds(30)
            ),
            id="late",
            coalesce="all",
            misfire_grace_time=5,
        )
        await scheduler.add_schedule(fail, DateTrigger(START + seconds(40)), id="fails")
        await scheduler.add_schedule(
            three_seconds_of_work, DateTrigger(START + seconds(50)), id="slow"
        )
        await scheduler.add_schedule(forever, DateTrigger(START + seconds(60)), id="forever")
        await clock.advance(32)  # the scheduler was down for the fires at 10 and 20 s
        await start(scheduler, clock)
        await clock.advance(28)  # to 60 s
        await forever_started.wait()
        # added now, as a thread job keeps the fake clock from settling while it runs
        await scheduler.add_schedule(
            blocked, DateTrigger(START + seconds(60)), id="blocked", job_executor="threadpool"
        )
        await asyncio.to_thread(blocker.running.wait, 30)
        await scheduler.stop()  # forever is cancelled; the thread outlives the grace time
        blocker.release.set()
        df = await nbsched.ahistory(scheduler)

    assert list(df.columns) == [
        "schedule_id",
        "fire_time",
        "started_at",
        "finished_at",
        "duration",
        "lateness",
        "outcome",
        "error",
        "scheduler_id",
    ]
    rows = [
        (r.schedule_id, r.fire_time - START, r.outcome)
        for r in df[["schedule_id", "fire_time", "outcome"]].itertuples()
    ]
    assert rows[:5] == [
        ("late", seconds(10), "missed_start_deadline"),
        ("late", seconds(20), "missed_start_deadline"),
        ("late", seconds(30), "success"),
        ("fails", seconds(40), "error"),
        ("slow", seconds(50), "success"),
    ]
    assert sorted(rows[5:]) == [
        ("blocked", seconds(60), "abandoned"),
        ("forever", seconds(60), "cancelled"),
    ]
    by_id = df.set_index("schedule_id")
    assert by_id.loc["slow", "duration"] == seconds(3)
    assert by_id.loc["slow", "lateness"] == timedelta(0)
    assert by_id.loc["fails", "error"] == "ValueError: no data for today"
    late = df[df.schedule_id == "late"]
    assert late.lateness.tolist()[2] == seconds(2)  # started at 32 s for the 30 s fire
    assert late.started_at.isna().tolist() == [True, True, False]
    assert late.duration.isna().tolist() == [True, True, False]
    assert set(df.scheduler_id) == {"one"}
    for column in ("fire_time", "started_at", "finished_at"):
        assert str(df[column].dtype) == "datetime64[ns, UTC]"
    for column in ("duration", "lateness"):
        assert str(df[column].dtype) == "timedelta64[ns]"
    assert df.finished_at.is_monotonic_increasing  # newest last


async def test_history_of_one_schedule_since_a_time(clock: FakeClock) -> None:
    async with AsyncScheduler(clock=clock) as scheduler:
        await scheduler.add_schedule(
            tick, IntervalTrigger(seconds=10, start_time=START + seconds(10)), id="a"
        )
        await scheduler.add_schedule(
            tick, IntervalTrigger(seconds=15, start_time=START + seconds(15)), id="b"
        )
        await start(scheduler, clock)
        await clock.advance(60)
        df = nbsched.history(scheduler, "a", since=START + seconds(35))
        assert [t - START for t in df.fire_time] == [seconds(40), seconds(50), seconds(60)]
        assert set(df.schedule_id) == {"a"}
        assert len(nbsched.history(scheduler)) == 6 + 4
        assert len(nbsched.history(scheduler, since="2026-01-01T00:00:45+00:00")) == 2 + 2


async def test_history_is_empty_with_retention_zero(clock: FakeClock) -> None:
    async with AsyncScheduler(MemoryDataStore(history_retention=0), clock=clock) as scheduler:
        await scheduler.add_schedule(tick, IntervalTrigger(seconds=10), id="a")
        await start(scheduler, clock)
        await clock.advance(30)
        df = nbsched.history(scheduler)
    assert df.empty and list(df.columns)[:2] == ["schedule_id", "fire_time"]
    assert str(df.finished_at.dtype) == "datetime64[ns, UTC]"


async def test_history_survives_a_restart_on_sqlite(tmp_path: Any) -> None:
    path = tmp_path / "kernel.db"
    clock = FakeClock(START)
    async with AsyncScheduler(SQLiteDataStore(path), clock=clock, identity="before") as first:
        await first.add_schedule(
            tick, IntervalTrigger(seconds=10, start_time=START + seconds(10)), id="a"
        )
        await start(first, clock)
        await clock.advance(30)
    # a new kernel: a new store and scheduler on the same file
    async with AsyncScheduler(SQLiteDataStore(path), clock=clock, identity="after") as second:
        df = nbsched.history(second, "a")
    assert [t - START for t in df.fire_time] == [seconds(10), seconds(20), seconds(30)]
    assert set(df.scheduler_id) == {"before"}


async def test_schedulers_on_one_postgresql_schema_see_each_others_runs(
    request: pytest.FixtureRequest,
) -> None:
    schema = f"shared_{uuid.uuid4().hex[:12]}"
    clock = FakeClock(START)
    async with (
        AsyncScheduler(_postgresql(request, schema), clock=clock, identity="one") as one,
        AsyncScheduler(_postgresql(request, schema), clock=clock, identity="two") as two,
    ):
        await one.add_schedule(
            tick, IntervalTrigger(seconds=10, start_time=START + seconds(10)), id="a"
        )
        await start(one, clock)
        await clock.advance(20)
        await one.stop()  # "two" takes over the schedule
        await start(two, clock)
        await clock.advance(20)
        from_one = await nbsched.ahistory(one)
        from_two = await nbsched.ahistory(two)
    assert [
        (t - START, by) for t, by in zip(from_two.fire_time, from_two.scheduler_id, strict=True)
    ] == [
        (seconds(10), "one"),
        (seconds(20), "one"),
        (seconds(30), "two"),
        (seconds(40), "two"),
    ]
    pd.testing.assert_frame_equal(from_one, from_two)


async def test_history_needs_ahistory_on_postgresql(request: pytest.FixtureRequest) -> None:
    async with AsyncScheduler(_postgresql(request), clock=FakeClock(START)) as scheduler:
        with pytest.raises(TypeError, match=r"await nbsched\.ahistory\(scheduler\)"):
            nbsched.history(scheduler)


def test_history_of_a_sync_scheduler(tmp_path: Any) -> None:
    with Scheduler(SQLiteDataStore(tmp_path / "s.db")) as scheduler:
        scheduler.start_in_background()
        assert scheduler.run_job(tick) == "ok"
        with pytest.raises(ValueError, match="no data"):
            scheduler.run_job(fail)
        df = nbsched.history(scheduler)
    assert df.outcome.tolist() == ["success", "error"]
    assert df.schedule_id.isna().all()  # run_job: no schedule


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"schedule_id": 3}, TypeError, "schedule_id: expected a schedule id"),
        ({"since": "yesterday"}, ValueError, "since: 'yesterday' is not an ISO 8601"),
        ({"since": START.replace(tzinfo=None)}, ValueError, "since: .* naive"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], error: type, match: str) -> None:
    with Scheduler() as scheduler:
        with pytest.raises(error, match=match):
            nbsched.history(scheduler, **kwargs)


def test_history_of_something_that_is_not_a_scheduler() -> None:
    with pytest.raises(TypeError, match="scheduler: expected a Scheduler or an AsyncScheduler"):
        nbsched.history("scheduler")  # type: ignore[arg-type]
