"""Runs plain, picklable functions in a pool of processes."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .._context import current_job
from .._structures import Job
from .base import JobExecutor, check_max_workers

__all__ = ["ProcessPoolJobExecutor"]


class ProcessPoolJobExecutor(JobExecutor):
    """Runs the job's function in a worker process. The function, its arguments and its return
    value must be picklable (a function defined at module level, not in a notebook cell).

    :param max_workers: the most processes (default: the number of CPUs)
    """

    runs_off_loop = True

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = check_max_workers(max_workers)
        self._pool: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        pass  # the pool is created on first use: starting processes is not free

    async def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def run_job(self, func: Callable[..., Any], job: Job) -> Any:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.max_workers)
        call = functools.partial(_run_as, job, func)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)


def _run_as(job: Job, func: Callable[..., Any]) -> Any:
    """In the worker process: run ``func`` with :data:`nbsched.current_job` set to ``job``."""
    return contextvars.copy_context().run(_call_as, job, func)


def _call_as(job: Job, func: Callable[..., Any]) -> Any:
    current_job.set(job)
    return func(*job.args, **job.kwargs)
