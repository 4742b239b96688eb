"""The in-memory data store: fast, and gone when the process ends."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from .._copiers import private_copy
from .._enums import ConflictPolicy, JobOutcome
from .._exceptions import ConflictingIdError, TaskLookupError
from .._history import (
    DEFAULT_HISTORY_RETENTION,
    HistoryRetention,
    RunRecord,
    abandoned_record,
    as_history_retention,
    run_record,
)
from .._marshalling import clone_trigger, func_as_read
from .._protocols import SubscriberAware
from .._structures import Job, JobResult, Schedule, ScheduleResult, Task
from ..abc import AsyncDataStore, AsyncEventBroker, Trigger
from ..events import (
    Event,
    JobAdded,
    JobReleased,
    JobRemoved,
    ScheduleAdded,
    ScheduleRemoved,
    ScheduleUpdated,
    TaskAdded,
    TaskRemoved,
    TaskUpdated,
)
from ._history_memory import MemoryHistory
from ._listeners import StoreListener
from ._memory_jobs import JobTable, own_call_data

__all__ = ["MemoryDataStore"]


_EMPTY_KWARGS: dict[str, Any] = {}
_EMPTY_METADATA: dict[str, Any] = {}
_OPTIONS_LIMIT = 1024  # distinct option sets kept for reuse by each store
_MICROSECOND = timedelta(microseconds=1)
_new_object = object.__new__


class _Options:
    """The settings of a schedule that the store never changes and that most schedules share
    (one object per distinct set, see ``MemoryDataStore._options``)."""

    __slots__ = (
        "task_id",
        "paused",
        "coalesce",
        "misfire_grace_time",
        "max_jitter",
        "job_result_expiration_time",
    )

    def __init__(self, schedule: Schedule) -> None:
        self.task_id = schedule.task_id
        self.paused = schedule.paused
        self.coalesce = schedule.coalesce
        self.misfire_grace_time = schedule.misfire_grace_time
        self.max_jitter = schedule.max_jitter
        self.job_result_expiration_time = schedule.job_result_expiration_time


class _Record:
    """A stored schedule without arguments or metadata: its id is the key it is stored under,
    its lease (if any) is in ``MemoryDataStore._leases``. The class attributes stand in for the
    slots of :class:`_RecordWithArgs`; they are never mutated."""

    __slots__ = ("options", "trigger", "next_fire_time", "last_fire_time")

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _EMPTY_KWARGS
    metadata: dict[str, Any] = _EMPTY_METADATA

    def __init__(
        self,
        options: _Options,
        trigger: Trigger,
        next_fire_time: datetime | None,
        last_fire_time: datetime | None,
    ) -> None:
        self.options = options
        self.trigger = trigger
        self.next_fire_time = next_fire_time
        self.last_fire_time = last_fire_time


class _RecordWithArgs(_Record):
    """A stored schedule with arguments or metadata (the store's own deep copies)."""

    __slots__ = ("args", "kwargs", "metadata")


def _schedule_of(
    schedule_id: str, record: _Record, lease: tuple[str, datetime] | None
) -> Schedule:
    """The :class:`Schedule` a record stands for, sharing its trigger, arguments and metadata
    (but not the store's empty dicts, which every record without kwargs or metadata shares)."""
    options = record.options
    schedule: Schedule = object.__new__(Schedule)
    schedule.id = schedule_id
    schedule.task_id = options.task_id
    schedule.trigger = record.trigger
    schedule.args = record.args
    schedule.kwargs = record.kwargs or {}
    schedule.paused = options.paused
    schedule.coalesce = options.coalesce
    schedule.misfire_grace_time = options.misfire_grace_time
    schedule.max_jitter = options.max_jitter
    schedule.job_result_expiration_time = options.job_result_expiration_time
    schedule.metadata = record.metadata or {}
    schedule.next_fire_time = record.next_fire_time
    schedule.last_fire_time = record.last_fire_time
    if lease is None:
        schedule.acquired_by = schedule.acquired_until = None
    else:
        schedule.acquired_by, schedule.acquired_until = lease
    return schedule


def _detached(schedule: Schedule) -> Schedule:
    """``schedule`` (built by :func:`_schedule_of`) made to share no mutable state with the
    store: its own trigger, arguments and metadata."""
    schedule.trigger = clone_trigger(schedule.trigger)
    own_call_data(schedule)
    return schedule


class MemoryDataStore(AsyncDataStore):
    """Keeps everything in this process's memory; the default store.

    Acquiring due schedules and pending jobs costs O(log n) per item at most: schedules are
    indexed by their next fire time (a heap of the distinct times, paused schedules left out;
    schedules due at the same time are taken in the order they were indexed), pending jobs sit
    in one queue per task, so a task at its ``max_running_jobs`` limit is skipped as a whole
    instead of job by job.

    Objects passed in and returned are independent copies, with one exception: the schedules
    returned by :meth:`acquire_schedules` (and the jobs of :meth:`acquire_jobs`) share the
    store's trigger, arguments and metadata. The lease holder advances that trigger and hands it
    back in :meth:`release_schedules`; cloning every trigger on every fire would cost more than
    all the rest of the work.

    Schedules are kept compact, since a process may hold 100,000 of them: each is a small
    record (trigger, next and last fire time) pointing to one shared object per distinct set
    of its other settings (task, coalescing, grace time, ...), with arguments and metadata only
    when it has some. The due-time index groups schedules that fire at the same time under one
    entry, and the fire time itself is the object the trigger handed out (triggers built alike
    share theirs, see :class:`~nbsched.triggers.IntervalTrigger`).

    :param history_retention: how much run history to keep (see
        :class:`~nbsched.HistoryRetention`; an int ``n``: the last ``n`` runs per schedule;
        ``0``: none)
    """

    def __init__(
        self, *, history_retention: HistoryRetention | int = DEFAULT_HISTORY_RETENTION
    ) -> None:
        self.history_retention = as_history_retention(history_retention)
        self._history = MemoryHistory(self.history_retention)
        self._broker: AsyncEventBroker | None = None
        self._has_subscribers: Callable[[type], bool] | None = None
        self._listeners: list[StoreListener] = []
        self._tasks: dict[str, Task] = {}
        self._schedules: dict[str, _Record] = {}
        # The due-time index of the unpaused, unleased schedules: the ids due at each fire time
        # (one id, or a list of them in the order they were indexed) and a heap of those fire
        # times. An id is stale once its schedule is gone, paused, leased or moved to another
        # time; stale ids are dropped when their time reaches the top (see _current).
        self._due: dict[datetime, str | list[str]] = {}
        self._due_times: list[datetime] = []
        self._leases: dict[str, tuple[str, datetime]] = {}  # id -> (scheduler id, until)
        self._options: dict[tuple[Any, ...], _Options] = {}
        self._last_options: _Options | None = None  # what _options_for returned last
        self._job_table = JobTable()
        self._running = self._job_table.running
        self._overrides_add_schedule = type(self).add_schedule is not MemoryDataStore.add_schedule
        self._overrides_add_job = type(self).add_job is not MemoryDataStore.add_job
        self._overrides_release_job = type(self).release_job is not MemoryDataStore.release_job

    # --- lifecycle ---

    async def start(self, event_broker: AsyncEventBroker) -> None:
        self._broker = event_broker
        self._has_subscribers = (
            event_broker.has_subscribers if isinstance(event_broker, SubscriberAware) else None
        )

    def add_listener(self, listener: StoreListener) -> None:
        """Tell ``listener`` (a scheduler in this process) of every added or updated schedule
        and every added or released job, directly: everything this store holds changes in this
        process, so a scheduler using it needs no events to wake up, and events nobody else
        subscribes to are not built at all."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: StoreListener) -> None:
        """Undo :meth:`add_listener`."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def stop(self, *, force: bool = False) -> None:
        pass

    async def _publish(self, event: Event) -> None:
        if self._broker is not None:
            await self._broker.publish(event)

    def _wants(self, event_type: type) -> bool:
        """False when the broker says nobody would receive such an event (skip building it)."""
        has_subscribers = self._has_subscribers
        return has_subscribers is None or has_subscribers(event_type)

    def _schedule_changed(self, next_fire_time: datetime | None) -> None:
        for listener in self._listeners:
            listener.schedule_changed(next_fire_time)

    # --- tasks ---

    async def add_task(self, task: Task) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"task: expected a Task, got {type(task).__name__}")
        existing = self._tasks.get(task.id)
        self._tasks[task.id] = task.copy(running_jobs=self._running.get(task.id, 0))
        if existing is None:
            await self._publish(TaskAdded(task_id=task.id))
        else:
            await self._publish(TaskUpdated(task_id=task.id))

    async def remove_task(self, task_id: str) -> None:
        if self._tasks.pop(task_id, None) is None:
            raise TaskLookupError(task_id)
        await self._publish(TaskRemoved(task_id=task_id))

    async def get_task(self, task_id: str) -> Task:
        try:
            task = self._tasks[task_id]
        except KeyError:
            raise TaskLookupError(task_id) from None
        return self._task_as_read(task)

    async def get_tasks(self) -> list[Task]:
        return [self._task_as_read(self._tasks[task_id]) for task_id in sorted(self._tasks)]

    def _task_as_read(self, task: Task) -> Task:
        # func as the persistent stores hand it out (and APScheduler 4): its import reference;
        # the scheduler imports it back, which gives this very object. A callable with no
        # reference naming it comes back as given.
        return task.copy(func=func_as_read(task.func), running_jobs=self._running.get(task.id, 0))

    # --- schedules ---

    def _push(self, schedule_id: str, record: _Record) -> None:
        fire_time = record.next_fire_time
        if fire_time is None or record.options.paused:
            return
        due = self._due
        ids = due.get(fire_time)
        if ids is None:
            due[fire_time] = schedule_id
            heapq.heappush(self._due_times, fire_time)
        elif isinstance(ids, str):
            due[fire_time] = [ids, schedule_id]
        else:
            ids.append(schedule_id)

    def _pop_due_time(self) -> None:
        del self._due[heapq.heappop(self._due_times)]

    def _current(self, fire_time: datetime, schedule_id: str) -> _Record | None:
        """The schedule an index entry stands for, or None if the entry is stale."""
        record = self._schedules.get(schedule_id)
        if (
            record is None
            or record.options.paused
            or schedule_id in self._leases
            or record.next_fire_time != fire_time
        ):
            return None
        return record

    def _options_for(self, schedule: Schedule) -> _Options:
        last = self._last_options
        if (
            last is not None
            and last.task_id == schedule.task_id
            and last.paused == schedule.paused
            and last.coalesce is schedule.coalesce
            and last.misfire_grace_time == schedule.misfire_grace_time
            and last.max_jitter == schedule.max_jitter
            and last.job_result_expiration_time == schedule.job_result_expiration_time
        ):
            return last  # schedules added one after another mostly share their options
        key = (
            schedule.task_id,
            schedule.paused,
            schedule.coalesce,
            schedule.misfire_grace_time,
            schedule.max_jitter,
            schedule.job_result_expiration_time,
        )
        options = self._options.get(key)
        if options is None:
            if len(self._options) >= _OPTIONS_LIMIT:
                del self._options[next(iter(self._options))]  # still held by its records
            options = self._options[key] = _Options(schedule)
        self._last_options = options
        return options

    async def add_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule: expected a Schedule, got {type(schedule).__name__}")
        if not isinstance(conflict_policy, ConflictPolicy):
            raise TypeError(f"conflict_policy: expected a ConflictPolicy, got {conflict_policy!r}")
        event = self._put_schedule(schedule, conflict_policy, clone_trigger(schedule.trigger))
        if event is not None:
            await self._publish(event)

    async def adopt_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
        """:meth:`add_schedule` keeping ``schedule.trigger`` itself instead of a copy: for a
        caller that made the trigger for this call and never touches it again (the scheduler,
        which adds its own copy of the user's trigger; see
        :class:`~nbsched.abc.ScheduleAdopter`). Arguments and metadata are still copied: they
        are the user's. A subclass that overrides :meth:`add_schedule` gets every schedule
        through its override."""
        if self._overrides_add_schedule:
            await self.add_schedule(schedule, conflict_policy)
            return
        event = self._put_schedule(schedule, conflict_policy, schedule.trigger)
        if event is not None:
            await self._publish(event)

    def _put_schedule(
        self, schedule: Schedule, conflict_policy: ConflictPolicy, trigger: Trigger
    ) -> Event | None:
        """Store ``schedule`` with ``trigger`` (the store's own); return the event to publish
        (None: nobody would receive it, or ``do_nothing`` kept an existing schedule)."""
        schedule_id = schedule.id
        exists = schedule_id in self._schedules
        if exists:
            if conflict_policy is ConflictPolicy.do_nothing:
                return None
            if conflict_policy is ConflictPolicy.exception:
                raise ConflictingIdError(schedule_id)
            self._leases.pop(schedule_id, None)
        options = self._options_for(schedule)
        record: _Record
        if schedule.args or schedule.kwargs or schedule.metadata:
            record = _RecordWithArgs(
                options, trigger, schedule.next_fire_time, schedule.last_fire_time
            )
            record.args = private_copy(schedule.args) if schedule.args else ()
            record.kwargs = private_copy(schedule.kwargs) if schedule.kwargs else _EMPTY_KWARGS
            record.metadata = (
                private_copy(schedule.metadata) if schedule.metadata else _EMPTY_METADATA
            )
        else:  # (the __init__ written out: a frame less per add)
            record = _new_object(_Record)
            record.options = options
            record.trigger = trigger
            record.next_fire_time = schedule.next_fire_time
            record.last_fire_time = schedule.last_fire_time
        self._schedules[schedule_id] = record
        self._push(schedule_id, record)
        next_fire_time = record.next_fire_time
        for listener in self._listeners:
            listener.schedule_changed(next_fire_time)
        event_class = ScheduleUpdated if exists else ScheduleAdded
        has_subscribers = self._has_subscribers
        if has_subscribers is not None and not has_subscribers(event_class):
            return None
        return event_class(
            schedule_id=schedule_id, task_id=options.task_id, next_fire_time=record.next_fire_time
        )

    async def remove_schedules(self, ids: Iterable[str], *, finished: bool = False) -> None:
        if isinstance(ids, str):
            ids = [ids]
        # a copy first: ``ids`` may be a view of ``self._schedules``, which the loop changes
        for schedule_id in list(ids):  # noqa: PERF101
            record = self._schedules.pop(schedule_id, None)
            if record is None:
                continue
            self._leases.pop(schedule_id, None)
            await self._publish(
                ScheduleRemoved(
                    schedule_id=schedule_id, task_id=record.options.task_id, finished=finished
                )
            )

    async def get_schedules(self, ids: Iterable[str] | None = None) -> list[Schedule]:
        schedules = self._schedules
        if ids is None:
            selected = sorted(schedules)
        else:
            if isinstance(ids, str):
                ids = [ids]
            selected = sorted(i for i in set(ids) if i in schedules)
        leases = self._leases
        return [_detached(_schedule_of(i, schedules[i], leases.get(i))) for i in selected]

    async def acquire_schedules(
        self, scheduler_id: str, lease_duration: timedelta, limit: int, now: datetime
    ) -> list[Schedule]:
        acquired: list[Schedule] = []
        lease = (scheduler_id, now + lease_duration)
        leases = self._leases
        schedules = self._schedules
        if leases:
            # take over leases that expired (their scheduler is gone)
            for schedule_id, (_, until) in list(leases.items()):
                if len(acquired) >= limit:
                    break
                record = schedules[schedule_id]
                if (
                    until < now  # a lease holds through its last instant
                    and record.next_fire_time is not None
                    and record.next_fire_time <= now
                ):
                    leases[schedule_id] = lease
                    acquired.append(_schedule_of(schedule_id, record, lease))
        due_times = self._due_times
        due = self._due
        while due_times and len(acquired) < limit:
            fire_time = due_times[0]
            ids = due[fire_time]
            if isinstance(ids, str):
                current = self._current(fire_time, ids)
                if current is None:
                    self._pop_due_time()
                    continue
                if fire_time > now:
                    break
                self._pop_due_time()
                leases[ids] = lease
                acquired.append(_schedule_of(ids, current, lease))
                continue
            if fire_time > now:
                if self._first_current(fire_time):
                    break
                continue
            taken = 0  # ids taken off the front of the list
            for schedule_id in ids:
                if len(acquired) >= limit:
                    break
                taken += 1
                current = self._current(fire_time, schedule_id)
                if current is not None:
                    leases[schedule_id] = lease
                    acquired.append(_schedule_of(schedule_id, current, lease))
            if taken == len(ids):
                self._pop_due_time()
            else:
                del ids[:taken]
        return acquired

    def _first_current(self, fire_time: datetime) -> bool:
        """Whether a schedule is due at ``fire_time``, the top of the index. Drops the stale
        ids in front of the first one that is (and the time itself when all are stale)."""
        ids = self._due[fire_time]
        if isinstance(ids, str):
            if self._current(fire_time, ids) is not None:
                return True
        else:
            for position, schedule_id in enumerate(ids):
                if self._current(fire_time, schedule_id) is not None:
                    del ids[:position]
                    return True
        self._pop_due_time()
        return False

    async def release_schedules(
        self, scheduler_id: str, results: Iterable[ScheduleResult]
    ) -> None:
        leases = self._leases
        # asked once per batch, not per schedule
        wants_removed = self._wants(ScheduleRemoved)
        wants_updated = self._wants(ScheduleUpdated)
        for result in results:
            schedule_id = result.schedule_id
            lease = leases.get(schedule_id)
            if lease is None or lease[0] != scheduler_id:
                continue  # removed or replaced meanwhile, or the lease was taken over
            del leases[schedule_id]
            if result.next_fire_time is None:
                record = self._schedules.pop(schedule_id)
                if wants_removed:
                    await self._publish(
                        ScheduleRemoved(
                            schedule_id=schedule_id,
                            task_id=record.options.task_id,
                            finished=True,
                        )
                    )
                continue
            record = self._schedules[schedule_id]
            record.trigger = result.trigger
            record.last_fire_time = result.last_fire_time
            record.next_fire_time = result.next_fire_time
            self._push(schedule_id, record)
            self._schedule_changed(record.next_fire_time)
            if wants_updated:
                await self._publish(
                    ScheduleUpdated(
                        schedule_id=schedule_id,
                        task_id=record.options.task_id,
                        next_fire_time=record.next_fire_time,
                    )
                )

    async def get_next_schedule_run_time(self) -> datetime | None:
        earliest: datetime | None = None
        due_times = self._due_times
        while due_times:
            fire_time = due_times[0]
            if self._first_current(fire_time):
                earliest = fire_time
                break
        # A leased schedule is due again just after its lease ends (if its scheduler died,
        # it is taken over then). Leases are few: the batches being processed right now.
        for schedule_id, (_, until) in self._leases.items():
            record = self._schedules[schedule_id]
            if record.next_fire_time is None or record.options.paused:
                continue
            due = max(record.next_fire_time, until + _MICROSECOND)
            if earliest is None or due < earliest:
                earliest = due
        return earliest

    # --- jobs ---

    async def add_job(self, job: Job) -> None:
        if not isinstance(job, Job):
            raise TypeError(f"job: expected a Job, got {type(job).__name__}")
        self._job_table.add(job)
        for listener in self._listeners:
            listener.job_added()
        has_subscribers = self._has_subscribers  # _wants, without a call per job
        if has_subscribers is None or has_subscribers(JobAdded):
            await self._publish(
                JobAdded(job_id=job.id, task_id=job.task_id, schedule_id=job.schedule_id)
            )

    async def adopt_jobs(self, jobs: list[Job]) -> None:
        """:meth:`add_job` for each of ``jobs``, keeping the ``Job`` objects themselves
        instead of copies: for a caller that built them for this call and never touches them
        again (the scheduler, for the jobs of due schedules; see
        :class:`~nbsched.abc.JobAdopter`). Arguments and metadata are still copied. The
        listeners hear of the batch once. Nothing is adopted if one of ``jobs`` is not a
        ``Job``. A subclass that overrides :meth:`add_job` gets every job through its
        override."""
        for job in jobs:
            if not isinstance(job, Job):
                raise TypeError(f"job: expected a Job, got {type(job).__name__}")
        if self._overrides_add_job:
            for job in jobs:
                await self.add_job(job)
            return
        if not jobs:
            return
        self._job_table.adopt(jobs)
        for listener in self._listeners:
            listener.job_added()
        if self._wants(JobAdded):
            for job in jobs:
                await self._publish(
                    JobAdded(job_id=job.id, task_id=job.task_id, schedule_id=job.schedule_id)
                )

    async def get_jobs(self, ids: Iterable[UUID] | None = None) -> list[Job]:
        return self._job_table.get(ids)

    async def acquire_jobs(
        self, scheduler_id: str, lease_duration: timedelta, limit: int | None, now: datetime
    ) -> list[Job]:
        return self._job_table.acquire(scheduler_id, lease_duration, limit, now, self._tasks)

    def release_job_now(self, scheduler_id: str, job: Job, result: JobResult) -> bool:
        """:meth:`release_job` without a coroutine, when it has nothing to await (see
        :class:`~nbsched.abc.JobReleaser`); False, having done nothing, when it has (a
        ``JobRemoved`` to publish) or a subclass overrides :meth:`release_job`."""
        has_subscribers = self._has_subscribers
        if self._overrides_release_job or has_subscribers is None or has_subscribers(JobRemoved):
            return False
        self._release(scheduler_id, job, result)
        return True

    async def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
        if not self._release(scheduler_id, job, result):
            return
        has_subscribers = self._has_subscribers  # _wants, without a call per job
        if has_subscribers is None or has_subscribers(JobRemoved):
            await self._publish(JobRemoved(job_id=job.id, task_id=job.task_id))

    def _release(self, scheduler_id: str, job: Job, result: JobResult) -> bool:
        """The release itself; False if this scheduler does not hold the job (abandoned,
        taken over by another scheduler, or never acquired)."""
        if self._job_table.release(scheduler_id, job.id, result) is None:
            return False
        if self.history_retention is not None:
            self._history.add(run_record(job, result, scheduler_id))
        waiting = self._job_table.has_pending()
        for listener in self._listeners:
            listener.job_released(job.id, scheduler_id, waiting)
        return True

    async def get_job_result(self, job_id: UUID) -> JobResult | None:
        return self._job_table.results.pop(job_id, None)

    # --- leases and housekeeping ---

    async def extend_acquired_schedule_leases(
        self, scheduler_id: str, schedule_ids: set[str], duration: timedelta, now: datetime
    ) -> None:
        leases = self._leases
        lease = (scheduler_id, now + duration)
        for schedule_id in schedule_ids:
            held = leases.get(schedule_id)
            if held is not None and held[0] == scheduler_id:
                leases[schedule_id] = lease

    async def extend_acquired_job_leases(
        self, scheduler_id: str, job_ids: set[UUID], duration: timedelta, now: datetime
    ) -> None:
        self._job_table.extend(scheduler_id, job_ids, now + duration)

    async def get_run_history(
        self, schedule_id: str | None = None, since: datetime | None = None
    ) -> list[RunRecord]:
        return self._history.get(schedule_id, since)

    async def cleanup(self, now: datetime) -> None:
        self._job_table.forget_expired_results(now)
        self._history.prune(now)
        # schedules held by a dead scheduler: nobody holds them any more
        expired = sorted(i for i, (_, until) in self._leases.items() if until < now)
        for schedule_id in expired:
            del self._leases[schedule_id]
            record = self._schedules[schedule_id]
            self._push(schedule_id, record)
            self._schedule_changed(record.next_fire_time)
            await self._publish(
                ScheduleUpdated(
                    schedule_id=schedule_id,
                    task_id=record.options.task_id,
                    next_fire_time=record.next_fire_time,
                )
            )
        for job in self._job_table.abandon_expired(now):
            self._history.add(abandoned_record(job, now))
            for listener in self._listeners:
                listener.job_released(job.id, job.acquired_by or "", True)
            await self._publish(JobRemoved(job_id=job.id, task_id=job.task_id))
            await self._publish(
                JobReleased(
                    job_id=job.id,
                    scheduler_id=job.acquired_by or "",
                    task_id=job.task_id,
                    schedule_id=job.schedule_id,
                    scheduled_start=job.scheduled_start_time,
                    started_at=job.started_at,
                    finished_at=now,
                    outcome=JobOutcome.abandoned,
                )
            )

    def __repr__(self) -> str:
        return (
            f"MemoryDataStore(tasks={len(self._tasks)}, schedules={len(self._schedules)}, "
            f"jobs={len(self._job_table.jobs)})"
        )
