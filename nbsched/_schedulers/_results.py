"""Job results of :class:`~nbsched.AsyncScheduler`: :meth:`get_job_result` and :meth:`run_job`,
and the waiters they leave, which the job runner (or a ``JobReleased`` event from another
scheduler sharing the store) resolves when the job is released."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from .._enums import JobOutcome, RunState
from .._exceptions import (
    JobCancelled,
    JobDeadlineMissed,
    JobLookupError,
    JobResultNotReady,
    NbschedError,
    SchedulerNotRunningError,
)
from .._structures import JobResult
from ._core import SchedulerCore

__all__ = ["ResultWaiters", "unwrap_result"]


class ResultWaiters(SchedulerCore):
    """Waiting for the results of jobs."""

    def _result_waiter(self, job_id: UUID) -> asyncio.Future[JobResult]:
        future: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        self._result_waiters.setdefault(job_id, []).append(future)
        return future

    def _drop_waiter(self, job_id: UUID, future: asyncio.Future[JobResult]) -> None:
        waiters = self._result_waiters.get(job_id)
        if waiters and future in waiters:
            waiters.remove(future)
            if not waiters:
                del self._result_waiters[job_id]

    async def get_job_result(self, job_id: UUID, *, wait: bool = True) -> JobResult:
        """Return the result of a job.

        :param wait: wait for the job to finish if it has not yet
        :raises JobLookupError: no such job, or its result was not kept (see
            ``result_expiration_time``)
        :raises JobResultNotReady: ``wait=False`` and the job has not finished
        """
        if not isinstance(job_id, UUID):
            raise TypeError(f"job_id: expected a UUID, got {type(job_id).__name__} {job_id!r}")
        # waiting from here on: a job that finishes while a start is awaited is not missed
        waiter = self._result_waiter(job_id)
        try:
            await self._usable()
            result = await self._call("get_job_result", self.data_store.get_job_result, job_id)
            if result is not None:
                return result
            if waiter.done():
                return waiter.result()
            pending = await self._call("get_jobs", self.data_store.get_jobs, [job_id])
            if waiter.done():
                return waiter.result()
            if not pending:
                raise JobLookupError(job_id)
            if not wait:
                raise JobResultNotReady(job_id)
            return await waiter
        finally:
            self._drop_waiter(job_id, waiter)

    async def _fetch_foreign_result(self, job_id: UUID) -> None:
        """A job run by another scheduler was released: fetch its result for our waiters."""
        try:
            result = await self._call("get_job_result", self.data_store.get_job_result, job_id)
        except Exception as exc:
            error: BaseException | None = exc
            result = None
        else:
            error = None if result is not None else JobLookupError(job_id)
        for waiter in self._result_waiters.pop(job_id, []):
            if waiter.done():
                continue
            if result is not None:
                waiter.set_result(result)
            else:
                waiter.set_exception(error)  # type: ignore[arg-type]

    async def run_job(
        self,
        func_or_task_id: Callable[..., Any] | str,
        *,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        job_executor: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Any:
        """Run a callable as a job now, wait for it and return what it returned.

        :raises: the exception the job raised; :class:`~nbsched.JobDeadlineMissed`,
            :class:`~nbsched.JobCancelled` for those outcomes
        """
        job = await self._new_job(func_or_task_id, args, kwargs, job_executor, metadata, 0)
        if self.state is not RunState.started and self._host_task is None:
            from ..datastores.memory import MemoryDataStore

            if isinstance(self.data_store, MemoryDataStore):
                raise SchedulerNotRunningError(
                    "run_job() needs the scheduler running (start_in_background() or "
                    "run_until_stopped()) to run the job"
                )
        waiter = self._result_waiter(job.id)
        try:
            await self._call("add_job", self.data_store.add_job, job)
            result = await waiter
        finally:
            self._drop_waiter(job.id, waiter)
        return unwrap_result(result)


def unwrap_result(result: JobResult) -> Any:
    """Return the job's value, or raise what describes its failure."""
    if result.outcome is JobOutcome.success:
        return result.return_value
    if result.outcome is JobOutcome.error and result.exception is not None:
        raise result.exception
    if result.outcome is JobOutcome.missed_start_deadline:
        raise JobDeadlineMissed(f"job {result.job_id} could not start before its deadline")
    if result.outcome is JobOutcome.cancelled:
        raise JobCancelled(f"job {result.job_id} was cancelled")
    raise NbschedError(f"job {result.job_id} ended with outcome {result.outcome.name}")
