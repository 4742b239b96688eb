"""Context variables a running job can read."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._schedulers.async_ import AsyncScheduler
    from ._schedulers.sync import Scheduler
    from ._structures import Job

__all__ = ["current_async_scheduler", "current_job", "current_scheduler"]

#: The job being run, as APScheduler 4's ``apscheduler.current_job``: inside a job,
#: ``current_job.get()`` returns its :class:`~nbsched.Job` (id, task id, schedule id,
#: ``scheduled_fire_time``, jitter, start deadline...), whichever executor runs it (a thread or
#: process pool, the loop, a notebook cell). Outside a job ``get()`` raises ``LookupError``.
current_job: ContextVar[Job] = ContextVar("nbsched.current_job")

#: The :class:`~nbsched.AsyncScheduler` running the current job (as APScheduler 4's).
current_async_scheduler: ContextVar[AsyncScheduler | None] = ContextVar(
    "nbsched.current_async_scheduler", default=None
)

#: The sync :class:`~nbsched.Scheduler` running the current job, when the job runs under one.
current_scheduler: ContextVar[Scheduler | None] = ContextVar(
    "nbsched.current_scheduler", default=None
)
