"""What ``add_schedule`` leaves to its caller and what it stores (the add path is kept lean,
see docs/performance.md (f): one trigger copy, made by the scheduler and kept by the store)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any
from uuid import UUID

import pytest
from scheduler_helpers import START, seconds, start

from nbsched import AsyncScheduler, CoalescePolicy, FakeClock, Schedule
from nbsched._schedulers.async_ import _new_schedule
from nbsched.abc import Trigger
from nbsched.triggers.combining import OrTrigger
from nbsched.triggers.cron import CronTrigger
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio


async def tick() -> None:
    pass


def _triggers() -> list[Trigger]:
    return [
        IntervalTrigger(seconds=30, start_time=START + seconds(10)),
        CronTrigger(second="*/20", timezone="UTC", start_time=START),
        CronTrigger(second="*/20", timezone="Europe/Berlin", start_time=START),
        OrTrigger(
            [
                IntervalTrigger(seconds=45, start_time=START),
                CronTrigger(second="15", timezone="UTC", start_time=START),
            ]
        ),
    ]


@pytest.mark.parametrize("trigger", _triggers(), ids=lambda t: type(t).__name__)
async def test_the_callers_trigger_is_untouched_by_the_add_and_by_the_fires(
    scheduler: AsyncScheduler, clock: FakeClock, trigger: Trigger
) -> None:
    state = trigger.__getstate__()
    await scheduler.add_schedule(tick, trigger, id="s")
    assert trigger.__getstate__() == state
    await start(scheduler, clock)
    await clock.advance(100)  # several fires advance the stored trigger
    assert trigger.__getstate__() == state
    (stored,) = await scheduler.get_schedules()
    assert stored.trigger is not trigger
    assert stored.trigger.__getstate__() != state


async def test_one_trigger_object_added_twice_makes_two_independent_schedules(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    trigger = IntervalTrigger(seconds=30, start_time=START + seconds(10))
    await scheduler.add_schedule(tick, trigger, id="a")
    await scheduler.add_schedule(tick, trigger, id="b")
    await start(scheduler, clock)
    await clock.advance(45)  # a and b fired at 10 and 40 s
    a, b = await scheduler.get_schedules()
    assert a.next_fire_time == b.next_fire_time == START + seconds(70)
    assert a.trigger is not b.trigger
    assert trigger.next() == START + seconds(10)


async def test_the_stored_schedule_holds_what_was_given(scheduler: AsyncScheduler) -> None:
    args: list[Any] = [[1]]
    kwargs = {"k": [2]}
    metadata = {"m": [3]}
    trigger = CronTrigger(hour=9, timezone="UTC", start_time=START)
    await scheduler.add_schedule(
        tick,
        trigger,
        id="s",
        args=args,
        kwargs=kwargs,
        metadata=metadata,
        coalesce="earliest",
        misfire_grace_time=5,
        max_jitter=2,
        job_result_expiration_time=60,
        paused=True,
    )
    args[0].append(4)
    kwargs["k"].append(4)
    metadata["m"].append(4)
    schedule = await scheduler.get_schedule("s")
    assert (schedule.args, schedule.kwargs, schedule.metadata) == (
        ([1],),
        {"k": [2]},
        {"m": [3]},
    )
    assert schedule.paused is True
    assert schedule.coalesce.name == "earliest"
    assert (schedule.misfire_grace_time, schedule.max_jitter) == (seconds(5), seconds(2))
    assert schedule.job_result_expiration_time == seconds(60)
    assert schedule.next_fire_time == START.replace(hour=9)
    assert schedule.last_fire_time is None
    assert schedule.acquired_by is None and schedule.acquired_until is None
    assert schedule.task_id.endswith(":tick")


def test_the_schedule_add_schedule_builds_sets_every_field() -> None:
    """add_schedule builds its Schedule positionally (_new_schedule): a field added to
    Schedule must be passed there too."""
    trigger = IntervalTrigger(seconds=30, start_time=START)
    values: dict[str, Any] = {
        "id": "s",
        "task_id": "t",
        "trigger": trigger,
        "args": (1,),
        "kwargs": {"k": 2},
        "paused": True,
        "coalesce": CoalescePolicy.all,
        "misfire_grace_time": seconds(5),
        "max_jitter": seconds(2),
        "job_result_expiration_time": seconds(60),
        "metadata": {"m": 3},
        "next_fire_time": START,
        "last_fire_time": START - seconds(30),
        "acquired_by": "scheduler",
        "acquired_until": START,
    }
    built = _new_schedule(*values.values())
    assert built == Schedule(**values)
    assert [f.name for f in fields(Schedule)] == list(values)


async def test_settings_are_checked_on_every_add_not_only_the_first(
    scheduler: AsyncScheduler,
) -> None:
    """add_schedule reuses the settings it checked last when given the very same objects;
    an equal value of another type, or a new value, is checked again."""
    trigger = IntervalTrigger(seconds=30, start_time=START)
    await scheduler.add_schedule(tick, trigger, id="a", job_result_expiration_time=0)
    with pytest.raises(TypeError, match="job_result_expiration_time"):
        await scheduler.add_schedule(tick, trigger, id="b", job_result_expiration_time=False)
    await scheduler.add_schedule(tick, trigger, id="c", coalesce="all", misfire_grace_time=5)
    with pytest.raises(ValueError, match="misfire_grace_time"):
        await scheduler.add_schedule(tick, trigger, id="d", coalesce="all", misfire_grace_time=-5)
    with pytest.raises(ValueError, match="coalesce"):
        await scheduler.add_schedule(tick, trigger, id="e", coalesce="al", misfire_grace_time=5)
    c = await scheduler.get_schedule("c")
    assert (c.coalesce, c.misfire_grace_time) == (CoalescePolicy.all, seconds(5))
    assert [s.id for s in await scheduler.get_schedules()] == ["a", "c"]


async def test_a_schedule_without_an_id_gets_a_new_uuid(scheduler: AsyncScheduler) -> None:
    trigger = IntervalTrigger(seconds=30, start_time=START)
    ids = [await scheduler.add_schedule(tick, trigger) for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(str(UUID(i)) == i and UUID(i).version == 4 for i in ids)
    assert sorted(ids) == [s.id for s in await scheduler.get_schedules()]


async def test_an_object_that_is_no_trigger_is_refused_before_and_after_triggers(
    scheduler: AsyncScheduler,
) -> None:
    class Lookalike:
        def next(self) -> None:
            return None

    with pytest.raises(TypeError, match="expected a nbsched Trigger"):
        await scheduler.add_schedule(tick, Lookalike(), id="a")  # type: ignore[arg-type]
    await scheduler.add_schedule(tick, IntervalTrigger(seconds=30, start_time=START), id="b")
    with pytest.raises(TypeError, match="expected a nbsched Trigger"):
        await scheduler.add_schedule(tick, Lookalike(), id="c")  # type: ignore[arg-type]
    assert [s.id for s in await scheduler.get_schedules()] == ["b"]
