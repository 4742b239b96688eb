"""A scheduler survives its store's bad day: a temporary outage longer than the retry window
never stops it; it says the store is unavailable, retries with capped backoff, and carries on by
itself when the store is back (misfire and coalesce policies decide what the outage cost).

The store here is the memory store with every method failing while ``down`` is set; the
real-component versions (a SQLite file locked by another process, a full disk, a PostgreSQL
server cut off) are in tests/datastores/test_outage_*.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scheduler_helpers import START, Recorder, seconds

from nbsched import AsyncScheduler, CoalescePolicy, DataStoreError, FakeClock, JobOutcome, RunState
from nbsched._exceptions import DataStoreUnavailableError
from nbsched.datastores.memory import MemoryDataStore
from nbsched.events import (
    DataStoreRecovered,
    DataStoreRetryGaveUp,
    DataStoreUnavailable,
    JobReleased,
    SchedulerStopped,
)
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio


class Hiccup(Exception):
    """A temporary failure (think: database is locked)."""


class Broken(DataStoreError):
    """A permanent failure (think: the file became corrupt)."""


_FAILING = (
    "add_task",
    "get_task",
    "add_schedule",
    "remove_schedules",
    "get_schedules",
    "acquire_schedules",
    "release_schedules",
    "get_next_schedule_run_time",
    "add_job",
    "get_jobs",
    "acquire_jobs",
    "release_job",
    "get_job_result",
    "extend_acquired_job_leases",
    "cleanup",
)


class OutageStore(MemoryDataStore):
    """A memory store whose every call (or those named in ``only``) raises ``error`` while
    ``error`` is set."""

    temporary_errors = (Hiccup,)

    def __init__(self) -> None:
        super().__init__()
        self.error: BaseException | None = None
        self.only: set[str] | None = None
        self.failed_calls: list[str] = []

    def __repr__(self) -> str:
        return "OutageStore()"


def _failing(name: str) -> Any:
    original = getattr(MemoryDataStore, name)

    async def method(self: OutageStore, *args: Any, **kwargs: Any) -> Any:
        if self.error is not None and (self.only is None or name in self.only):
            self.failed_calls.append(name)
            raise self.error
        return await original(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in _FAILING:
    setattr(OutageStore, _name, _failing(_name))


LOCKED = Hiccup("database is locked")


@pytest.fixture
def store() -> OutageStore:
    return OutageStore()


async def test_an_outage_longer_than_the_retry_window_does_not_stop_the_scheduler(
    clock: FakeClock, store: OutageStore
) -> None:
    recorder = Recorder()
    calls: list[object] = []

    async def tick() -> None:
        calls.append(clock.now())

    async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
        scheduler.subscribe(recorder)
        await scheduler.add_schedule(
            tick, IntervalTrigger(seconds=10, start_time=START + seconds(10)), id="t"
        )
        scheduler.start_in_background()
        await clock.settle()
        assert scheduler.store_unavailable_since is None
        store.error = LOCKED
        await clock.advance(30)  # first failure at 10 s: still within the retry window
        assert recorder.of(DataStoreUnavailable) == []
        assert scheduler.store_unavailable_since is None
        await clock.advance(300)  # five minutes of outage
        assert scheduler.state is RunState.started
        assert recorder.of(SchedulerStopped, DataStoreRetryGaveUp) == []
        (unavailable,) = recorder.of(DataStoreUnavailable)
        assert unavailable.since == START + seconds(10)  # when the first attempt failed
        assert START + seconds(35) <= unavailable.timestamp <= START + seconds(45)
        assert unavailable.exception == "Hiccup: database is locked"
        assert unavailable.store == "OutageStore()"
        assert unavailable.operation == "acquire_schedules"
        assert unavailable.scheduler_id == scheduler.identity
        assert scheduler.store_unavailable_since == START + seconds(10)
        assert scheduler.store_unavailable_reason == "Hiccup: database is locked"
        # capped backoff: it kept trying, at most every 5 s, and not in a tight loop
        tries = len(store.failed_calls)
        assert 300 / 5 <= tries <= 330 / 5 + 15
        assert calls == []
        store.error = None
        await clock.advance(5)  # the next attempt (at most 5 s away) finds the store back
        (recovered,) = recorder.of(DataStoreRecovered)
        assert recovered.unavailable_since == START + seconds(10)
        assert START + seconds(330) <= recovered.timestamp <= START + seconds(335)
        assert scheduler.store_unavailable_since is None
        assert scheduler.store_unavailable_reason is None
        assert len(calls) == 1  # the missed fires coalesced into one run (latest)
        await clock.set(START + seconds(350))
        assert calls[1:] == [START + seconds(340), START + seconds(350)]
        await scheduler.stop()


@pytest.mark.parametrize(
    ("coalesce", "expected_runs"),
    [("latest", 1), ("earliest", 1), ("all", 6)],
)
async def test_fires_due_during_the_outage_follow_the_coalesce_policy(
    coalesce: str, expected_runs: int, clock: FakeClock, store: OutageStore
) -> None:
    runs: list[object] = []

    async def tick() -> None:
        runs.append(clock.now())

    async with AsyncScheduler(store, clock=clock) as scheduler:
        await scheduler.add_schedule(
            tick,
            IntervalTrigger(seconds=10, start_time=START + seconds(10)),
            coalesce=coalesce,
        )
        scheduler.start_in_background()
        await clock.settle()
        store.error = LOCKED
        await clock.advance(65)  # fires at 10, 20, ..., 60 s all fall in the outage
        assert runs == []
        store.error = None
        await clock.advance(4)  # back by 69 s, before the 70 s fire
        assert len(runs) == expected_runs
        await scheduler.stop()


async def test_fires_due_during_the_outage_are_missed_past_their_grace_time(
    clock: FakeClock, store: OutageStore
) -> None:
    recorder = Recorder()
    runs: list[object] = []

    async def tick() -> None:
        runs.append(clock.now())

    async with AsyncScheduler(store, clock=clock) as scheduler:
        scheduler.subscribe(recorder, JobReleased)
        await scheduler.add_schedule(
            tick,
            IntervalTrigger(minutes=1, start_time=START + seconds(60)),
            coalesce=CoalescePolicy.all,
            misfire_grace_time=30,
        )
        await scheduler.add_schedule(
            tick, IntervalTrigger(minutes=1, start_time=START + seconds(60)), id="lenient"
        )
        scheduler.start_in_background()
        await clock.settle()
        store.error = LOCKED
        await clock.advance(200)  # fires at 60, 120, 180 s fall in the outage
        store.error = None
        await clock.advance(5)
        outcomes = [
            (e.schedule_id, e.outcome)
            for e in recorder.events
            if isinstance(e, JobReleased)  # (all of them are)
        ]
        strict = [outcome for schedule_id, outcome in outcomes if schedule_id != "lenient"]
        # 60 s and 120 s are more than 30 s late: missed; 180 s was 25 s late at most: run
        assert strict.count(JobOutcome.missed_start_deadline) == 2
        assert strict.count(JobOutcome.success) == 1
        # no grace time, coalesced to the latest: it runs once, late
        assert [o for s, o in outcomes if s == "lenient"] == [JobOutcome.success]
        assert len(runs) == 2
        await scheduler.stop()


async def test_a_permanent_error_after_temporary_ones_stops_the_scheduler_at_once(
    clock: FakeClock, store: OutageStore
) -> None:
    recorder = Recorder()
    async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
        scheduler.subscribe(recorder)
        await _start_ticking(scheduler, clock)
        store.error = LOCKED
        await clock.advance(60)
        assert scheduler.state is RunState.started
        tries = len(store.failed_calls)
        store.error = Broken("the file is corrupt")
        await clock.advance(5)  # the next attempt meets the permanent error
        await scheduler.wait_until_stopped()
    assert len(store.failed_calls) == tries + 1  # not retried
    (stopped,) = recorder.of(SchedulerStopped)
    assert stopped.exception == "Broken: the file is corrupt"
    assert stopped.timestamp <= START + seconds(65)


async def test_stopping_during_an_outage_returns_without_waiting_for_the_store(
    clock: FakeClock, store: OutageStore
) -> None:
    recorder = Recorder()
    async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
        scheduler.subscribe(recorder)
        await _start_ticking(scheduler, clock)
        store.error = LOCKED
        await clock.advance(100)
        assert scheduler.store_unavailable_since is not None
        tries = len(store.failed_calls)
        # no clock advance: the stop must not wait for the next retry
        await asyncio.wait_for(scheduler.stop(), timeout=10)
        assert scheduler.state is RunState.stopped
        assert len(store.failed_calls) == tries
        store.error = None
    (stopped,) = recorder.of(SchedulerStopped)
    assert stopped.exception is None


async def test_a_job_finishing_during_an_outage_is_recorded_when_the_store_is_back(
    clock: FakeClock, store: OutageStore
) -> None:
    recorder = Recorder()
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "done"

    async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
        scheduler.subscribe(recorder, JobReleased)
        job_id = await scheduler.add_job(slow, result_expiration_time=3600)
        scheduler.start_in_background()
        await clock.settle()
        store.error = LOCKED
        release.set()
        await clock.advance(120)
        assert recorder.events == []
        store.error = None
        await clock.advance(5)
        (released,) = recorder.events
        assert released.outcome is JobOutcome.success
        assert (await scheduler.get_job_result(job_id)).return_value == "done"
        await scheduler.stop()


# --- calls a user makes during an outage -------------------------------------------------------


async def _tick() -> None:
    pass


async def _start_ticking(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    """Schedule ``_tick`` every 10 s from START and start the processing loop."""
    await scheduler.add_schedule(_tick, IntervalTrigger(seconds=10, start_time=START))
    scheduler.start_in_background()
    await clock.settle()


async def test_a_user_call_during_a_known_outage_fails_at_once_with_a_clear_error(
    clock: FakeClock, store: OutageStore
) -> None:
    async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
        await _start_ticking(scheduler, clock)
        store.error = LOCKED
        await clock.advance(60)
        assert scheduler.store_unavailable_since == START + seconds(10)
        tries = len(store.failed_calls)
        with pytest.raises(DataStoreUnavailableError) as info:
            await scheduler.add_schedule(_tick, IntervalTrigger(seconds=5), id="new")
        message = str(info.value)
        assert "OutageStore()" in message
        assert "unavailable since 2026-01-01 00:00:10 UTC" in message
        assert "Hiccup: database is locked" in message
        assert info.value.operation == "add_schedule"  # (the task was stored before)
        assert f"{info.value.operation} was not done" in message
        assert "keeps running" in message
        assert isinstance(info.value.__cause__, Hiccup)
        assert info.value.since == START + seconds(10)
        assert len(store.failed_calls) == tries + 1  # one attempt, no waiting
        assert scheduler.state is RunState.started
        store.error = None
        await clock.advance(5)
        assert await scheduler.add_schedule(_tick, IntervalTrigger(seconds=5), id="new") == "new"
        await scheduler.stop()


async def test_a_user_call_that_meets_an_outage_retries_for_the_window_then_raises(
    clock: FakeClock, store: OutageStore
) -> None:
    recorder = Recorder()
    async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
        scheduler.subscribe(recorder)
        store.error = LOCKED  # the processing loop is not running: nobody noticed yet
        adding = asyncio.ensure_future(scheduler.get_schedules())
        await clock.advance(20)
        assert not adding.done()  # still retrying within the window
        await clock.advance(20)
        with pytest.raises(DataStoreUnavailableError, match="since 2026-01-01 00:00:00 UTC"):
            await adding
        assert [type(e) for e in recorder.events] == [DataStoreUnavailable, DataStoreRetryGaveUp]
        gave_up = recorder.of(DataStoreRetryGaveUp)[0]
        assert gave_up.operation == "get_schedules"
        assert gave_up.timestamp <= START + seconds(30)
        assert scheduler.store_unavailable_since == START
        store.error = None
        assert await scheduler.get_schedules() == []  # the first success ends the outage
        assert scheduler.store_unavailable_since is None
        assert type(recorder.events[-1]) is DataStoreRecovered


async def test_a_user_call_meeting_a_permanent_error_after_temporary_ones_fails_on_it(
    clock: FakeClock,
) -> None:
    errors = [LOCKED, LOCKED, Broken("no such table: schedules")]

    class Failing(OutageStore):
        async def get_schedules(self, ids: Any = None) -> Any:  # type: ignore[override]
            if errors:
                raise errors.pop(0)
            return await super().get_schedules(ids)

    async with AsyncScheduler(Failing(), clock=clock) as scheduler:
        getting = asyncio.ensure_future(scheduler.get_schedules())
        await clock.advance(1)
        with pytest.raises(Broken, match="no such table"):
            await getting
    assert errors == []


async def test_the_outage_events_cross_process_boundaries_as_json() -> None:
    from nbsched.eventbrokers._event_json import event_from_json, event_to_json

    events = [
        DataStoreUnavailable(
            scheduler_id="s",
            store="SQLiteDataStore('/x.db')",
            since=START,
            operation="acquire_schedules",
            exception="SQLiteBusyError: locked",
        ),
        DataStoreRecovered(
            scheduler_id="s", store="SQLiteDataStore('/x.db')", unavailable_since=START
        ),
    ]
    assert [event_from_json(event_to_json(event)) for event in events] == events


async def test_stopping_early_in_an_outage_does_not_wait_out_the_retry_window(
    clock: FakeClock, store: OutageStore
) -> None:
    async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
        await _start_ticking(scheduler, clock)
        # due schedules are acquired, then creating their jobs fails: the loop holds them
        store.error, store.only = LOCKED, {"add_job", "release_schedules"}
        await clock.advance(12)
        assert scheduler.store_unavailable_since is None  # 2 s into it: not yet unavailable
        # handing the schedules back fails too; that must not wait 30 s of retries
        await asyncio.wait_for(scheduler.stop(), timeout=10)
        assert scheduler.state is RunState.stopped
        assert store.failed_calls.count("release_schedules") >= 1
