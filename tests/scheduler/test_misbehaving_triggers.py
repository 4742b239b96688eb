"""A trigger that breaks the contract (repeats a fire time, goes backwards, returns a naive
datetime or something else, raises) never blocks the scheduler: that schedule is paused at its
pending fire time with a ``ScheduleTriggerFailed`` event, the others keep running. A schedule
that missed very many fire times catches up over several wake-ups without starving the rest."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from scheduler_helpers import START, Recorder, seconds, start

from nbsched import AsyncScheduler, CoalescePolicy, FakeClock
from nbsched._schedulers._processing import MAX_JOBS_PER_WAKEUP
from nbsched.abc import Trigger
from nbsched.events import JobAdded, JobReleased, ScheduleTriggerFailed, ScheduleUpdated
from nbsched.triggers import CalendarIntervalTrigger, IntervalTrigger

pytestmark = pytest.mark.anyio

calls: list[str] = []


async def record(name: str) -> None:
    calls.append(name)


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


class Stepping(Trigger):
    """Fires at START + 10 s, + 20 s, ...; from call ``breaks_at`` on it misbehaves as
    ``how`` says. Plain-data state, so a SQLite store can keep it."""

    def __init__(self, how: str, breaks_at: int = 3) -> None:
        self.how, self.breaks_at, self.calls = how, breaks_at, 0

    def next(self) -> Any:
        self.calls += 1
        good = START + seconds(10 * self.calls)
        if self.calls < self.breaks_at:
            return good
        if self.how == "repeat":
            return START + seconds(10 * (self.breaks_at - 1))
        if self.how == "backwards":
            return START + seconds(10 * (self.breaks_at - 1) - self.calls)
        if self.how == "naive":
            return good.replace(tzinfo=None)
        if self.how == "wrong type":
            return good.isoformat()
        raise RuntimeError("the trigger's own bug")

    def __getstate__(self) -> Any:
        return {"version": 1, "how": self.how, "breaks_at": self.breaks_at, "calls": self.calls}

    def __setstate__(self, state: Any) -> None:
        self.how, self.breaks_at, self.calls = state["how"], state["breaks_at"], state["calls"]


def zero_calendar_interval() -> Trigger:
    """A calendar interval trigger whose interval became all zero (as a stored state did before
    __setstate__ checked it): it returns the same fire time forever."""
    trigger = CalendarIntervalTrigger(days=1, start_date=START.date(), timezone="UTC")
    trigger._days = 0  # type: ignore[attr-defined]
    trigger._setup()  # type: ignore[attr-defined]
    return trigger


BROKEN: dict[str, Callable[[], Trigger]] = {
    "repeat": lambda: Stepping("repeat"),
    "backwards": lambda: Stepping("backwards"),
    "naive": lambda: Stepping("naive"),
    "wrong type": lambda: Stepping("wrong type"),
    "raises": lambda: Stepping("raises"),
    "zero calendar interval": zero_calendar_interval,
}
RULES = {
    "repeat": "strictly increase",
    "backwards": "strictly increase",
    "naive": "timezone-aware",
    "wrong type": "datetime or None",
    "raises": "the trigger's own bug",
    "zero calendar interval": "strictly increase",
}


@pytest.mark.parametrize("policy", list(CoalescePolicy))
@pytest.mark.parametrize("kind", sorted(BROKEN))
async def test_a_broken_trigger_pauses_its_schedule_and_the_others_keep_running(
    scheduler: AsyncScheduler,
    clock: FakeClock,
    recorder: Recorder,
    kind: str,
    policy: CoalescePolicy,
) -> None:
    broken_id = await scheduler.add_schedule(
        record, BROKEN[kind](), args=["broken"], coalesce=policy, id="broken"
    )
    await scheduler.add_schedule(
        record, IntervalTrigger(seconds=7, start_time=START + seconds(7)), args=["healthy"]
    )
    await start(scheduler, clock)
    await clock.advance(100)
    assert calls.count("healthy") == 14  # 7 s, 14 s, ... 98 s: never held up
    failed = recorder.of(ScheduleTriggerFailed)
    assert len(failed) == 1
    event = failed[0]
    assert (
        event.schedule_id == broken_id
        and event.task_id == (await scheduler.get_schedule(broken_id)).task_id
    )
    assert RULES[kind] in event.exception
    schedule = await scheduler.get_schedule(broken_id)
    assert schedule.paused
    # paused at the fire time it could not get past: nothing is lost, the user can look
    assert schedule.next_fire_time is not None and schedule.next_fire_time <= START + seconds(100)
    broken_runs = calls.count("broken")
    await clock.advance(100)
    assert calls.count("broken") == broken_runs  # paused: it stays quiet
    assert len(recorder.of(ScheduleTriggerFailed)) == 1


async def test_a_broken_trigger_on_a_sqlite_store(tmp_path: Any) -> None:
    from nbsched.datastores.sqlite import SQLiteDataStore

    clock = FakeClock(START)
    recorder = Recorder()
    async with AsyncScheduler(SQLiteDataStore(tmp_path / "s.db"), clock=clock) as scheduler:
        scheduler.subscribe(recorder)
        broken_id = await scheduler.add_schedule(record, Stepping("repeat"), args=["broken"])
        await scheduler.add_schedule(
            record, IntervalTrigger(seconds=7, start_time=START + seconds(7)), args=["healthy"]
        )
        await start(scheduler, clock)
        await clock.advance(100)
        assert calls.count("healthy") == 14
        assert (await scheduler.get_schedule(broken_id)).paused
        assert [e.schedule_id for e in recorder.of(ScheduleTriggerFailed)] == [broken_id]


async def test_resuming_a_broken_schedule_pauses_it_again_or_refuses(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    broken_id = await scheduler.add_schedule(record, Stepping("repeat"), args=["broken"])
    await start(scheduler, clock)
    await clock.advance(60)
    assert (await scheduler.get_schedule(broken_id)).paused
    await scheduler.unpause_schedule(broken_id, resume_from="catch_up")
    await clock.settle()
    assert (await scheduler.get_schedule(broken_id)).paused
    assert len(recorder.of(ScheduleTriggerFailed)) == 2
    # skipping to "now" asks the trigger too: the contract error reaches the caller at once
    from nbsched import TriggerContractError

    with pytest.raises(TriggerContractError, match="strictly increase"):
        await scheduler.unpause_schedule(broken_id)


async def test_a_schedule_that_missed_many_fire_times_catches_up_over_several_wakeups(
    scheduler: AsyncScheduler, clock: FakeClock, recorder: Recorder
) -> None:
    dense = await scheduler.add_schedule(
        record,
        IntervalTrigger(seconds=1, start_time=START + seconds(1)),
        args=["dense"],
        coalesce=CoalescePolicy.all,
        id="dense",
    )
    await scheduler.add_schedule(
        record, IntervalTrigger(seconds=3000, start_time=START + seconds(2500)), args=["other"]
    )
    await clock.advance(2500)  # no processing loop yet: 2500 due fire times
    await start(scheduler, clock)
    assert calls.count("dense") == 2500
    assert calls.count("other") == 1
    added = [e for e in recorder.of(JobAdded) if e.schedule_id == dense]
    assert len(added) == 2500
    # the jobs came in wake-ups of at most MAX_JOBS_PER_WAKEUP, and the other schedule was
    # served between them instead of after all of them
    order = ["other" if e.schedule_id != dense else "dense" for e in recorder.of(JobAdded)]
    assert order.index("other") < len(order) - 1 - order[::-1].index("dense")
    updates = [e for e in recorder.of(ScheduleUpdated) if e.schedule_id == dense]
    assert len(updates) >= 2500 // MAX_JOBS_PER_WAKEUP
    fired = sorted(e.scheduled_start for e in recorder.of(JobReleased) if e.schedule_id == dense)
    assert fired == [START + seconds(i) for i in range(1, 2501)]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(CoalescePolicy.latest, START + timedelta(seconds=250_000) / 1000),
     (CoalescePolicy.earliest, START + timedelta(milliseconds=1))],
)  # fmt: skip
async def test_coalescing_stays_exact_when_catching_up_takes_several_wakeups(
    scheduler: AsyncScheduler,
    clock: FakeClock,
    recorder: Recorder,
    policy: CoalescePolicy,
    expected: datetime,
) -> None:
    await scheduler.add_schedule(
        record,
        IntervalTrigger(microseconds=1000, start_time=START + timedelta(milliseconds=1)),
        args=["dense"],
        coalesce=policy,
        id=f"dense-{uuid.uuid4().hex[:6]}",
    )
    await clock.advance(250)  # 250,000 due fire times: more than one wake-up skips
    await start(scheduler, clock)
    released = recorder.of(JobReleased)
    assert [e.scheduled_start for e in released] == [expected]
    assert len(recorder.of(ScheduleUpdated)) >= 2  # released, still due, at least once


FIRSTS = [datetime(2026, 1, 1, 0, 0, 10), "2026-01-01T00:00:10+00:00"]


class First(Trigger):
    """Returns ``FIRSTS[index]`` (kept by index: the state must be plain data)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def next(self) -> Any:
        return FIRSTS[self.index]

    def __getstate__(self) -> Any:
        return {"version": 1, "index": self.index}

    def __setstate__(self, state: Any) -> None:
        self.index = state["index"]


