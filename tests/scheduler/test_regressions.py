"""Tests that each fail on a one-line bug the rest of the suite let through (issue 10)."""

from __future__ import annotations

import types

import pytest
from scheduler_helpers import START, Recorder, seconds, start

from nbsched import AsyncScheduler, FakeClock, JobOutcome
from nbsched._retry import RetryPolicy
from nbsched._schedulers import _processing
from nbsched.events import JobReleased
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.anyio


async def tick() -> None:
    pass


def every(n: float, first: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=n, start_time=START + seconds(first))


# --- the start deadline includes the jitter: fire time + jitter + grace ---------------------


async def test_a_jittered_job_gets_its_grace_from_its_jittered_start(
    scheduler: AsyncScheduler,
    clock: FakeClock,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the largest jitter allowed, every time: the job is meant to start 20 s after its fire
    monkeypatch.setattr(_processing, "random", types.SimpleNamespace(randint=lambda a, b: b))
    await scheduler.add_schedule(
        tick, every(60, first=10), id="jittered", max_jitter=20, misfire_grace_time=5
    )
    await start(scheduler, clock)
    await clock.advance(10)  # fired at 10 s; the job waits for its start at 30 s
    (job,) = await scheduler.get_jobs()
    assert job.jitter == seconds(20)
    assert job.start_deadline == START + seconds(10 + 20 + 5)
    await clock.advance(20)
    (released,) = recorder.of(JobReleased)
    # with the deadline at fire time + grace (15 s) it would have missed its own start (30 s)
    assert released.outcome is JobOutcome.success


# --- a task's misfire_grace_time is the default of its schedules ---------------------------


@pytest.mark.parametrize(
    "schedule_grace, expected",
    [
        (None, ["missed_start_deadline", "missed_start_deadline", "success"]),  # the task's 5 s
        (30, ["success"] * 3),  # the schedule's own setting wins
    ],
)
async def test_a_task_level_misfire_grace_time_applies_to_its_schedules(
    scheduler: AsyncScheduler,
    clock: FakeClock,
    recorder: Recorder,
    schedule_grace: float | None,
    expected: list[str],
) -> None:
    await scheduler.configure_task(tick, misfire_grace_time=5)
    await scheduler.add_schedule(
        tick, every(10, first=10), coalesce="all", misfire_grace_time=schedule_grace
    )
    await clock.advance(32)  # fires at 10, 20 and 30 s are due when the scheduler starts
    await start(scheduler, clock)
    assert [e.outcome.name for e in recorder.of(JobReleased)] == expected


# --- only the store's temporary errors are retried --------------------------------------------


class Hiccup(Exception):
    """A temporary failure."""


async def test_a_permanent_error_after_a_temporary_one_fails_fast() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    errors = [Hiccup("database is locked"), PermissionError("bad credentials")]
    attempts = 0

    async def operation() -> None:
        nonlocal attempts
        attempts += 1
        raise errors[min(attempts, len(errors)) - 1]

    policy = RetryPolicy((Hiccup,), sleep=sleep, initial_wait=0.1, max_time=30)
    with pytest.raises(PermissionError, match="bad credentials"):
        await policy.call("get_schedules", operation)
    assert attempts == 2  # the temporary error was retried once; the permanent one not at all
    assert waits == [0.1]
