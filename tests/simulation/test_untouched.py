"""simulate() works on copies: the scheduler it was given, its store, its triggers and the
triggers of a {name: trigger} dict are the same afterwards; and it reads every kind of store."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import nbsched
from nbsched import AsyncScheduler, CoalescePolicy, FakeClock, Scheduler
from nbsched.datastores.memory import MemoryDataStore
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.triggers import CronTrigger, IntervalTrigger

UTC = timezone.utc
S = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
END = S + timedelta(hours=6)
DOWN = [(S + timedelta(hours=1), S + timedelta(hours=2))]


async def job() -> None:
    raise AssertionError("simulate() ran the scheduler's own job function")


def snapshot(schedules: list[Any], tasks: list[Any]) -> str:
    """Everything a simulation could change, as comparable text."""
    return json.dumps(
        {
            "schedules": [
                {
                    "id": s.id,
                    "trigger": s.trigger.__getstate__(),
                    "next": str(s.next_fire_time),
                    "last": str(s.last_fire_time),
                    "paused": s.paused,
                    "coalesce": s.coalesce.name,
                    "grace": str(s.misfire_grace_time),
                    "acquired_by": s.acquired_by,
                }
                for s in schedules
            ],
            "tasks": [[t.id, repr(t.func), t.max_running_jobs, t.running_jobs] for t in tasks],
        },
        sort_keys=True,
        default=str,
    )


def schedule_specs() -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Arguments of add_schedule for two schedules with policies of their own."""
    return [
        (
            (job, IntervalTrigger(minutes=10, start_time=S)),
            {"id": "every-10", "max_running_jobs": 1},
        ),
        (
            (job, CronTrigger(minute="*/15", start_time=S, timezone="Europe/Berlin")),
            {"id": "cron", "coalesce": CoalescePolicy.all, "misfire_grace_time": 300},
        ),
    ]


def test_a_scheduler_and_its_live_triggers_are_left_as_they_were() -> None:
    with Scheduler() as scheduler:
        for args, kwargs in schedule_specs():
            scheduler.add_schedule(*args, **kwargs)
        store = scheduler.data_store
        assert isinstance(store, MemoryDataStore)
        # the store's own trigger objects, which a simulation must never advance
        live = {i: store._schedules[i].trigger for i in ("every-10", "cron")}
        live_states = {i: t.__getstate__() for i, t in live.items()}
        before = snapshot(scheduler.get_schedules(), scheduler.get_tasks())

        df = nbsched.simulate(scheduler, S, END, durations=timedelta(minutes=15), downtime=DOWN)

        assert set(df["outcome"]) >= {"ran", "coalesced"}  # it did simulate something
        assert {i: t.__getstate__() for i, t in live.items()} == live_states
        assert {i: store._schedules[i].trigger for i in live} == live  # same objects
        assert snapshot(scheduler.get_schedules(), scheduler.get_tasks()) == before
        assert scheduler.get_jobs() == []
        assert scheduler.state is nbsched.RunState.stopped


def test_triggers_of_a_dict_are_not_advanced() -> None:
    triggers = {
        "interval": IntervalTrigger(minutes=7, start_time=S),
        "cron": CronTrigger(minute="5,35", start_time=S),
    }
    states = {name: t.__getstate__() for name, t in triggers.items()}
    first = nbsched.simulate(triggers, S, END)
    assert {name: t.__getstate__() for name, t in triggers.items()} == states
    again = nbsched.simulate(triggers, S, END)
    assert first.equals(again)
    assert len(first) == len(range(0, 360, 7)) + 12


@pytest.mark.anyio
async def test_a_running_scheduler_on_sqlite_is_left_as_it_was(tmp_path: Path) -> None:
    """Called from a running event loop (as in a notebook cell), on a started scheduler whose
    store is a SQLite file: the file's rows are the same afterwards."""
    path = tmp_path / "schedules.db"
    clock = FakeClock(S - timedelta(minutes=1))
    async with AsyncScheduler(SQLiteDataStore(path), clock=clock) as scheduler:
        for args, kwargs in schedule_specs():
            await scheduler.add_schedule(*args, **kwargs)
        scheduler.start_in_background()
        await clock.settle()
        before = snapshot(await scheduler.get_schedules(), await scheduler.get_tasks())
        rows_before = dump(path)

        df = nbsched.simulate(scheduler, S, END, durations=timedelta(minutes=15), downtime=DOWN)
        again = await nbsched.asimulate(
            scheduler, S, END, durations=timedelta(minutes=15), downtime=DOWN
        )

        assert len(df) == 36 + 24
        assert list(df[["schedule_id", "fire_time"]].itertuples(index=False)) == list(
            again[["schedule_id", "fire_time"]].itertuples(index=False)
        )
        assert snapshot(await scheduler.get_schedules(), await scheduler.get_tasks()) == before
        assert dump(path) == rows_before
        await scheduler.stop()


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


class SlowReadingStore(MemoryDataStore):
    """A store whose reads really wait (as a network store's do)."""

    async def get_schedules(self, ids: Any = None) -> Any:
        import asyncio

        await asyncio.sleep(0)
        return await super().get_schedules(ids)


@pytest.mark.anyio
async def test_a_store_read_only_asynchronously_needs_asimulate() -> None:
    async with AsyncScheduler(SlowReadingStore(), clock=FakeClock(S)) as scheduler:
        await scheduler.add_schedule(job, IntervalTrigger(minutes=30, start_time=S), id="a")
        with pytest.raises(TypeError, match=r"await nbsched\.asimulate"):
            nbsched.simulate(scheduler, S, END)
        df = await nbsched.asimulate(scheduler, S, END)
        assert len(df) == 12 and set(df["outcome"]) == {"ran"}
        assert scheduler.data_store._job_table.jobs == {}  # type: ignore[attr-defined]


def test_the_simulated_store_keeps_no_run_history_of_its_own() -> None:
    from nbsched.simulation._engine import _RecordingStore

    assert _RecordingStore({}).history_retention is None
