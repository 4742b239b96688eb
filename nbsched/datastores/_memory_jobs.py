"""The memory store's jobs: pending queues, leases, running counts and kept results."""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from uuid import UUID

from .._copiers import attribute_copier, private_copy
from .._enums import JobOutcome
from .._structures import Job, JobResult, Schedule, Task

__all__ = ["JobTable", "copy_job", "own_call_data"]

_ZERO = timedelta(0)


def own_call_data(item: Job | Schedule) -> None:
    """Give ``item`` (a job or schedule the store keeps) its own copies of its arguments and
    metadata, so that nothing its caller still holds can change them; empty ones are kept as
    they are (copying them costs more than sharing an empty container nothing writes to)."""
    if item.args:
        item.args = private_copy(item.args)
    if item.kwargs:
        item.kwargs = private_copy(item.kwargs)
    if item.metadata:
        item.metadata = private_copy(item.metadata)


#: a shallow copy of a job (``dataclasses.replace`` re-runs ``__init__`` and costs several
#: times more; the store copies on every acquisition)
copy_job: Callable[[Job], Job] = attribute_copier(Job, [f.name for f in fields(Job)])


def _detached_job(job: Job) -> Job:
    copy = copy_job(job)
    copy.kwargs = private_copy(job.kwargs) if job.kwargs else {}
    copy.metadata = private_copy(job.metadata) if job.metadata else {}
    if job.args:
        copy.args = private_copy(job.args)
    return copy


