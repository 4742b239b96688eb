"""The job runner of :class:`~nbsched.AsyncScheduler`: one asyncio task per acquired job
resolves the task's callable and executor, waits out the jitter, checks the start deadline,
runs the job, and releases it with its result (``JobReleased``); on a stop it cancels the jobs
on the loop and gives those in threads or processes ``stop_grace_time``."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import partial
from inspect import isawaitable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from .._context import current_async_scheduler, current_job
from .._enums import JobOutcome
from .._marshalling import ref_to_callable
from .._positional import positional_builder
from .._structures import Job, JobResult
from ..events import JobReleased
from ..executors.async_ import AsyncJobExecutor
from ..executors.base import JobExecutor
from ._core import SchedulerCore

if TYPE_CHECKING:
    pass

__all__ = ["JobRunner"]

# built once or twice per job: positionally, every field in field order
_new_result = positional_builder(JobResult)
_new_job_released = positional_builder(JobReleased)
_BASE_CREATE_TASK = asyncio.BaseEventLoop.create_task


class JobRunner(SchedulerCore):
    """Starting, running, cancelling and releasing the jobs a scheduler acquired."""

    def _start_jobs(self, jobs: list[Job]) -> None:
        """One task per job, each tracked and kept in ``_running_jobs``."""
        loop = self._loop
        assert loop is not None
        new_task: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]
        if loop.get_task_factory() is None and type(loop).create_task is _BASE_CREATE_TASK:
            # what loop.create_task does then, without its three Python calls a job
            new_task = partial(asyncio.Task, loop=loop)
        else:
            new_task = loop.create_task
        track = self._activity.track
        running_jobs = self._running_jobs
        run_job = self._run_job
        for job in jobs:
            task = new_task(run_job(job))
            track(task)
            running_jobs[id(job)] = (task, job)

    async def _run_job(self, job: Job) -> None:
        activity = self._activity
        started_at: datetime | None = None
        result: JobResult | None = None
        released = False
        try:
            try:
                runnable = self._runnables.get(job.task_id)
                if runnable is None:
                    runnable = await self._runnable(job.task_id)
                func, executor, on_loop = runnable
            except Exception as exc:
                self.logger.error("cannot run job %s of task %r: %s", job.id, job.task_id, exc)
                result = self._failure(job, exc, None)
                return
            if job.jitter and (start := job.scheduled_start_time) and start > self.clock.now():
                with activity.waiting:
                    await self.clock.sleep_until(start)
            now = self._now()
            if job.start_deadline is not None and now > job.start_deadline:
                result = JobResult(
                    job_id=job.id,
                    outcome=JobOutcome.missed_start_deadline,
                    finished_at=now,
                    expires_at=now + job.result_expiration_time,
                    scheduler_id=self.identity,
                )
                return
            started_at = now
            job.started_at = now
            current_job.set(job)  # this task's own context: seen by this job only
            current_async_scheduler.set(self)  # type: ignore[arg-type]
            try:
                if on_loop:
                    # what AsyncJobExecutor.run_job does, without a coroutine of its own
                    with activity.waiting:  # the job's own code: not the scheduler's work
                        value = func(*job.args, **job.kwargs)
                        if type(value) is CoroutineType or isawaitable(value):
                            value = await value
                elif executor.runs_off_loop:
                    self._off_loop_jobs.add(job.id)
                    try:
                        value = await executor.run_job(func, job)
                    except asyncio.CancelledError:
                        # the thread or process runs on: what it does is not known here
                        result = self._cancelled(job, started_at, JobOutcome.abandoned)
                        raise
                    finally:
                        self._off_loop_jobs.discard(job.id)
                else:
                    with activity.waiting:  # the job's own code: not the scheduler's work
                        value = await executor.run_job(func, job)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # SystemExit in a job must not end the scheduler
                result = self._failure(job, exc, started_at)
            else:
                finished = self._now()
                result = _new_result(
                    job.id,
                    JobOutcome.success,
                    started_at,
                    finished,
                    finished + job.result_expiration_time,  # expires_at
                    value,  # return_value
                    None,  # exception
                    None,  # traceback
                    self.identity,  # scheduler_id
                )
        except asyncio.CancelledError:
            if result is None:
                result = self._cancelled(job, started_at)
            raise
        finally:
            try:
                if result is not None:
                    if not self._release_now(job, result):
                        await self._release_job(job, result)
                    released = True
            except Exception:
                self.logger.exception("could not record the result of job %s", job.id)
            finally:
                activity.untrack(self._running_jobs.pop(id(job))[0])
                # room for another job: a store that tells us of changes said whether any
                # waits (StoreChanges.job_released); otherwise look
                if not self._wake_pending and not (released and self._store_listens):
                    self._wake()

    async def _stop_running_jobs(self) -> None:
        """Cancel the jobs on the loop; give those in threads or processes, which cannot be
        cancelled, up to ``stop_grace_time`` to finish (then they are recorded ``abandoned``)."""
        running_jobs = self._running_jobs
        off_loop_jobs = self._off_loop_jobs
        off_loop = [task for task, job in running_jobs.values() if job.id in off_loop_jobs]
        for task, _ in running_jobs.values():
            if task not in off_loop:
                task.cancel()
        if off_loop:
            await asyncio.wait(off_loop, timeout=self.stop_grace_time.total_seconds())
        running = [task for task, _ in running_jobs.values()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _cancelled(
        self, job: Job, started_at: datetime | None, outcome: JobOutcome = JobOutcome.cancelled
    ) -> JobResult:
        now = self.clock.now()
        return JobResult(
            job_id=job.id,
            outcome=outcome,
            started_at=started_at,
            finished_at=now,
            expires_at=now + job.result_expiration_time,
            scheduler_id=self.identity,
        )

    def _failure(self, job: Job, exc: BaseException, started_at: datetime | None) -> JobResult:
        now = self.clock.now()
        return JobResult(
            job_id=job.id,
            outcome=JobOutcome.error,
            started_at=started_at,
            finished_at=now,
            expires_at=now + job.result_expiration_time,
            exception=exc,
            traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            scheduler_id=self.identity,
        )

    async def _release_unstarted_jobs(self) -> None:
        """Release, as cancelled, the acquired jobs whose tasks were cancelled before they
        started (so that they don't wait for their lease to expire). Called once every job
        task has ended: a task that started removed its job from ``_running_jobs`` itself."""
        for key, (task, job) in list(self._running_jobs.items()):
            del self._running_jobs[key]
            self._activity.untrack(task)
            try:
                await self._release_job(job, self._cancelled(job, None))
            except Exception:
                self.logger.exception("could not release the unstarted job %s", job.id)

    def _release_now(self, job: Job, result: JobResult) -> bool:
        """:meth:`_release_job` without a coroutine (one per job less), when the store can
        release the job synchronously (a :class:`~nbsched.abc.JobReleaser`) and the event,
        if any, is delivered synchronously too; False, having done nothing, otherwise."""
        release_job_now = self._release_job_now
        if release_job_now is None:
            return False
        has_subscribers = self._has_subscribers
        wants_event = has_subscribers is None or has_subscribers(JobReleased)
        publish_now = self._publish_now
        if wants_event and publish_now is None:
            return False
        if not release_job_now(self.identity, job, result):
            return False
        if wants_event:
            publish_now(self._job_released(job, result))  # type: ignore[misc]
        if self._result_waiters:
            self._serve_waiters(job, result)
        return True

    async def _release_job(self, job: Job, result: JobResult) -> None:
        if self._retry.temporary_errors:  # what _call does, without a call of its own
            await self._call(
                "release_job", self.data_store.release_job, self.identity, job, result
            )
        else:
            await self.data_store.release_job(self.identity, job, result)
        has_subscribers = self._has_subscribers  # _wants, without a call of its own
        if has_subscribers is None or has_subscribers(JobReleased):
            event = self._job_released(job, result)
            publish_now = self._publish_now
            if publish_now is not None:
                publish_now(event)
            else:
                await self.event_broker.publish(event)
        if self._result_waiters:
            self._serve_waiters(job, result)

    def _job_released(self, job: Job, result: JobResult) -> JobReleased:
        exc = result.exception
        return _new_job_released(
            result.finished_at,  # timestamp
            job.id,
            self.identity,  # scheduler_id
            job.task_id,
            job.schedule_id,
            job.scheduled_start_time,  # scheduled_start
            result.started_at,
            result.finished_at,
            result.outcome,
            None if exc is None else type(exc).__qualname__,  # exception_type
            None if exc is None else str(exc),  # exception_message
            result.traceback,  # exception_traceback
        )

    def _serve_waiters(self, job: Job, result: JobResult) -> None:
        waiters = self._result_waiters.pop(job.id, None)
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(result)

    async def _runnable(self, task_id: str) -> tuple[Callable[..., Any], JobExecutor, bool]:
        """The callable and executor of a task, resolved once and cached, and whether the
        executor is the plain :class:`~nbsched.executors.async_.AsyncJobExecutor` (then the
        job runner calls the callable itself)."""
        task = self._tasks.get(task_id) or await self._get_task(task_id)
        func = task.func
        if isinstance(func, str):
            func = ref_to_callable(func)
            task.func = func
        if not callable(func):
            raise LookupError(f"task {task.id!r} has no callable in this process")
        try:
            executor = self.job_executors[task.job_executor]
        except KeyError:
            raise LookupError(
                f"task {task.id!r} names the job executor {task.job_executor!r}, which this "
                f"scheduler does not have ({sorted(self.job_executors)})"
            ) from None
        on_loop = type(executor).run_job is AsyncJobExecutor.run_job
        self._runnables[task_id] = (func, executor, on_loop)
        return func, executor, on_loop
