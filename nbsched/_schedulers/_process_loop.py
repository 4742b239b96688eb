"""The processing loop of :class:`~nbsched.AsyncScheduler`: it sleeps until the next fire time
(or until an event wakes it), acquires due schedules and turns their fire times into jobs,
acquires jobs and hands them to the job runner (:mod:`._jobs`); beside it, the loops that
renew the leases of running jobs and clean the store up. The decisions (coalescing, jitter)
are the pure functions of :mod:`._processing`."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from uuid import UUID

from .._clock import SystemClock
from .._exceptions import DeserializationError, TaskLookupError
from .._ids import new_uuid
from .._positional import positional_builder
from .._structures import Job, Schedule, ScheduleResult
from ..events import Event, JobAcquired, JobReleased, ScheduleAdded, ScheduleUpdated
from ._core import SchedulerCore
from ._processing import due_fire_times, pick_jitter
from ._trigger_errors import pause_for_trigger_error, unchanged_result

__all__ = ["ProcessingLoop"]

_SCHEDULE_CHANGES = (ScheduleAdded, ScheduleUpdated)
_ZERO = timedelta(0)
# built once per due schedule or fire: positionally, every field in field order
_new_job = positional_builder(Job)
_new_schedule_result = positional_builder(ScheduleResult)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _job_of(
    schedule: Schedule,
    fire_time: datetime,
    upcoming: datetime | None,
    grace: timedelta | None,
    now: datetime,
) -> Job:
    jitter = (
        pick_jitter(schedule.max_jitter, fire_time, upcoming) if schedule.max_jitter else _ZERO
    )
    return _new_job(  # positionally: one per fire
        new_uuid(),  # id
        schedule.task_id,
        schedule.args,
        schedule.kwargs,
        schedule.id,  # schedule_id
        fire_time,  # scheduled_fire_time
        jitter,
        None if grace is None else fire_time + jitter + grace,  # start_deadline
        schedule.job_result_expiration_time,  # result_expiration_time
        now,  # created_at
        {},  # metadata
        None,  # acquired_by
        None,  # acquired_until
        None,  # started_at
    )


class StoreChanges:
    """A scheduler's :class:`~nbsched.datastores._listeners.StoreListener`: a store that
    keeps everything in this process tells it of changes directly, in place of events."""

    __slots__ = ("_scheduler",)

    def __init__(self, scheduler: ProcessingLoop) -> None:
        self._scheduler = scheduler

    # A wake-up already pending (from any thread) makes the loop look at the store again
    # before it sleeps, and the change is in the store already: nothing more to do.

    def schedule_changed(self, next_fire_time: datetime | None) -> None:
        scheduler = self._scheduler
        if not scheduler._wake_pending:
            scheduler._on_store_change(next_fire_time, None, "")

    def job_added(self) -> None:
        scheduler = self._scheduler
        if not scheduler._wake_pending:
            scheduler._on_store_change(None, None, "")

    def job_released(self, job_id: UUID, scheduler_id: str, jobs_waiting: bool) -> None:
        scheduler = self._scheduler
        if scheduler_id == scheduler.identity:
            # our own job: its release served its result waiters; the loop has something to
            # do only if jobs wait (for the room this job leaves, in max_concurrent_jobs or
            # its task's max_running_jobs). Not waking it saves a pass a job.
            if jobs_waiting and not scheduler._wake_pending:
                scheduler._on_store_change(None, None, "")
        elif not scheduler._wake_pending or scheduler._result_waiters:
            scheduler._on_store_change(None, job_id, scheduler_id)


class ProcessingLoop(SchedulerCore):
    """The wake-ups, the processing loop and the housekeeping loops of a scheduler."""

    def _wants(self, event_type: type[Event]) -> bool:
        """False when the broker says nobody would receive such an event (skip building it)."""
        has_subscribers = self._has_subscribers
        return has_subscribers is None or has_subscribers(event_type)

    def _on_store_change(
        self, next_fire_time: datetime | None, released: UUID | None, released_by: str
    ) -> None:
        """What :meth:`_on_event` does for the events a :class:`StoreChanges` stands for: a
        schedule that fires at ``next_fire_time`` (None: a job was added or released), the
        job ``released`` by the scheduler ``released_by``."""
        if threading.get_ident() != self._loop_thread:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(
                    self._on_store_change, next_fire_time, released, released_by
                )
            return
        if (
            released is not None
            and self._result_waiters
            and released_by != self.identity
            and released in self._result_waiters
        ):
            self._fetch_foreign(released)
        if self._wake_pending or (next_fire_time is not None and self._wakes_by(next_fire_time)):
            return
        self._wake()

    def _fetch_foreign(self, job_id: UUID) -> None:
        task = asyncio.ensure_future(self._fetch_foreign_result(job_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _wake(self) -> None:
        self._wake_pending = True
        future = self._wake_future
        if future is not None and not future.done():
            future.set_result(None)

    def _on_event(self, event: Event) -> None:
        if threading.get_ident() != self._loop_thread:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._handle_event, event)
        elif self._result_waiters or not self._wake_pending:
            self._handle_event(event)

    def _handle_event(self, event: Event) -> None:
        if (
            self._result_waiters
            and type(event) is JobReleased
            and event.scheduler_id != self.identity
            and event.job_id in self._result_waiters
        ):
            self._fetch_foreign(event.job_id)
        if isinstance(event, _SCHEDULE_CHANGES) and self._wakes_by(event.next_fire_time):
            return
        self._wake()

    def _wakes_by(self, fire_time: datetime | None) -> bool:
        """True when the sleeping loop will wake by ``fire_time`` anyway (so an added or
        updated schedule firing then needs no early wake-up and no extra store queries)."""
        deadline = self._sleeping_until
        return (
            deadline is not None
            and fire_time is not None
            and self._wake_future is not None
            and fire_time >= deadline
        )

    async def _wait(self, deadline: datetime | None) -> None:
        if self._wake_pending:
            return
        loop = asyncio.get_running_loop()
        future = self._wake_future = loop.create_future()
        self._sleeping_until = deadline
        sleeper: asyncio.Task[None] | asyncio.TimerHandle | None = None
        if deadline is None:
            pass
        elif type(self.clock) is SystemClock:
            # A timer on the loop wakes us a few loop iterations sooner than a task sleeping
            # on the clock would. Long waits are cut into one-minute steps so that the wall
            # clock and the loop's monotonic clock cannot drift apart much.
            delay = min((deadline - self.clock.now()).total_seconds(), 60.0)
            sleeper = loop.call_later(max(delay, 0.0), _resolve, future)
        else:
            sleeper = loop.create_task(self.clock.sleep_until(deadline))
            sleeper.add_done_callback(lambda _: _resolve(future))
        try:
            with self._activity.waiting:
                await future
        finally:
            self._wake_future = None
            self._sleeping_until = None
            if sleeper is not None:
                sleeper.cancel()

    # The clock is read on each attempt of these two calls, so that one retried after a
    # temporary store error does not acquire (and compute leases) with the time of the first.

    async def _acquire_schedules_now(self) -> tuple[list[Schedule], datetime]:
        now = self.clock.now()
        schedules = await self.data_store.acquire_schedules(
            self.identity, self.lease_duration, self.batch_size, now
        )
        return schedules, now

    async def _acquire_jobs_now(self, limit: int) -> tuple[list[Job], datetime]:
        now = self.clock.now()
        jobs = await self.data_store.acquire_jobs(self.identity, self.lease_duration, limit, now)
        return jobs, now

    async def _process_loop(self) -> None:
        self._loop_task = asyncio.current_task()
        store = self.data_store
        call = self._call
        identity = self.identity
        while not self._stop_requested:
            self._wake_pending = False
            schedules, now = await call("acquire_schedules", self._acquire_schedules_now)
            if schedules:
                await self._process_schedules(schedules, now)
            room = self.max_concurrent_jobs - len(self._running_jobs)
            jobs: list[Job] = []
            if room > 0:
                jobs, now = await call("acquire_jobs", self._acquire_jobs_now, room)
                if jobs:
                    self._start_jobs(jobs)
                for job in jobs if self._wants(JobAcquired) else ():
                    await self.event_broker.publish(
                        JobAcquired(
                            timestamp=now,
                            job_id=job.id,
                            scheduler_id=identity,
                            task_id=job.task_id,
                            schedule_id=job.schedule_id,
                            scheduled_start=job.scheduled_start_time,
                        )
                    )
            if (
                jobs
                and not self._stop_requested
                and (len(schedules) >= self.batch_size or len(jobs) >= room or self._catching_up)
            ):
                # let the jobs just started run before the next batch: due schedules then
                # become jobs as fast as jobs run, instead of all of them pending at once
                # (with no next batch, as for a single fire, the loop goes to sleep first)
                await asyncio.sleep(0)
            if schedules or jobs or self._stop_requested:
                continue
            next_fire_time = await call(
                "get_next_schedule_run_time", store.get_next_schedule_run_time
            )
            # A store shared by several processes (SQLite) cannot tell us about their changes:
            # it declares how long we may sleep before looking at it again.
            polling = self._polling_store
            poll_interval = None if polling is None else polling.poll_interval
            if poll_interval:
                poll_deadline = self.clock.now() + timedelta(seconds=poll_interval)
                if next_fire_time is None or next_fire_time > poll_deadline:
                    next_fire_time = poll_deadline
            await self._wait(next_fire_time)

    async def _process_schedules(self, schedules: list[Schedule], now: datetime) -> None:
        results: list[ScheduleResult] = []
        broken: list[tuple[Schedule, Exception]] = []
        store_add_job = self.data_store.add_job
        direct = not self._retry.temporary_errors  # nothing to retry: no _call per job
        # a store that takes jobs over gets the batch's jobs at once (nothing to retry only:
        # a retried batch could be added twice)
        adopted: list[Job] | None = [] if direct and self._adopt_jobs is not None else None
        try:
            # a schedule's result is kept only once all its jobs are added: the finally block
            # hands the others back untouched when a store call failed
            for schedule in schedules:
                fired = self._fire(schedule, now, broken)
                if fired is None:
                    results.append(unchanged_result(schedule))
                    continue
                fire_times, result = fired
                if fire_times:
                    grace = schedule.misfire_grace_time
                    if grace is None:
                        task = self._tasks.get(schedule.task_id)
                        grace = (
                            task.misfire_grace_time
                            if task is not None
                            else await self._task_grace(schedule.task_id)
                        )
                    upcoming = result.next_fire_time
                    for fire_time in fire_times:
                        job = _job_of(schedule, fire_time, upcoming, grace, now)
                        if adopted is not None:
                            adopted.append(job)
                        elif direct:
                            await store_add_job(job)
                        else:
                            await self._call("add_job", store_add_job, job)
                results.append(result)
            if adopted:
                try:
                    await self._adopt_jobs(adopted)  # type: ignore[misc]
                except BaseException:
                    results.clear()  # no job was added: every schedule goes back untouched
                    raise
        finally:
            if len(results) < len(schedules):
                # a store call failed midway: hand the rest back untouched
                done = {result.schedule_id for result in results}
                results.extend(unchanged_result(s) for s in schedules if s.id not in done)
            await self._call(
                "release_schedules", self.data_store.release_schedules, self.identity, results
            )
        for schedule, error in broken:
            await pause_for_trigger_error(self, schedule, error)
        if self._catching_up:
            await asyncio.sleep(0)  # a schedule still catching up: let the jobs run meanwhile

    def _fire(
        self, schedule: Schedule, now: datetime, broken: list[tuple[Schedule, Exception]]
    ) -> tuple[list[datetime], ScheduleResult] | None:
        """The fire times of a due schedule that become jobs, and the schedule's result; None
        (and the schedule in ``broken``) if its trigger broke the contract."""
        assert schedule.next_fire_time is not None
        catching_up = self._catching_up
        continuing = bool(catching_up) and (
            catching_up.pop(schedule.id, None) == schedule.next_fire_time
        )
        try:
            fire_times, last, upcoming, cut_short = due_fire_times(
                schedule.trigger,
                schedule.next_fire_time,
                now,
                schedule.coalesce,
                continuing=continuing,
            )
        except Exception as exc:  # the trigger broke the contract (or raised): pause it
            broken.append((schedule, exc))
            return None
        if cut_short:
            self._catching_up[schedule.id] = upcoming
        return fire_times, _new_schedule_result(
            schedule.id, schedule.task_id, schedule.trigger, last, upcoming
        )

    async def _task_grace(self, task_id: str) -> timedelta | None:
        """The misfire grace time of a task not in the cache (None if it cannot be read: its
        jobs fail when they would run, saying why)."""
        try:
            task = await self._get_task(task_id)
        except (TaskLookupError, DeserializationError):
            return None
        return task.misfire_grace_time

    async def _lease_renewal_loop(self) -> None:
        interval = self.lease_duration / 2
        while True:
            with self._activity.waiting:
                await self.clock.sleep_until(self.clock.now() + interval)
            if not self._running_jobs:
                continue
            try:
                now = self.clock.now()
                await self._call(
                    "extend_acquired_job_leases",
                    self.data_store.extend_acquired_job_leases,
                    self.identity,
                    {job.id for _, job in self._running_jobs.values()},
                    self.lease_duration,
                    now,
                )
            except Exception:
                self.logger.exception("could not renew the leases of running jobs")

    async def _cleanup_loop(self) -> None:
        while True:
            with self._activity.waiting:
                await self.clock.sleep_until(self.clock.now() + self.cleanup_interval)
            try:
                await self._call("cleanup", self.data_store.cleanup, self.clock.now())
            except Exception:
                self.logger.exception("data store cleanup failed")