class JobTable:
    """Every job of a :class:`~nbsched.datastores.memory.MemoryDataStore`.

    Pending jobs sit in one queue per task, so a task at its ``max_running_jobs`` limit is
    skipped as a whole. Each job keeps the place in line it got when added: a job whose lease
    expired (its scheduler died) is taken over in that place, ahead of newer pending jobs.
    Stored jobs are only scanned for expired leases when one may have ended (``_check_at``
    is a lower bound of every lease's end), so taking over costs nothing while none has.
    """

    def __init__(self) -> None:
        # every stored job with its place in line, oldest first, keyed by its id's int (a
        # UUID hashes in Python code: three times a job)
        self.jobs: dict[int, tuple[int, Job]] = {}
        self.running: dict[str, int] = {}  # task id -> jobs leased (running or taken over)
        self.results: dict[UUID, JobResult] = {}
        self._seq = itertools.count()
        self._pending: dict[str, deque[tuple[int, Job]]] = {}
        self._check_at: datetime | None = None

    def add(self, job: Job) -> None:
        stored = copy_job(job)
        # empty ones too may be the caller's (adopt copies those that are not empty)
        if not stored.kwargs:
            stored.kwargs = {}
        if not stored.metadata:
            stored.metadata = {}
        self.adopt([stored])

    def adopt(self, jobs: list[Job]) -> None:
        """Keep ``jobs`` themselves (see ``MemoryDataStore.adopt_jobs``), in line in this
        order, their arguments and metadata replaced by copies of their own (empty ones are
        kept: nothing else holds the empty containers of a job built for ``adopt_jobs``). A
        lease a job carries is not the store's: it is pending."""
        seq = self._seq
        stored_jobs = self.jobs
        pending = self._pending
        for stored in jobs:
            own_call_data(stored)
            stored.acquired_by = stored.acquired_until = None
            entry = (next(seq), stored)
            stored_jobs[stored.id.int] = entry
            task_id = stored.task_id
            queue = pending.get(task_id)
            if queue is None:
                queue = pending[task_id] = deque()
            queue.append(entry)

    def has_pending(self) -> bool:
        """Whether a job waits to be acquired (its lease, if it had one, not yet expired)."""
        return bool(self._pending)

    def get(self, ids: Iterable[UUID] | None) -> list[Job]:
        if ids is None:
            return [_detached_job(job) for _, job in self.jobs.values()]
        wanted = set(ids)
        return [_detached_job(job) for _, job in self.jobs.values() if job.id in wanted]

    def _expired(self, now: datetime) -> list[tuple[int, Job]]:
        """The leased jobs whose lease ended before ``now``, in their place in line."""
        check_at = self._check_at
        if check_at is None or not check_at < now:
            return []
        expired: list[tuple[int, Job]] = []
        earliest: datetime | None = None
        for entry in self.jobs.values():
            until = entry[1].acquired_until
            if until is None:
                continue  # pending
            if until < now:  # a lease holds through its last instant
                expired.append(entry)
            elif earliest is None or until < earliest:
                earliest = until
        self._check_at = earliest
        return expired

    def acquire(
        self,
        scheduler_id: str,
        lease_duration: timedelta,
        limit: int | None,
        now: datetime,
        tasks: Mapping[str, Task],
    ) -> list[Job]:
        if limit is not None and limit <= 0:
            return []
        running = self.running

        def has_room(task_id: str) -> bool:
            task = tasks.get(task_id)
            if task is None or task.max_running_jobs is None:
                return True
            return running.get(task_id, 0) < task.max_running_jobs

        # (place in line, task id, job): a job taken over, or None for the head of a
        # task's pending queue. A job taken over keeps its slot in running_jobs.
        candidates: list[tuple[int, str, Job | None]] = [
            (seq, job.task_id, job) for seq, job in self._expired(now)
        ]
        candidates.extend(
            (queue[0][0], task_id, None)
            for task_id, queue in self._pending.items()
            if has_room(task_id)
        )
        if not candidates:
            return []
        heapq.heapify(candidates)
        until = now + lease_duration
        acquired: list[Job] = []
        pending = self._pending
        while candidates and (limit is None or len(acquired) < limit):
            seq, task_id, job = heapq.heappop(candidates)
            if job is not None:  # taken over: it keeps its slot in running_jobs
                job.acquired_by = scheduler_id
                job.acquired_until = until
                acquired.append(copy_job(job))
                continue
            # this task's jobs in line, until another candidate comes first, the task has
            # no room left or the limit is reached (a run without a heap operation per job)
            queue = pending[task_id]
            task = tasks.get(task_id)
            cap = None if task is None else task.max_running_jobs
            count = running.get(task_id, 0)
            while True:
                _, job = queue.popleft()
                count += 1
                job.acquired_by = scheduler_id
                job.acquired_until = until
                acquired.append(copy_job(job))
                if (
                    not queue
                    or (cap is not None and count >= cap)
                    or (limit is not None and len(acquired) >= limit)
                ):
                    break
                if candidates and candidates[0][0] < queue[0][0]:
                    heapq.heappush(candidates, (queue[0][0], task_id, None))
                    break
            running[task_id] = count
            if not queue:
                del pending[task_id]
        # expired leases left over (the limit was reached) are found again next time
        check_at = self._check_at
        for _, _, job in candidates:
            if job is not None and (check_at is None or job.acquired_until < check_at):  # type: ignore[operator]
                check_at = job.acquired_until
        if acquired and (check_at is None or until < check_at):
            check_at = until
        self._check_at = check_at
        return acquired

    def _remove(self, job: Job) -> None:
        del self.jobs[job.id.int]
        task_id = job.task_id
        count = self.running.get(task_id, 0) - 1
        if count > 0:
            self.running[task_id] = count
        else:
            self.running.pop(task_id, None)

    def release(self, scheduler_id: str, job_id: UUID, result: JobResult) -> Job | None:
        """Finish a job this scheduler holds; returns it, or ``None`` if it does not hold
        it (it was abandoned, taken over by another scheduler, or never acquired)."""
        jobs = self.jobs
        key = job_id.int
        entry = jobs.get(key)
        if entry is None or entry[1].acquired_by != scheduler_id:
            return None
        stored = entry[1]
        del jobs[key]  # what _remove does, inline: once per job
        task_id = stored.task_id
        count = self.running.get(task_id, 0) - 1
        if count > 0:
            self.running[task_id] = count
        else:
            self.running.pop(task_id, None)
        if result.expires_at > result.finished_at:
            self.results[job_id] = result
        return stored

    def extend(self, scheduler_id: str, job_ids: Iterable[UUID], until: datetime) -> None:
        for job_id in job_ids:
            entry = self.jobs.get(job_id.int)
            if entry is not None and entry[1].acquired_by == scheduler_id:
                entry[1].acquired_until = until

    def forget_expired_results(self, now: datetime) -> None:
        for job_id in [i for i, r in self.results.items() if r.expires_at <= now]:
            del self.results[job_id]

    def abandon_expired(self, now: datetime) -> list[Job]:
        """Finish the jobs whose lease ended before ``now`` with the ``abandoned`` outcome,
        keeping a result for each as for any other outcome; returns them."""
        abandoned = [job for _, job in self._expired(now)]
        for job in abandoned:
            self._remove(job)
            if job.result_expiration_time > _ZERO:
                self.results[job.id] = JobResult(
                    job_id=job.id,
                    outcome=JobOutcome.abandoned,
                    finished_at=now,
                    expires_at=now + job.result_expiration_time,
                    scheduler_id=job.acquired_by,
                )
        return abandoned
