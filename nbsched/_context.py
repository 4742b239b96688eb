"""Context variables a running job can read."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._structures import Job

__all__ = ["current_job"]

#: The job being run, as APScheduler 4's ``apscheduler.current_job``: inside a job,
#: ``current_job.get()`` returns its :class:`~nbsched.Job` (id, task id, schedule id,
#: ``scheduled_fire_time``, jitter, start deadline...), whichever executor runs it (a thread or
#: process pool, the loop, a notebook cell). Outside a job ``get()`` raises ``LookupError``.
current_job: ContextVar[Job] = ContextVar("nbsched.current_job")
