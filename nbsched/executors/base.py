"""The job executor interface."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from .._structures import Job

__all__ = ["JobExecutor"]


class JobExecutor(metaclass=ABCMeta):
    """Runs the callable of a job. Subclass it and pass an instance in the scheduler's
    ``job_executors={"name": executor}`` to add your own.

    :cvar runs_off_loop: True when the callable runs outside the event loop (a thread, a
        process). The scheduler then counts the job as busy until it returns, so that
        :meth:`nbsched.FakeClock.advance` waits for it; a job on the loop that is waiting on
        something counts as idle instead.
    """

    runs_off_loop: ClassVar[bool] = False

    async def start(self) -> None:  # noqa: B027 (optional hook)
        """Prepare to run jobs (create pools)."""

    async def stop(self) -> None:  # noqa: B027 (optional hook)
        """Release what :meth:`start` created."""

    @abstractmethod
    async def run_job(self, func: Callable[..., Any], job: Job) -> Any:
        """Run ``func(*job.args, **job.kwargs)`` and return what it returns (or raise what it
        raises)."""


def check_max_workers(max_workers: int | None) -> int | None:
    """Return ``max_workers`` if it is None or a positive integer; else raise ``ValueError``."""
    if max_workers is not None and (
        isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
    ):
        raise ValueError(f"max_workers: expected a positive integer, got {max_workers!r}")
    return max_workers
