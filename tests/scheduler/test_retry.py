"""The retry policy for data store calls: temporary errors retried, permanent ones not."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest
from scheduler_helpers import START, Recorder, seconds

from nbsched import AsyncScheduler, FakeClock, RunState
from nbsched._retry import RetryPolicy, temporary_errors_of
from nbsched.datastores.memory import MemoryDataStore
from nbsched.events import DataStoreRetryGaveUp, SchedulerStopped
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio


class Hiccup(Exception):
    """A temporary failure (think: database is locked)."""


class FlakyStore(MemoryDataStore):
    """Fails the next ``failures`` calls of ``acquire_schedules`` with ``error``."""

    temporary_errors = (Hiccup,)

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.error: Exception = Hiccup("database is locked")
        self.attempts = 0
        self.times: list[datetime] = []  # the time given to each attempt

    async def acquire_schedules(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.attempts += 1
        self.times.append(args[3] if len(args) > 3 else kwargs["now"])
        if self.failures:
            self.failures -= 1
            raise self.error
        return await super().acquire_schedules(*args, **kwargs)


async def tick() -> None:
    pass


async def test_policy_retries_temporary_errors_then_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    attempts = 0

    async def operation() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 4:
            raise Hiccup("locked")
        return "done"

    policy = RetryPolicy((Hiccup,), sleep=sleep, initial_wait=0.1, max_wait=10)
    with caplog.at_level(logging.WARNING):
        assert await policy.call("op", operation) == "done"
    assert attempts == 4
    assert waits == [0.1, 0.1, 0.2]  # exponential backoff
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3


async def test_policy_raises_permanent_errors_at_once() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    attempts = 0

    async def operation() -> None:
        nonlocal attempts
        attempts += 1
        raise PermissionError("bad credentials")

    policy = RetryPolicy((Hiccup,), sleep=sleep)
    with pytest.raises(PermissionError):
        await policy.call("op", operation)
    assert attempts == 1 and waits == []


async def test_policy_gives_up_within_its_time_bound() -> None:
    waits: list[float] = []
    gave_up: list[tuple[str, int, BaseException]] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def on_give_up(operation: str, attempts: int, exc: BaseException) -> None:
        gave_up.append((operation, attempts, exc))

    async def operation() -> None:
        raise Hiccup("still locked")

    policy = RetryPolicy(
        (Hiccup,), sleep=sleep, max_time=10, initial_wait=0.5, max_wait=4, on_give_up=on_give_up
    )
    with pytest.raises(Hiccup, match="still locked"):
        await policy.call("acquire_jobs", operation)
    assert sum(waits) <= 10
    assert max(waits) == 4
    assert len(gave_up) == 1
    operation_name, attempts, exc = gave_up[0]
    assert operation_name == "acquire_jobs" and attempts == len(waits) + 1
    assert isinstance(exc, Hiccup)


def test_temporary_errors_are_read_through_the_sync_adapter(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nbsched.datastores.sqlite import SQLiteDataStore
    from nbsched.datastores.sync_adapter import AsyncDataStoreAdapter

    store = SQLiteDataStore(tmp_path / "x.db")
    errors = temporary_errors_of(AsyncDataStoreAdapter(store))
    assert errors and set(errors) == set(type(store).temporary_errors)
    assert temporary_errors_of(MemoryDataStore()) == ()


async def test_scheduler_retries_a_flaky_store_and_carries_on() -> None:
    clock = FakeClock(START)
    store = FlakyStore()
    calls: list[None] = []

    async def counted() -> None:
        calls.append(None)

    async with AsyncScheduler(store, clock=clock) as scheduler:
        await scheduler.add_schedule(
            counted, IntervalTrigger(seconds=10, start_time=START + seconds(10))
        )
        store.failures = 3
        scheduler.start_in_background()
        await clock.advance(10)
        assert store.attempts >= 4
        assert scheduler.state is RunState.started
        await clock.advance(10)
        assert len(calls) == 2


async def test_a_retried_acquisition_reads_the_clock_again() -> None:
    clock = FakeClock(START)
    store = FlakyStore()
    async with AsyncScheduler(store, clock=clock) as scheduler:
        await scheduler.add_schedule(tick, IntervalTrigger(seconds=10, start_time=START))
        store.failures = 3
        scheduler.start_in_background()
        await clock.advance(5)  # the retries wait on the fake clock
        assert store.attempts >= 4
        attempts = store.times[:4]
        # each attempt after a backoff was made with the time it was made at
        assert attempts == sorted(attempts) and len(set(attempts)) == 4
        assert attempts[0] == START
        await scheduler.stop()


async def test_scheduler_stops_on_a_permanent_store_error_at_once() -> None:
    clock = FakeClock(START)
    store = FlakyStore()
    store.error = PermissionError("read-only file")
    recorder = Recorder()
    async with AsyncScheduler(store, clock=clock) as scheduler:
        scheduler.subscribe(recorder)
        store.failures = 1
        scheduler.start_in_background()
        await scheduler.wait_until_stopped()
    assert store.attempts == 1
    assert recorder.of(DataStoreRetryGaveUp) == []
    assert recorder.of(SchedulerStopped)[0].exception == "PermissionError: read-only file"


async def test_user_calls_are_retried_too() -> None:
    clock = FakeClock(START)

    class FlakyAdd(MemoryDataStore):
        temporary_errors = (Hiccup,)
        failures = 2

        async def add_schedule(self, schedule, conflict_policy):  # type: ignore[no-untyped-def]
            if self.failures:
                self.failures -= 1
                raise Hiccup("connection reset")
            await super().add_schedule(schedule, conflict_policy)

    async with AsyncScheduler(FlakyAdd(), clock=clock) as scheduler:
        adding = asyncio.ensure_future(
            scheduler.add_schedule(tick, IntervalTrigger(seconds=1, start_time=START), id="x")
        )
        await clock.advance(1)
        assert await adding == "x"
        assert (await scheduler.get_schedule("x")).id == "x"
