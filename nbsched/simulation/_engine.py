"""Run copies of schedules on a real :class:`~nbsched.AsyncScheduler` driven by a
:class:`~nbsched.FakeClock`, and record what happened to every job it created."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .._clock import FakeClock
from .._context import current_job
from .._enums import ConflictPolicy
from .._structures import Job, JobResult, Schedule, Task
from ..datastores.memory import MemoryDataStore

if TYPE_CHECKING:
    from .._schedulers.async_ import AsyncScheduler

__all__ = ["JobRecord", "Plan", "run_plan"]

#: long leases: one scheduler holds them all, and a renewal is one more wake-up of the clock
_LEASE = timedelta(hours=1)
_CLEANUP = timedelta(days=1)


@dataclass(slots=True)
class JobRecord:
    """One job the simulated scheduler created, and how it ended."""

    schedule_id: str
    fire_time: datetime
    outcome: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True, kw_only=True)
class Plan:
    """What to simulate: prepared schedules (their triggers are copies), their tasks, how long
    each run takes, and when the scheduler is down.

    :ivar now: when the simulated scheduler starts
    :ivar end: schedules create no job for a fire time at or after it (unless a downtime
        lasts past it: then the scheduler handles its backlog when it comes back, and stops)
    :ivar downtime: ``[from, to)`` intervals, sorted and disjoint, starting in ``[now, end)``
    """

    schedules: Sequence[Schedule]
    tasks: Sequence[Task]
    duration_of: Callable[[str, datetime], timedelta]
    now: datetime
    end: datetime
    downtime: Sequence[tuple[datetime, datetime]] = ()
    max_concurrent_jobs: int = 100
    jobs: dict[object, JobRecord] = field(default_factory=dict)


class _RecordingStore(MemoryDataStore):
    """The memory store, noting the schedule and fire time of every job added and how it
    ended when it is released (its own run history is off)."""

    def __init__(self, jobs: dict[object, JobRecord]) -> None:
        super().__init__(history_retention=0)  # the simulation keeps its own record
        self._records = jobs

    async def add_job(self, job: Job) -> None:
        if job.schedule_id is not None and job.scheduled_fire_time is not None:
            self._records[job.id] = JobRecord(job.schedule_id, job.scheduled_fire_time)
        await super().add_job(job)

    async def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
        record = self._records.get(job.id)
        if record is not None:
            record.outcome = result.outcome.name
            record.started_at = result.started_at
            record.finished_at = result.finished_at
        await super().release_job(scheduler_id, job, result)


class _SimulatedRun:
    """The function every simulated job runs: it waits on the fake clock for as long as the
    run takes. An error in the user's ``durations`` ends the simulation (see ``failure``)."""

    def __init__(self, clock: FakeClock, duration_of: Callable[[str, datetime], timedelta]):
        self.clock = clock
        self.duration_of = duration_of
        self.longest = timedelta(0)
        self.failure: Exception | None = None

    async def __call__(self) -> None:
        job = current_job.get()
        assert job.schedule_id is not None and job.scheduled_fire_time is not None
        try:
            duration = self.duration_of(job.schedule_id, job.scheduled_fire_time)
        except Exception as exc:
            if self.failure is None:
                self.failure = exc
            raise
        if duration:
            if duration > self.longest:
                self.longest = duration
            await self.clock.sleep_until(self.clock.now() + duration)


async def run_plan(plan: Plan) -> None:
    """Run ``plan`` on a fresh scheduler, recording every job created in ``plan.jobs``.

    (It returns nothing: asyncio formats the result of the main task when it ends, and a
    dict of a million jobs takes a while to format.)

    :raises: what ``plan.duration_of`` raised, as soon as the clock step it happened in ends
    """
    from .._schedulers.async_ import AsyncScheduler

    clock = FakeClock(plan.now)
    runner = _SimulatedRun(clock, plan.duration_of)
    store = _RecordingStore(plan.jobs)
    scheduler = AsyncScheduler(
        store,
        clock=clock,
        identity="simulation",
        max_concurrent_jobs=plan.max_concurrent_jobs,
        lease_duration=_LEASE,
        cleanup_interval=_CLEANUP,
    )

    async def step(move: Awaitable[None]) -> None:
        await move
        if runner.failure is not None:
            raise runner.failure

    async with scheduler:
        for task in plan.tasks:
            await store.add_task(task.copy(func=runner, job_executor="async", running_jobs=0))
        for schedule in plan.schedules:
            await store.add_schedule(schedule, ConflictPolicy.replace)
        up = False
        for down_from, down_to in plan.downtime:
            if clock.now() < down_from:
                if not up:
                    await step(_start(scheduler, clock))
                    up = True
                # down from that instant on: what falls due then waits for the restart
                await step(clock.set_before(down_from))
            if up:
                await scheduler.stop()
                up = False
            if clock.now() < down_to:
                await clock.set(down_to)
        if not up:
            await step(_start(scheduler, clock))
        if clock.now() < plan.end:
            await step(clock.set_before(plan.end))
        # no more fires: let the jobs already created run to their end
        await store.remove_schedules([s.id for s in plan.schedules])
        while await store.get_jobs():
            await step(clock.advance(max(runner.longest, timedelta(seconds=1))))
        await scheduler.stop()


async def _start(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    scheduler.start_in_background()
    await clock.settle()
