"""The in-memory data store: fast, and gone when the process ends."""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from .._enums import ConflictPolicy, JobOutcome
from .._exceptions import ConflictingIdError, TaskLookupError
from .._marshalling import clone_trigger
from .._structures import Job, JobResult, Schedule, ScheduleResult, Task
from ..abc import AsyncDataStore, AsyncEventBroker
from ..events import (
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

__all__ = ["MemoryDataStore"]


_EMPTY_KWARGS: dict[str, Any] = {}
_EMPTY_METADATA: dict[str, Any] = {}
_ZERO = timedelta(0)


def _make_copier(cls: type) -> Callable[[Any], Any]:
    """A fast shallow copy for a slotted dataclass (``dataclasses.replace`` re-runs
    ``__init__`` and costs several times more; the store copies on every acquisition)."""
    names = [f.name for f in fields(cls)]
    body = "".join(f"    new.{name} = obj.{name}\n" for name in names)
    source = f"def copy(obj):\n    new = new_instance(cls)\n{body}    return new\n"
    namespace: dict[str, Any] = {"new_instance": object.__new__, "cls": cls}
    exec(source, namespace)
    return namespace["copy"]  # type: ignore[no-any-return]


_copy_job: Callable[[Job], Job] = _make_copier(Job)
_copy_schedule: Callable[[Schedule], Schedule] = _make_copier(Schedule)


def _detached_schedule(schedule: Schedule, **changes: object) -> Schedule:
    """A copy sharing no mutable state with ``schedule`` (empty containers are not copied)."""
    return schedule.copy(
        trigger=clone_trigger(schedule.trigger),
        args=deepcopy(schedule.args) if schedule.args else (),
        kwargs=deepcopy(schedule.kwargs) if schedule.kwargs else {},
        metadata=deepcopy(schedule.metadata) if schedule.metadata else {},
        **changes,
    )


def _detached_job(job: Job) -> Job:
    copy = _copy_job(job)
    copy.kwargs = deepcopy(job.kwargs) if job.kwargs else {}
    copy.metadata = deepcopy(job.metadata) if job.metadata else {}
    if job.args:
        copy.args = deepcopy(job.args)
    return copy


class MemoryDataStore(AsyncDataStore):
    """Keeps everything in this process's memory; the default store.

    Acquiring due schedules and pending jobs costs O(log n) per item: schedules sit in a heap
    keyed by their next fire time (paused ones are left out of it), pending jobs in one queue per
    task, so a task at its ``max_running_jobs`` limit is skipped as a whole instead of job by
    job.

    Objects passed in and returned are independent copies, with one exception: the schedules
    returned by :meth:`acquire_schedules` (and the jobs of :meth:`acquire_jobs`) share the
    store's trigger, arguments and metadata. The lease holder advances that trigger and hands it
    back in :meth:`release_schedules`; cloning every trigger on every fire would cost more than
    all the rest of the work.
    """

    def __init__(self) -> None:
        self._broker: AsyncEventBroker | None = None
        self._tasks: dict[str, Task] = {}
        self._schedules: dict[str, Schedule] = {}
        # (next_fire_time, schedule id) of the unpaused, unleased schedules. An entry is stale
        # once its schedule is gone, paused, leased or moved to another time; stale entries
        # are dropped when they reach the top (see _current)
        self._heap: list[tuple[datetime, str]] = []
        self._seq = itertools.count()
        self._strings: dict[str, str] = {}  # one copy of each task id
        self._leased_schedules: dict[str, Schedule] = {}
        self._jobs: dict[UUID, Job] = {}
        self._pending: dict[str, deque[tuple[int, Job]]] = {}
        self._running: dict[str, int] = {}
        self._results: dict[UUID, JobResult] = {}

    # --- lifecycle ---

    async def start(self, event_broker: AsyncEventBroker) -> None:
        self._broker = event_broker

    async def stop(self, *, force: bool = False) -> None:
        pass

    async def _publish(self, event: object) -> None:
        if self._broker is not None:
            await self._broker.publish(event)  # type: ignore[arg-type]

    def _wants(self, event_type: type) -> bool:
        """False when the broker says nobody would receive such an event (skip building it)."""
        has_subscribers = getattr(self._broker, "has_subscribers", None)
        return has_subscribers is None or has_subscribers(event_type)

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
        return task.copy(running_jobs=self._running.get(task_id, 0))

    async def get_tasks(self) -> list[Task]:
        return [
            self._tasks[task_id].copy(running_jobs=self._running.get(task_id, 0))
            for task_id in sorted(self._tasks)
        ]

    # --- schedules ---

    def _push(self, schedule: Schedule) -> None:
        if not schedule.paused and schedule.next_fire_time is not None:
            heapq.heappush(self._heap, (schedule.next_fire_time, schedule.id))

    def _current(self, fire_time: datetime, schedule_id: str) -> Schedule | None:
        """The schedule a heap entry stands for, or None if the entry is stale."""
        schedule = self._schedules.get(schedule_id)
        if (
            schedule is None
            or schedule.paused
            or schedule.acquired_by is not None
            or schedule.next_fire_time != fire_time
        ):
            return None
        return schedule

    async def add_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule: expected a Schedule, got {type(schedule).__name__}")
        if not isinstance(conflict_policy, ConflictPolicy):
            raise TypeError(f"conflict_policy: expected a ConflictPolicy, got {conflict_policy!r}")
        exists = schedule.id in self._schedules
        if exists:
            if conflict_policy is ConflictPolicy.do_nothing:
                return
            if conflict_policy is ConflictPolicy.exception:
                raise ConflictingIdError(schedule.id)
            self._leased_schedules.pop(schedule.id, None)
        stored = _detached_schedule(schedule, acquired_by=None, acquired_until=None)
        # Many schedules hold the same values: keep one object of each, not one per schedule.
        # Their kwargs and metadata are never mutated in place; copies handed out get their own.
        stored.task_id = self._strings.setdefault(stored.task_id, stored.task_id)
        if not stored.kwargs:
            stored.kwargs = _EMPTY_KWARGS
        if not stored.metadata:
            stored.metadata = _EMPTY_METADATA
        if not stored.job_result_expiration_time:
            stored.job_result_expiration_time = _ZERO
        self._schedules[schedule.id] = stored
        self._push(stored)
        event_class = ScheduleUpdated if exists else ScheduleAdded
        await self._publish(
            event_class(
                schedule_id=stored.id,
                task_id=stored.task_id,
                next_fire_time=stored.next_fire_time,
            )
        )

    async def remove_schedules(self, ids: Iterable[str], *, finished: bool = False) -> None:
        if isinstance(ids, str):
            ids = [ids]
        for schedule_id in list(ids):
            schedule = self._schedules.pop(schedule_id, None)
            if schedule is None:
                continue
            self._leased_schedules.pop(schedule_id, None)
            await self._publish(
                ScheduleRemoved(
                    schedule_id=schedule_id, task_id=schedule.task_id, finished=finished
                )
            )

    async def get_schedules(self, ids: Iterable[str] | None = None) -> list[Schedule]:
        if ids is None:
            selected: Iterable[Schedule] = self._schedules.values()
        else:
            if isinstance(ids, str):
                ids = [ids]
            selected = [self._schedules[i] for i in set(ids) if i in self._schedules]
        return sorted((_detached_schedule(s) for s in selected), key=lambda s: s.id)

    async def acquire_schedules(
        self, scheduler_id: str, lease_duration: timedelta, limit: int, now: datetime
    ) -> list[Schedule]:
        acquired: list[Schedule] = []
        until = now + lease_duration
        if self._leased_schedules:
            # take over leases that expired (their scheduler is gone)
            for schedule in list(self._leased_schedules.values()):
                if len(acquired) >= limit:
                    break
                if (
                    schedule.acquired_until is not None
                    and schedule.acquired_until <= now
                    and schedule.next_fire_time is not None
                    and schedule.next_fire_time <= now
                ):
                    schedule.acquired_by = scheduler_id
                    schedule.acquired_until = until
                    acquired.append(_copy_schedule(schedule))
        heap = self._heap
        while heap and len(acquired) < limit:
            fire_time, schedule_id = heap[0]
            current = self._current(fire_time, schedule_id)
            if current is None:
                heapq.heappop(heap)
                continue
            schedule = current
            if fire_time > now:
                break
            heapq.heappop(heap)
            schedule.acquired_by = scheduler_id
            schedule.acquired_until = until
            self._leased_schedules[schedule_id] = schedule
            acquired.append(_copy_schedule(schedule))
        return acquired

    async def release_schedules(
        self, scheduler_id: str, results: Iterable[ScheduleResult]
    ) -> None:
        for result in results:
            schedule = self._schedules.get(result.schedule_id)
            if schedule is None or schedule.acquired_by != scheduler_id:
                continue  # removed or replaced meanwhile, or the lease was taken over
            del self._leased_schedules[result.schedule_id]
            if result.next_fire_time is None:
                del self._schedules[result.schedule_id]
                if self._wants(ScheduleRemoved):
                    await self._publish(
                        ScheduleRemoved(
                            schedule_id=schedule.id, task_id=schedule.task_id, finished=True
                        )
                    )
                continue
            schedule.trigger = result.trigger
            schedule.last_fire_time = result.last_fire_time
            schedule.next_fire_time = result.next_fire_time
            schedule.acquired_by = None
            schedule.acquired_until = None
            self._push(schedule)
            await self._publish(
                ScheduleUpdated(
                    schedule_id=schedule.id,
                    task_id=schedule.task_id,
                    next_fire_time=schedule.next_fire_time,
                )
            )

    async def get_next_schedule_run_time(self) -> datetime | None:
        heap = self._heap
        while heap:
            fire_time, schedule_id = heap[0]
            if self._current(fire_time, schedule_id) is not None:
                return fire_time
            heapq.heappop(heap)
        return None

    # --- jobs ---

    async def add_job(self, job: Job) -> None:
        if not isinstance(job, Job):
            raise TypeError(f"job: expected a Job, got {type(job).__name__}")
        stored = _detached_job(job)
        self._jobs[job.id] = stored
        queue = self._pending.get(job.task_id)
        if queue is None:
            queue = self._pending[job.task_id] = deque()
        queue.append((next(self._seq), stored))
        await self._publish(
            JobAdded(job_id=job.id, task_id=job.task_id, schedule_id=job.schedule_id)
        )

    async def get_jobs(self, ids: Iterable[UUID] | None = None) -> list[Job]:
        if ids is None:
            return [_detached_job(job) for job in self._jobs.values()]
        wanted = set(ids)
        return [_detached_job(job) for job in self._jobs.values() if job.id in wanted]

    def _has_room(self, task_id: str) -> bool:
        task = self._tasks.get(task_id)
        if task is None or task.max_running_jobs is None:
            return True
        return self._running.get(task_id, 0) < task.max_running_jobs

    async def acquire_jobs(
        self, scheduler_id: str, lease_duration: timedelta, limit: int | None, now: datetime
    ) -> list[Job]:
        if limit is not None and limit <= 0:
            return []
        # one candidate per task with room: its oldest pending job
        candidates = [
            (queue[0][0], task_id)
            for task_id, queue in self._pending.items()
            if self._has_room(task_id)
        ]
        if not candidates:
            return []
        heapq.heapify(candidates)
        until = now + lease_duration
        acquired: list[Job] = []
        running = self._running
        while candidates and (limit is None or len(acquired) < limit):
            _, task_id = heapq.heappop(candidates)
            queue = self._pending[task_id]
            _, job = queue.popleft()
            job.acquired_by = scheduler_id
            job.acquired_until = until
            running[task_id] = running.get(task_id, 0) + 1
            acquired.append(_copy_job(job))
            if not queue:
                del self._pending[task_id]
            elif self._has_room(task_id):
                heapq.heappush(candidates, (queue[0][0], task_id))
        return acquired

    async def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
        stored = self._jobs.get(job.id)
        if stored is None or stored.acquired_by != scheduler_id:
            return  # already given up on (abandoned) or never acquired by this scheduler
        del self._jobs[job.id]
        self._uncount(stored.task_id)
        if result.expires_at > result.finished_at:
            self._results[job.id] = result
        if self._wants(JobRemoved):
            await self._publish(JobRemoved(job_id=job.id, task_id=job.task_id))

    def _uncount(self, task_id: str) -> None:
        count = self._running.get(task_id, 0) - 1
        if count > 0:
            self._running[task_id] = count
        else:
            self._running.pop(task_id, None)

    async def get_job_result(self, job_id: UUID) -> JobResult | None:
        return self._results.pop(job_id, None)

    # --- leases and housekeeping ---

    async def extend_acquired_schedule_leases(
        self, scheduler_id: str, schedule_ids: set[str], duration: timedelta, now: datetime
    ) -> None:
        until = now + duration
        for schedule_id in schedule_ids:
            schedule = self._leased_schedules.get(schedule_id)
            if schedule is not None and schedule.acquired_by == scheduler_id:
                schedule.acquired_until = until

    async def extend_acquired_job_leases(
        self, scheduler_id: str, job_ids: set[UUID], duration: timedelta, now: datetime
    ) -> None:
        until = now + duration
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is not None and job.acquired_by == scheduler_id:
                job.acquired_until = until

    async def cleanup(self, now: datetime) -> None:
        for job_id in [i for i, r in self._results.items() if r.expires_at <= now]:
            del self._results[job_id]
        abandoned = [
            job
            for job in self._jobs.values()
            if job.acquired_by is not None
            and job.acquired_until is not None
            and job.acquired_until < now
        ]
        for job in abandoned:
            del self._jobs[job.id]
            self._uncount(job.task_id)
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
            f"jobs={len(self._jobs)})"
        )