@pytest.mark.parametrize(("index", "words"), [(0, "timezone-aware"), (1, "datetime or None")])
async def test_add_schedule_refuses_a_first_fire_time_that_breaks_the_contract(
    scheduler: AsyncScheduler, clock: FakeClock, index: int, words: str
) -> None:
    """A naive first fire time used to be stored, then crash the processing loop."""
    with pytest.raises(ValueError, match=f"^trigger: .*{words}"):
        await scheduler.add_schedule(record, First(index), args=["x"])
    assert await scheduler.get_schedules() == []
    await scheduler.add_schedule(record, IntervalTrigger(seconds=5, start_time=START), args=["y"])
    await start(scheduler, clock)
    await clock.advance(10)
    assert calls == ["y"] * 3


async def test_a_stored_zero_calendar_interval_fails_alone(tmp_path: Any) -> None:
    """The issue's case: a row whose CalendarIntervalTrigger state has an all-zero interval
    used to be restored, then hang the loop. Now its __setstate__ refuses it, naming the field;
    the store reports that row alone and the others run."""
    import json
    import sqlite3

    from nbsched.datastores.sqlite import SQLiteDataStore
    from nbsched.events import ScheduleDeserializationFailed

    path = tmp_path / "s.db"
    clock = FakeClock(START)
    async with AsyncScheduler(SQLiteDataStore(path), clock=clock) as scheduler:
        daily = CalendarIntervalTrigger(days=1, start_date=START.date(), timezone="UTC")
        await scheduler.add_schedule(record, daily, args=["zero"], id="zero")
        await scheduler.add_schedule(
            record, IntervalTrigger(seconds=7, start_time=START + seconds(7)), args=["healthy"]
        )
    connection = sqlite3.connect(path)
    try:
        (text,) = connection.execute("SELECT trigger FROM schedules WHERE id = 'zero'").fetchone()
        stored = json.loads(text)
        stored["state"]["interval"]["days"] = 0
        connection.execute(
            "UPDATE schedules SET trigger = ? WHERE id = 'zero'", (json.dumps(stored),)
        )
        connection.commit()
    finally:
        connection.close()
    recorder = Recorder()
    async with AsyncScheduler(SQLiteDataStore(path), clock=clock) as scheduler:
        scheduler.subscribe(recorder)
        await start(scheduler, clock)
        await clock.advance(60)
        assert calls.count("healthy") == 8
        assert "zero" not in calls
    failed = [e for e in recorder.of(ScheduleDeserializationFailed) if e.schedule_id == "zero"]
    assert failed and "['interval']" in failed[0].exception
