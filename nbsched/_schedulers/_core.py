"""What every part of :class:`~nbsched.AsyncScheduler` shares: its settings and state, and the
methods the parts call on one another, declared once for the type checker.

``AsyncScheduler`` is put together from parts, one module each: ``_run`` (entering, starting,
stopping), ``_process_loop`` (waking up, turning due schedules into jobs), ``_jobs`` (running
and releasing jobs), ``_tasks`` (the task cache and ``configure_task``), ``_results`` (result
waiters), ``_store_calls`` (store calls through the retry policy). Each part derives from
:class:`SchedulerCore`; ``AsyncScheduler.__init__`` sets every attribute declared here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from uuid import UUID

from .._clock import Activity, Clock
from .._enums import ConflictPolicy, RunState
from .._protocols import PollingStore
from .._retry import RetryPolicy
from .._store_outage import StoreOutage
from .._structures import Job, JobResult, Schedule, Task
from ..abc import AsyncDataStore, AsyncEventBroker, Subscription
from ..events import Event
from ..executors.base import JobExecutor
from ._lifecycle import Lifecycle

__all__ = ["SchedulerCore"]

P = ParamSpec("P")
T = TypeVar("T")


class SchedulerCore:
    """The attributes and cross-part methods of an :class:`~nbsched.AsyncScheduler`."""

    # settings
    data_store: AsyncDataStore
    event_broker: AsyncEventBroker
    identity: str
    clock: Clock
    _now: Callable[[], datetime]  # clock.now (for the system clock, without a Python frame)
    max_concurrent_jobs: int
    lease_duration: timedelta
    cleanup_interval: timedelta
    batch_size: int
    stop_grace_time: timedelta
    job_executors: dict[str, JobExecutor]
    default_job_executor: str | None
    logger: logging.Logger
    # the store, if it is a PollingStore (isinstance on a runtime protocol costs microseconds:
    # checked once, in __init__; so is the broker's has_subscribers, below)
    _polling_store: PollingStore | None
    # the store's adopt_schedule if it is a ScheduleAdopter, else its add_schedule: what
    # add_schedule hands its new schedule (with a trigger nothing else holds) to
    _add_new_schedule: Callable[[Schedule, ConflictPolicy], Awaitable[None]]
    # the store's adopt_jobs if it is a JobAdopter (the jobs of due schedules, a batch at once)
    _adopt_jobs: Callable[[list[Job]], Awaitable[None]] | None
    # the store's release_job_now if it is a JobReleaser and nothing is retried
    _release_job_now: Callable[[str, Job, JobResult], bool] | None

    # the run and the loop it runs on
    _lifecycle: Lifecycle
    _entered: bool
    _loop: asyncio.AbstractEventLoop | None
    _loop_thread: int | None
    _loop_task: asyncio.Task[Any] | None  # the processing loop (see _retry_sleep)
    _subscriptions: list[Subscription]
    _store_changes: Any  # the StoreListener a store in this process tells of changes
    _store_listens: bool  # the store tells _store_changes (else: the broker's events wake us)
    _has_subscribers: Callable[[type[Event]], bool] | None  # the broker's, if it has one
    _publish_now: Callable[[Event], None] | None  # the local broker's publish_sync
    _background: set[asyncio.Future[Any]]
    # FakeClock bookkeeping: which of the scheduler's tasks are working (see Activity)
    _activity: Activity

    # store calls
    _outage: StoreOutage
    _retry: RetryPolicy

    # wake-ups
    _wake_pending: bool
    _wake_future: asyncio.Future[None] | None
    _sleeping_until: datetime | None  # while the loop sleeps: when it wakes on its own
    _catching_up: dict[str, datetime | None]

    # tasks and jobs
    _tasks: dict[str, Task]
    _last_task_id: tuple[Callable[..., Any], str] | None  # the last callable given, its id
    # task id -> (callable, executor, whether the job runner calls it itself on the loop)
    _runnables: dict[str, tuple[Callable[..., Any], JobExecutor, bool]]
    # the acquired jobs whose task has not ended (a task cancelled before its first step never
    # runs its own cleanup: what is left here once all have ended never started)
    # keyed by id(job), hashed in C (a UUID hashes in Python; asyncio.current_task() is Python
    # code on 3.11)
    _running_jobs: dict[int, tuple[asyncio.Task[None], Job]]
    _off_loop_jobs: set[UUID]
    _result_waiters: dict[UUID, list[asyncio.Future[JobResult]]]

    if TYPE_CHECKING:
        # _store_calls
        def _call(
            self,
            operation: str,
            func: Callable[P, Awaitable[T]],
            *args: P.args,
            **kwargs: P.kwargs,
        ) -> Awaitable[T]: ...

        # _run
        @property
        def state(self) -> RunState: ...
        @property
        def _stop_requested(self) -> bool: ...
        @property
        def _host_task(self) -> asyncio.Task[None] | None: ...
        async def _usable(self) -> None: ...

        # _process_loop
        def _wake(self) -> None: ...
        async def _wait(self, deadline: datetime | None) -> None: ...
        def _on_event(self, event: Event) -> None: ...
        def _wants(self, event_type: type[Event]) -> bool: ...
        async def _process_loop(self) -> None: ...
        async def _lease_renewal_loop(self) -> None: ...
        async def _cleanup_loop(self) -> None: ...

        # _jobs
        def _start_jobs(self, jobs: list[Job]) -> None: ...
        async def _stop_running_jobs(self) -> None: ...
        async def _release_unstarted_jobs(self) -> None: ...

        # _tasks
        async def _get_task(self, task_id: str) -> Task: ...

        # _results
        async def _fetch_foreign_result(self, job_id: UUID) -> None: ...

        # async_
        async def _new_job(
            self,
            func_or_task_id: Callable[..., Any] | str,
            args: Any,
            kwargs: Any,
            job_executor: str | None,
            metadata: dict[str, Any] | None,
            result_expiration_time: timedelta | float,
        ) -> Job: ...
