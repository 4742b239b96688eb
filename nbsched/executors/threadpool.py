"""Runs plain functions in a pool of threads."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .._structures import Job
from .base import JobExecutor, check_max_workers

__all__ = ["ThreadPoolJobExecutor"]


class ThreadPoolJobExecutor(JobExecutor):
    """Runs the job's function in a worker thread, with the caller's context variables.

    :param max_workers: the most threads (default: ``concurrent.futures``' default)
    """

    runs_off_loop = True

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = check_max_workers(max_workers)
        self._pool: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="nbsched-job")

    async def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def run_job(self, func: Callable[..., Any], job: Job) -> Any:
        if self._pool is None:
            await self.start()
        context = contextvars.copy_context()
        call = functools.partial(context.run, func, *job.args, **job.kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)
