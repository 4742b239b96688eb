"""Scheduling policies on a fake clock: firing, coalescing, misfire grace, jitter, limits,
conflicts, pause/unpause and the end of a trigger."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from scheduler_helpers import START, Recorder, seconds, start

from nbsched import (
    AsyncScheduler,
    CoalescePolicy,
    ConflictingIdError,
    FakeClock,
    JobOutcome,
    ScheduleLookupError,
)
from nbsched.abc import Trigger
from nbsched.events import JobAcquired, JobReleased, ScheduleRemoved, ScheduleUpdated
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio

calls: list[object] = []


async def record(value: object = None) -> object:
    calls.append(value)
    return value


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


def every(n: float, first: float = 0) -> IntervalTrigger:
    return IntervalTrigger(seconds=n, start_time=START + seconds(first))


async def test_interval_schedule_fires_once_per_period(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    await scheduler.add_schedule(record, every(10, first=10), args=["tick"])
    await start(scheduler, clock)
    await clock.advance(59)
    assert calls == ["tick"] * 5
    await clock.advance(1)
    assert calls == ["tick"] * 6
    fire_starts = [e.scheduled_start for e in recorder.of(JobReleased)]
    assert fire_starts == [START + seconds(10 * i) for i in range(1, 7)]
    assert all(e.outcome is JobOutcome.success for e in recorder.of(JobReleased))


@pytest.mark.parametrize(
    "policy, expected_fire_offsets",
    [
        (CoalescePolicy.earliest, [600]),
        (CoalescePolicy.latest, [3600]),
        (CoalescePolicy.all, [600, 1200, 1800, 2400, 3000, 3600]),
    ],
)
async def test_coalesce_after_downtime(
    scheduler: AsyncScheduler,
    clock: FakeClock,
    recorder: Recorder,
    policy: CoalescePolicy,
    expected_fire_offsets: list[int],
) -> None:
    await scheduler.add_schedule(record, every(600, first=600), coalesce=policy)
    await clock.advance(3600)  # the processing loop is not running: an hour of downtime
    await start(scheduler, clock)
    released = recorder.of(JobReleased)
    assert [e.scheduled_start for e in released] == [
        START + seconds(offset) for offset in expected_fire_offsets
    ]
    schedule = (await scheduler.get_schedules())[0]
    assert schedule.next_fire_time == START + seconds(4200)
    assert schedule.last_fire_time == START + seconds(3600)


@pytest.mark.parametrize("policy, expected_count", [("earliest", 1), ("latest", 1), ("all", 6)])
async def test_coalesce_after_pause_with_catch_up(
    scheduler: AsyncScheduler,
    clock: FakeClock,
    recorder: Recorder,
    policy: str,
    expected_count: int,
) -> None:
    schedule_id = await scheduler.add_schedule(record, every(60, first=60), coalesce=policy)
    await start(scheduler, clock)
    await scheduler.pause_schedule(schedule_id)
    await clock.advance(360)
    assert calls == []
    await scheduler.unpause_schedule(schedule_id, resume_from="catch_up")
    await clock.settle()
    assert len(calls) == expected_count


async def test_unpause_from_now_skips_the_missed_fire_times(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    schedule_id = await scheduler.add_schedule(record, every(60, first=60), paused=True)
    await start(scheduler, clock)
    await clock.advance(330)
    await scheduler.unpause_schedule(schedule_id)  # "now" is the default
    await clock.settle()
    assert calls == []
    schedule = await scheduler.get_schedule(schedule_id)
    assert not schedule.paused
    assert schedule.next_fire_time == START + seconds(360)
    # the stored trigger itself moved on: its next fire is the one after 360 s
    assert schedule.trigger.next() == START + seconds(420)
    await clock.advance(30)
    assert len(calls) == 1
    assert recorder.of(JobReleased)[0].scheduled_start == START + seconds(360)


async def test_unpause_from_a_datetime(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    schedule_id = await scheduler.add_schedule(record, every(60, first=60), paused=True)
    await clock.advance(600)
    await scheduler.unpause_schedule(schedule_id, resume_from=START + seconds(500))
    schedule = await scheduler.get_schedule(schedule_id)
    assert schedule.next_fire_time == START + seconds(540)


class Counting(Trigger):
    """Every 60 s from 60 s after START, at most ``limit`` fire times; those skipped while
    paused are not counted (the ``resume_at`` hook that a notebook cell's ``--times`` uses)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.position, self.handed_out = limit, 0, 0

    @staticmethod
    def at(position: int) -> datetime:
        return START + seconds(60 * (position + 1))

    def next(self) -> datetime | None:
        if self.handed_out >= self.limit:
            return None
        self.handed_out += 1
        self.position += 1
        return self.at(self.position - 1)

    def resume_at(self, pending: datetime, resume_from: datetime) -> datetime | None:
        self.handed_out -= 1  # the pending fire time will be handed out again
        position = self.position - 1
        while self.at(position) < resume_from:  # skipped: not counted
            position += 1
        self.position = position
        return self.at(position)

    def __getstate__(self) -> dict[str, int]:
        return {"version": 1, "limit": self.limit, "position": self.position,
                "handed_out": self.handed_out}  # fmt: skip

    def __setstate__(self, state: dict[str, int]) -> None:
        self.limit, self.position = state["limit"], state["position"]
        self.handed_out = state["handed_out"]


async def test_unpause_uses_a_triggers_resume_at_hook(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    schedule_id = await scheduler.add_schedule(record, Counting(limit=3), paused=True)
    await clock.advance(330)  # five fire times pass while paused
    await scheduler.unpause_schedule(schedule_id)
    schedule = await scheduler.get_schedule(schedule_id)
    assert schedule.next_fire_time == START + seconds(360)
    trigger = schedule.trigger
    assert isinstance(trigger, Counting) and trigger.handed_out == 1  # 360 s, nothing skipped
    assert [trigger.next(), trigger.next(), trigger.next()] == [
        START + seconds(420),
        START + seconds(480),
        None,
    ]


async def test_unpause_rejects_an_unknown_mode(scheduler: AsyncScheduler) -> None:
    schedule_id = await scheduler.add_schedule(record, every(60), paused=True)
    with pytest.raises(ValueError, match="resume_from: 'later'"):
        await scheduler.unpause_schedule(schedule_id, resume_from="later")
    assert (await scheduler.get_schedule(schedule_id)).paused


async def test_paused_schedule_never_fires_nor_wakes_the_scheduler(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    await scheduler.add_schedule(record, every(1, first=1), paused=True, args=["paused"])
    await scheduler.add_schedule(record, every(100, first=100), args=["active"])
    await start(scheduler, clock)
    assert await scheduler.data_store.get_next_schedule_run_time() == START + seconds(100)
    await clock.advance(100)
    assert calls == ["active"]


async def test_misfire_grace_time_after_downtime(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    await scheduler.add_schedule(record, every(10, first=10), coalesce="all", misfire_grace_time=5)
    await clock.advance(32)
    await start(scheduler, clock)
    outcomes = [(e.scheduled_start, e.outcome) for e in recorder.of(JobReleased)]
    # fired at 10, 20, 30; now is 32: only the 30 s fire is within its 5 s of grace
    assert outcomes == [
        (START + seconds(10), JobOutcome.missed_start_deadline),
        (START + seconds(20), JobOutcome.missed_start_deadline),
        (START + seconds(30), JobOutcome.success),
    ]
    assert len(calls) == 1


async def test_misfire_grace_time_while_waiting_for_a_running_job(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    await scheduler.add_schedule(
        slow, every(10, first=10), misfire_grace_time=5, max_running_jobs=1
    )
    await start(scheduler, clock)
    await clock.advance(10)  # the first job starts and blocks
    await clock.advance(10)  # the second fire waits for the first
    await clock.advance(9)  # 29 s: the second job's deadline (25 s) has passed
    gate.set()
    await clock.settle()
    released = recorder.of(JobReleased)
    assert [e.outcome for e in released[:2]] == [
        JobOutcome.success,
        JobOutcome.missed_start_deadline,
    ]


@pytest.mark.parametrize("max_jitter", [3, 30])
async def test_jitter_stays_within_bounds_and_before_the_next_fire(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder, max_jitter: float
) -> None:
    await scheduler.add_schedule(record, every(10, first=10), max_jitter=max_jitter)
    await start(scheduler, clock)
    await clock.advance(1000)
    acquired = recorder.of(JobAcquired)
    released = recorder.of(JobReleased)
    assert len(released) >= 98
    limit = min(max_jitter, 10)
    jitters = []
    for event in acquired:
        fire_offset = (event.scheduled_start - START) // seconds(10) * 10
        jitter = event.scheduled_start - (START + seconds(fire_offset))
        jitters.append(jitter)
        assert timedelta(0) <= jitter <= seconds(limit)
        assert jitter < seconds(10)
    assert len(set(jitters)) > 50  # random, not a constant
    for event in released:
        assert event.started_at is not None and event.started_at >= event.scheduled_start


async def test_max_running_jobs_limits_concurrent_runs_of_a_task(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    gate = asyncio.Event()
    running: list[int] = []
    peak = 0

    async def blocked(n: int) -> None:
        nonlocal peak
        running.append(n)
        peak = max(peak, len(running))
        await gate.wait()
        running.remove(n)

    await scheduler.configure_task("blocked", func=blocked, max_running_jobs=2)
    for n in range(5):
        await scheduler.add_job("blocked", args=[n])
    await start(scheduler, clock)
    assert sorted(running) == [0, 1]
    assert len(await scheduler.get_jobs()) == 5
    gate.set()
    await clock.settle()
    assert peak == 2
    assert len(recorder.of(JobReleased)) == 5
    assert await scheduler.get_jobs() == []


async def test_max_concurrent_jobs_limits_the_scheduler(clock: FakeClock) -> None:
    gate = asyncio.Event()
    running = 0
    peak = 0

    async def blocked() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    async with AsyncScheduler(clock=clock, max_concurrent_jobs=3) as scheduler:
        for _ in range(10):
            await scheduler.add_job(blocked)
        await start(scheduler, clock)
        assert running == 3
        gate.set()
        await clock.settle()
        assert peak == 3 and running == 0
        assert await scheduler.get_jobs() == []


async def test_conflict_policies(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    await scheduler.add_schedule(record, every(10), id="s", args=["original"])
    await scheduler.add_schedule(record, every(99), id="s", args=["ignored"])
    assert (await scheduler.get_schedule("s")).args == ("original",)

    with pytest.raises(ConflictingIdError, match="'s' already exists"):
        await scheduler.add_schedule(
            record, every(99), id="s", args=["refused"], conflict_policy="exception"
        )
    assert (await scheduler.get_schedule("s")).args == ("original",)

    await scheduler.add_schedule(
        record, every(20), id="s", args=["replacement"], conflict_policy="replace"
    )
    schedule = await scheduler.get_schedule("s")
    assert schedule.args == ("replacement",)
    assert [e.schedule_id for e in recorder.of(ScheduleUpdated)] == ["s"]
    await start(scheduler, clock)
    assert calls == ["replacement"]


async def test_bad_policy_names_are_refused(scheduler: AsyncScheduler) -> None:
    with pytest.raises(ValueError, match="conflict_policy: 'overwrite'"):
        await scheduler.add_schedule(record, every(10), conflict_policy="overwrite")
    with pytest.raises(ValueError, match="coalesce: 'sometimes'"):
        await scheduler.add_schedule(record, every(10), coalesce="sometimes")
    with pytest.raises(TypeError, match="trigger: expected a nbsched Trigger"):
        await scheduler.add_schedule(record, "every 10 s")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="misfire_grace_time"):
        await scheduler.add_schedule(record, every(10), misfire_grace_time=-1)
    assert await scheduler.get_schedules() == []


async def test_an_exhausted_trigger_removes_its_schedule(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    schedule_id = await scheduler.add_schedule(record, DateTrigger(START + seconds(30)))
    await start(scheduler, clock)
    await clock.advance(30)
    assert calls == [None]
    removed = recorder.of(ScheduleRemoved)
    assert [(e.schedule_id, e.finished) for e in removed] == [(schedule_id, True)]
    with pytest.raises(ScheduleLookupError):
        await scheduler.get_schedule(schedule_id)
    await clock.advance(3600)
    assert calls == [None]


async def test_interval_with_end_time_runs_out(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    trigger = IntervalTrigger(
        seconds=10, start_time=START + seconds(10), end_time=START + seconds(30)
    )
    await scheduler.add_schedule(record, trigger)
    await start(scheduler, clock)
    await clock.advance(100)
    assert len(calls) == 3
    assert await scheduler.get_schedules() == []
    assert recorder.of(ScheduleRemoved)[0].finished


async def test_remove_schedule(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    schedule_id = await scheduler.add_schedule(record, every(10, first=10))
    await start(scheduler, clock)
    await clock.advance(10)
    await scheduler.remove_schedule(schedule_id)
    await clock.advance(100)
    assert len(calls) == 1
    with pytest.raises(ScheduleLookupError, match=schedule_id):
        await scheduler.remove_schedule(schedule_id)


async def test_the_given_trigger_is_not_advanced(scheduler: AsyncScheduler) -> None:
    trigger = every(10, first=10)
    await scheduler.add_schedule(record, trigger, id="a")
    await scheduler.add_schedule(record, trigger, id="b")
    assert trigger.next() == START + seconds(10)
    schedules = await scheduler.get_schedules()
    assert [s.next_fire_time for s in schedules] == [START + seconds(10)] * 2
