"""Runs coroutine functions on the scheduler's event loop."""

from __future__ import annotations

from collections.abc import Callable
from inspect import isawaitable
from types import CoroutineType
from typing import Any

from .._structures import Job
from .base import JobExecutor

__all__ = ["AsyncJobExecutor"]


class AsyncJobExecutor(JobExecutor):
    """Awaits the job's coroutine function on the scheduler's loop. A plain function given to it
    is called directly (and its result awaited if it returns an awaitable)."""

    async def run_job(self, func: Callable[..., Any], job: Job) -> Any:
        result = func(*job.args, **job.kwargs)
        if type(result) is CoroutineType or isawaitable(result):  # the common case first
            result = await result
        return result
