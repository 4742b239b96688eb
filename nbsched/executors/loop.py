"""Calls plain functions directly on the event loop's thread."""

from __future__ import annotations

from collections.abc import Callable
from inspect import isawaitable
from typing import Any

from .._structures import Job
from .base import JobExecutor

__all__ = ["LoopJobExecutor"]


class LoopJobExecutor(JobExecutor):
    """Calls the job's function on the thread running the scheduler's event loop.

    This is for code that must run on that thread, like a notebook cell that has to run on the
    kernel's main thread. The loop does nothing else while the function runs, so it must be
    quick.
    """

    async def run_job(self, func: Callable[..., Any], job: Job) -> Any:
        result = func(*job.args, **job.kwargs)
        if isawaitable(result):
            result = await result
        return result
