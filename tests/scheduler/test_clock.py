"""The clocks: SystemClock reads real time, FakeClock moves only when told to."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from scheduler_helpers import START, seconds

from nbsched import Clock, FakeClock, SystemClock
from nbsched._clock import Activity

pytestmark = pytest.mark.anyio


def test_fake_clock_defaults_and_validation() -> None:
    assert FakeClock().now() == datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="start: .* naive"):
        FakeClock(datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="start: expected a datetime"):
        FakeClock("2026-01-01")  # type: ignore[arg-type]
    assert isinstance(FakeClock(), Clock) and isinstance(SystemClock(), Clock)


async def test_advance_wakes_sleepers_in_deadline_order_at_their_times() -> None:
    clock = FakeClock(START)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, after: float) -> None:
        await clock.sleep_until(START + seconds(after))
        woke.append((name, clock.now()))

    tasks = [asyncio.ensure_future(sleeper(n, a)) for n, a in [("c", 30), ("a", 10), ("b", 20)]]
    await clock.advance(15)
    assert woke == [("a", START + seconds(10))]
    assert clock.now() == START + seconds(15)
    await clock.advance(timedelta(seconds=100))
    assert woke == [
        ("a", START + seconds(10)),
        ("b", START + seconds(20)),
        ("c", START + seconds(30)),
    ]
    await asyncio.gather(*tasks)


async def test_a_cancelled_sleep_does_not_wake_later() -> None:
    clock = FakeClock(START)
    task = asyncio.ensure_future(clock.sleep_until(START + seconds(5)))
    await clock.settle()
    task.cancel()
    await clock.advance(10)
    assert task.cancelled()


async def test_set_before_leaves_what_is_due_at_that_instant_asleep() -> None:
    clock = FakeClock(START)
    woke: list[str] = []

    async def sleeper(name: str, after: float) -> None:
        await clock.sleep_until(START + seconds(after))
        woke.append(name)

    tasks = [asyncio.ensure_future(sleeper(n, a)) for n, a in [("before", 9), ("at", 10)]]
    await clock.set_before(START + seconds(10))
    assert clock.now() == START + seconds(10)
    assert woke == ["before"]
    await clock.advance(0)
    assert woke == ["before", "at"]
    await asyncio.gather(*tasks)
    with pytest.raises(ValueError, match="is not after the clock's time"):
        await clock.set_before(START + seconds(10))
    with pytest.raises(TypeError, match="to: expected an aware datetime"):
        await clock.set_before(datetime(2026, 1, 2))


async def test_time_never_goes_back() -> None:
    clock = FakeClock(START)
    with pytest.raises(ValueError, match="negative"):
        await clock.advance(-1)
    with pytest.raises(ValueError, match="before the clock's time"):
        await clock.set(START - seconds(1))
    with pytest.raises(TypeError, match="by: expected"):
        await clock.advance("1m")  # type: ignore[arg-type]
    await clock.set(START + seconds(60))
    assert clock.now() == START + seconds(60)


async def test_system_clock_is_aware_and_sleeps_until_the_deadline() -> None:
    clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is not None and abs(now - datetime.now(timezone.utc)) < seconds(1)
    await clock.sleep_until(now - seconds(1))  # already passed: returns at once
    deadline = clock.now() + timedelta(milliseconds=20)
    await clock.sleep_until(deadline)
    assert clock.now() >= deadline


async def test_a_tracked_task_counts_as_working_except_while_it_waits() -> None:
    activity = Activity()
    clock = FakeClock(START)
    clock.register_activity(activity)
    steps: list[str] = []
    gate = asyncio.Event()

    async def worker() -> None:
        steps.append("working")
        with activity.waiting:  # on something that is not the scheduler's work
            await gate.wait()
        steps.append("working again")
        await asyncio.sleep(0)
        steps.append("done")

    task = asyncio.ensure_future(worker())
    activity.track(task)
    assert activity.busy_count == 1 and activity.tracks(task)
    await clock.settle()  # returns while the task waits on the gate
    assert steps == ["working"] and activity.busy_count == 0

    gate.set()
    await asyncio.sleep(0)
    assert activity.busy_count == 1  # out of the waiting block: working until untracked
    await task
    activity.untrack(task)
    assert activity.busy_count == 0 and not activity.tracks(task)
    assert steps == ["working", "working again", "done"]
    await activity.wait_idle()  # nothing tracked: returns at once
    clock.unregister_activity(activity)
