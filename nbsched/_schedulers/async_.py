"""The asynchronous scheduler: turns due schedules into jobs and runs them."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from inspect import (
    isbuiltin,
    isclass,
    iscoroutinefunction,
    isfunction,
    ismethod,
    ismethoddescriptor,
)
from types import TracebackType
from typing import Any
from uuid import UUID, uuid4

from .._clock import Activity, Clock, SystemClock
from .._context import current_async_scheduler, current_job
from .._converters import as_aware_datetime, as_enum, as_timedelta
from .._enums import CoalescePolicy, ConflictPolicy, JobOutcome, ResumeFrom, RunState
from .._exceptions import (
    DataStoreUnavailableError,
    DeserializationError,
    JobCancelled,
    JobDeadlineMissed,
    JobLookupError,
    JobResultNotReady,
    NbschedError,
    ScheduleLookupError,
    SchedulerNotRunningError,
    TaskLookupError,
    TriggerContractError,
)
from .._marshalling import clone_trigger, ref_to_callable
from .._retry import RetryPolicy, temporary_errors_of
from .._store_outage import StoreOutage
from .._structures import Job, JobResult, Schedule, ScheduleResult, Task
from ..abc import AsyncDataStore, AsyncEventBroker, DataStore, Subscription, Trigger
from ..events import (
    DataStoreRetryGaveUp,
    Event,
    JobAcquired,
    JobAdded,
    JobReleased,
    ScheduleAdded,
    SchedulerStarted,
    SchedulerStopped,
    ScheduleUpdated,
)
from ..executors.base import JobExecutor
from ._lifecycle import Lifecycle, Run, StartInBackground
from ._ported_calls import PortedCalls
from ._processing import (
    due_fire_times,
    first_fire_time,
    pick_jitter,
    skip_fire_times_before,
)
from ._trigger_errors import pause_for_trigger_error, unchanged_result

__all__ = ["AsyncScheduler"]

_ZERO = timedelta(0)
_rng = random.Random()  # seeded from os.urandom; reseeded in forked children
_getrandbits = _rng.getrandbits
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_rng.seed)
_WAKE_EVENTS = (ScheduleAdded, ScheduleUpdated, JobAdded, JobReleased)
_SCHEDULE_CHANGES = (ScheduleAdded, ScheduleUpdated)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _new_uuid() -> UUID:
    """A random (version 4) UUID from the ``random`` module: job ids need to be unique, not
    unpredictable, and this avoids a system call per job."""
    value = (_getrandbits(128) & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (
        0x8000 << 48
    )
    return UUID(int=value)


def task_id_of(func: Callable[..., Any]) -> str:
    """The default task id of a callable: ``"module:qualname"``.

    Callables that share that name with others — lambdas, nested functions, partials, bound
    methods of instances, callable instances — get the object's identity appended
    (``"module:<lambda>@7f..."``), so that each runs its own code.
    """
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if qualname is None:
        qualname = type(func).__qualname__
    owner = _distinct_owner(func, qualname)
    if owner is not None:
        return f"{module}:{qualname}@{id(owner):x}"
    return f"{module}:{qualname}"


def _distinct_owner(func: Any, qualname: str) -> object | None:
    """The object that tells ``func`` apart from others of the same name, if it needs one."""
    if ismethod(func):
        return None if isclass(func.__self__) else func.__self__
    if isfunction(func):
        return func if "<" in qualname else None
    if isclass(func) or isbuiltin(func) or ismethoddescriptor(func):
        return None
    return func  # a partial, a callable instance...


def _default_executors() -> dict[str, JobExecutor]:
    from ..executors.async_ import AsyncJobExecutor
    from ..executors.loop import LoopJobExecutor
    from ..executors.processpool import ProcessPoolJobExecutor
    from ..executors.threadpool import ThreadPoolJobExecutor

    return {
        "async": AsyncJobExecutor(),
        "threadpool": ThreadPoolJobExecutor(),
        "loop": LoopJobExecutor(),
        "processpool": ProcessPoolJobExecutor(),
    }


class AsyncScheduler(PortedCalls):
    """A scheduler that runs on an asyncio event loop, its own or one somebody else runs.

    :param data_store: where tasks, schedules and jobs are kept (default: a new
        :class:`~nbsched.datastores.memory.MemoryDataStore`); a synchronous
        :class:`~nbsched.abc.DataStore` is wrapped to run in worker threads
    :param event_broker: where events are published (default: a new
        :class:`~nbsched.eventbrokers.local.LocalEventBroker`)
    :param identity: this scheduler's id in leases (default: host, process and object id)
    :param clock: where the time comes from (default :class:`~nbsched.SystemClock`; tests
        pass a :class:`~nbsched.FakeClock`)
    :param max_concurrent_jobs: the most jobs this scheduler runs at once
    :param lease_duration: how long an acquired schedule or job stays reserved for this
        scheduler; leases of running jobs are renewed every half of it
    :param job_executors: extra or replacement executors by name
    :param default_job_executor: the executor for tasks that name none (default: ``"async"``
        for coroutine functions, ``"threadpool"`` for others)
    :param logger: where to log (default: the ``nbsched`` logger)
    :param cleanup_interval: how often expired results and abandoned jobs are purged
    :param retry_max_time: the retry window: the most seconds a store call you make waits
        out temporary errors before raising :class:`~nbsched.DataStoreUnavailableError`; the
        scheduler's own calls keep retrying past it (the store is then reported unavailable,
        see :attr:`store_unavailable_since`)
    :param batch_size: how many due schedules are acquired per store call
    :param stop_grace_time: how long (real time) :meth:`stop` waits for jobs running in a
        thread or process to finish, since those cannot be cancelled; a job still running after
        it is recorded as ``abandoned`` (its thread or process runs on, and what it does is not
        recorded). Jobs on the event loop are cancelled at once.

    In a script::

        async def main():
            async with AsyncScheduler() as scheduler:
                await scheduler.add_schedule(tick, IntervalTrigger(seconds=10))
                await scheduler.run_until_stopped()

    In a notebook cell (the kernel's loop is already running)::

        scheduler = AsyncScheduler()
        scheduler.start_in_background()
        await scheduler.add_schedule(tick, IntervalTrigger(seconds=10))
    """

    def __init__(
        self,
        data_store: AsyncDataStore | DataStore | None = None,
        event_broker: AsyncEventBroker | None = None,
        *,
        identity: str | None = None,
        clock: Clock | None = None,
        max_concurrent_jobs: int = 100,
        lease_duration: timedelta | float = timedelta(seconds=30),
        job_executors: Mapping[str, JobExecutor] | None = None,
        default_job_executor: str | None = None,
        logger: logging.Logger | None = None,
        cleanup_interval: timedelta | float = timedelta(minutes=15),
        retry_max_time: float = 30.0,
        batch_size: int = 100,
        stop_grace_time: timedelta | float = timedelta(seconds=10),
    ) -> None:
        if data_store is None:
            from ..datastores.memory import MemoryDataStore

            data_store = MemoryDataStore()
        elif isinstance(data_store, DataStore):
            from ..datastores.sync_adapter import AsyncDataStoreAdapter

            data_store = AsyncDataStoreAdapter(data_store)
        elif not isinstance(data_store, AsyncDataStore):
            raise TypeError(
                f"data_store: expected an AsyncDataStore or DataStore, got "
                f"{type(data_store).__name__} {data_store!r}"
            )
        if event_broker is None:
            from ..eventbrokers.local import LocalEventBroker

            event_broker = LocalEventBroker()
        elif not isinstance(event_broker, AsyncEventBroker):
            raise TypeError(
                f"event_broker: expected an AsyncEventBroker, got "
                f"{type(event_broker).__name__} {event_broker!r}"
            )
        if clock is None:
            clock = SystemClock()
        elif not isinstance(clock, Clock):
            raise TypeError(f"clock: expected a nbsched.Clock, got {type(clock).__name__}")
        if (
            isinstance(max_concurrent_jobs, bool)
            or not isinstance(max_concurrent_jobs, int)
            or max_concurrent_jobs < 1
        ):
            raise ValueError(
                f"max_concurrent_jobs: expected a positive integer, got {max_concurrent_jobs!r}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
        lease = as_timedelta(lease_duration, argument="lease_duration")
        if lease is None or lease <= _ZERO:
            raise ValueError(f"lease_duration: must be positive, got {lease_duration!r}")
        cleanup = as_timedelta(cleanup_interval, argument="cleanup_interval")
        if cleanup is None or cleanup <= _ZERO:
            raise ValueError(f"cleanup_interval: must be positive, got {cleanup_interval!r}")
        stop_grace = as_timedelta(stop_grace_time, argument="stop_grace_time")
        if stop_grace is None or stop_grace < _ZERO:
            raise ValueError(f"stop_grace_time: must be zero or more, got {stop_grace_time!r}")

        self.data_store: AsyncDataStore = data_store
        self.event_broker: AsyncEventBroker = event_broker
        self.identity = identity or f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self.clock = clock
        self.max_concurrent_jobs = max_concurrent_jobs
        self.lease_duration: timedelta = lease
        self.cleanup_interval: timedelta = cleanup
        self.batch_size = batch_size
        self.stop_grace_time: timedelta = stop_grace
        self.job_executors: dict[str, JobExecutor] = _default_executors()
        if job_executors:
            for name, executor in job_executors.items():
                if not isinstance(executor, JobExecutor):
                    raise TypeError(
                        f"job_executors[{name!r}]: expected a JobExecutor, got {executor!r}"
                    )
                self.job_executors[name] = executor
        if default_job_executor is not None and default_job_executor not in self.job_executors:
            raise ValueError(
                f"default_job_executor: {default_job_executor!r} is not one of "
                f"{sorted(self.job_executors)}"
            )
        self.default_job_executor = default_job_executor
        self.logger = logger or logging.getLogger("nbsched")
        self._outage = StoreOutage(
            data_store, event_broker, self.clock.now, self.identity, self.logger
        )
        self._retry = RetryPolicy(
            temporary_errors_of(data_store),
            max_time=retry_max_time,
            sleep=self._retry_sleep,
            on_give_up=self._on_retry_give_up,
            logger=self.logger,
            outage=self._outage,
            persist=self._retries_persist,
        )
        self._loop_task: asyncio.Task[Any] | None = None  # the processing loop (_retry_sleep)
        self._activity = Activity()
        self._tasks: dict[str, Task] = {}  # local cache, with the callables resolved
        # schedules released still due after a wake-up's share of catching up: id -> the
        # fire time they continue from (an "earliest" job for that catch-up already exists)
        self._catching_up: dict[str, datetime | None] = {}
        self._runnables: dict[str, tuple[Callable[..., Any], JobExecutor]] = {}
        self._entered = False
        self._lifecycle = Lifecycle(self._wake)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake_pending = False
        self._wake_future: asyncio.Future[None] | None = None
        # while the loop sleeps: the time it will wake by on its own (None: until woken)
        self._sleeping_until: datetime | None = None
        self._running_jobs: dict[UUID, asyncio.Task[None]] = {}
        # jobs whose task has not taken its first step: one cancelled then never runs its
        # own cleanup, so the shutdown releases it (see _release_unstarted_jobs)
        self._unstarted_jobs: dict[UUID, Job] = {}
        # jobs inside a thread or process right now: they cannot be cancelled (see stop())
        self._off_loop_jobs: set[UUID] = set()
        self._result_waiters: dict[UUID, list[asyncio.Future[JobResult]]] = {}
        self._subscriptions: list[Subscription] = []
        self._background: set[asyncio.Future[Any]] = set()
        # tasks that count in self._activity while they work (see _retry_sleep)
        self._tracked_tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return (
            f"AsyncScheduler(identity={self.identity!r}, state={self.state.name}, "
            f"data_store={self.data_store!r})"
        )

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def state(self) -> RunState:
        """Where the scheduler is in its run: starting, started, stopping or stopped."""
        return self._lifecycle.state

    @property
    def _stop_requested(self) -> bool:
        return self._lifecycle.stop_requested

    @property
    def _host_task(self) -> asyncio.Task[None] | None:
        """The task started by :meth:`start_in_background` (None if it never was)."""
        return self._lifecycle.host_task

    async def __aenter__(self) -> AsyncScheduler:
        if self._entered:
            raise RuntimeError("this scheduler has already been entered")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        await self.event_broker.start()
        await self._call("start", self.data_store.start, self.event_broker)
        for executor in self.job_executors.values():
            await executor.start()
        self._subscriptions.append(self.event_broker.subscribe(self._on_event, _WAKE_EVENTS))
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.state is not RunState.stopped or self._lifecycle.host_running():
            self.request_stop()
            await self.wait_until_stopped()
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions.clear()
        for executor in self.job_executors.values():
            await executor.stop()
        try:
            await self.data_store.stop(force=exc is not None)
        finally:
            await self.event_broker.stop(force=exc is not None)
            self._entered = False
            self._tasks.clear()
            self._runnables.clear()

    async def _usable(self) -> None:
        """Wait until a run that is starting has started (so that SchedulerStarted comes before
        anything this call publishes); refuse if the scheduler is not entered."""
        await self._lifecycle.wait_started()
        if self._entered:
            return
        raise SchedulerNotRunningError(
            "the scheduler has not been started: use `async with scheduler:` or "
            "scheduler.start_in_background() first"
        )

    def start_in_background(self) -> StartInBackground:
        """Start the scheduler as one task on the running event loop.

        For code that runs on a loop somebody else runs: a Jupyter cell, an extension's
        ``load_ipython_extension``, a web application. The task enters the scheduler (starts the
        store and the broker) unless it is entered already, and runs the processing loop until
        :meth:`stop`. Methods called meanwhile wait until it has started.

        Both forms work::

            await scheduler.start_in_background()   # returns once started (APScheduler 4)
            scheduler.start_in_background()         # fire and forget (a notebook cell)

        :return: an awaitable that completes once the scheduler has started (``SchedulerStarted``
            published), or has been stopped before it started; it raises what made the start
            fail. Leaving it unawaited warns about nothing.
        :raises RuntimeError: when no event loop is running in this thread (use
            :class:`nbsched.Scheduler`, or :meth:`run_until_stopped` under ``asyncio.run``),
            or the scheduler is already running
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "AsyncScheduler.start_in_background() needs a running asyncio event loop in "
                "this thread (as in a Jupyter cell or inside async code). In a plain script, "
                "use nbsched.Scheduler (it runs its own loop in a thread), or "
                "`async with AsyncScheduler() as s: await s.run_until_stopped()` under "
                "asyncio.run()."
            ) from None
        lifecycle = self._lifecycle
        if lifecycle.host_running():
            raise RuntimeError("the scheduler is already running in the background")
        run = lifecycle.begin()
        lifecycle.host_task = loop.create_task(
            self._host(run), name=f"nbsched scheduler {self.identity}"
        )
        return StartInBackground(run)

    async def _host(self, run: Run) -> None:
        """The background task: enter (if needed), run until stopped, exit."""
        failure: BaseException | None = None
        try:
            if run.stop_requested:
                return  # asked to stop before this task's first step: it never starts
            if self._entered:
                await self.run_until_stopped()
            else:
                async with self:
                    await self.run_until_stopped()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = exc
            self.logger.exception("the scheduler %s crashed", self.identity)
            if not run.ended:
                # failed before the processing loop could publish this itself
                self._lifecycle.end(run, exc)
                try:
                    await self.event_broker.publish(
                        SchedulerStopped(
                            timestamp=self.clock.now(),
                            scheduler_id=self.identity,
                            exception=f"{type(exc).__name__}: {exc}",
                        )
                    )
                except Exception:
                    self.logger.exception("could not publish SchedulerStopped")
        finally:
            self._lifecycle.end(run, failure)

    def request_stop(self) -> None:
        """Ask the scheduler to stop (the processing loop finishes the step it is in); returns
        at once.

        The request holds whatever the run is doing (even if it has not started yet: then it
        never starts); when nothing runs, there is nothing to stop. Safe to call from the
        loop's thread or from any other thread."""
        self._lifecycle.request_stop()

    def _inside_own_job(self) -> bool:
        """Whether the caller is one of this scheduler's running jobs (it cannot wait for the
        end of the run it belongs to: that run waits for it)."""
        job = current_job.get(None)
        return job is not None and job.id in self._running_jobs

    async def stop(self) -> None:
        """Stop the processing loop and wait until it has stopped.

        Jobs running on the event loop are cancelled (outcome ``cancelled``). Jobs in a thread or
        a process cannot be: the scheduler waits up to ``stop_grace_time`` for them and records
        their real outcome; one still running then is recorded ``abandoned`` (it runs on).

        Called from one of the scheduler's own jobs, it asks for the stop and returns at once
        (the job cannot wait for the end of the run it is part of)."""
        self.request_stop()
        if not self._inside_own_job():
            await self.wait_until_stopped()

    async def wait_until_stopped(self) -> None:
        """Return once the processing loop (and a background host task) has ended."""
        await self._lifecycle.wait_until_stopped()

    async def run_until_stopped(self) -> None:
        """Run the processing loop in this task until :meth:`stop` is called.

        :raises SchedulerNotRunningError: outside ``async with scheduler``
        """
        if not self._entered:
            raise SchedulerNotRunningError(
                "enter the scheduler first: `async with scheduler: await "
                "scheduler.run_until_stopped()`"
            )
        lifecycle = self._lifecycle
        run = lifecycle.join()
        if run.stop_requested:
            lifecycle.end(run)  # asked to stop while it was starting: it never starts
            return
        self.clock.register_activity(self._activity)
        self._activity.busy()
        aux_tasks = [
            asyncio.ensure_future(self._lease_renewal_loop()),
            asyncio.ensure_future(self._cleanup_loop()),
        ]
        current = asyncio.current_task()
        assert current is not None
        self._tracked_tasks.update(aux_tasks)
        self._tracked_tasks.add(current)
        failure: BaseException | None = None
        try:
            lifecycle.mark_started(run)
            await self.event_broker.publish(
                SchedulerStarted(timestamp=self.clock.now(), scheduler_id=self.identity)
            )
            lifecycle.announce_started(run)
            try:
                await self._process_loop()
            except DataStoreUnavailableError:
                if not self._stop_requested:
                    raise
                # asked to stop while waiting for the store to come back: a clean stop
        except BaseException as exc:
            failure = exc
            if not isinstance(exc, asyncio.CancelledError):
                self.logger.exception("the scheduler's processing loop failed")
            raise
        finally:
            lifecycle.mark_stopping(run)
            for task in aux_tasks:
                task.cancel()
            await self._stop_running_jobs()
            await asyncio.gather(*aux_tasks, return_exceptions=True)
            await self._release_unstarted_jobs()
            self._tracked_tasks.difference_update(aux_tasks)
            self._tracked_tasks.discard(current)
            self._activity.done()
            self.clock.unregister_activity(self._activity)
            lifecycle.mark_stopped(run)
            reason = None
            if failure is not None and not isinstance(failure, asyncio.CancelledError):
                reason = f"{type(failure).__name__}: {failure}"
            try:
                await self.event_broker.publish(
                    SchedulerStopped(
                        timestamp=self.clock.now(), scheduler_id=self.identity, exception=reason
                    )
                )
            except Exception:
                self.logger.exception("could not publish SchedulerStopped")
            lifecycle.end(run, failure if isinstance(failure, Exception) else None)

    # --- the processing loop -----------------------------------------------------------------

    def _wants(self, event_type: type[Event]) -> bool:
        """False when the broker says nobody would receive such an event (skip building it)."""
        has_subscribers = getattr(self.event_broker, "has_subscribers", None)
        return has_subscribers is None or has_subscribers(event_type)

    def _wake(self) -> None:
        self._wake_pending = True
        future = self._wake_future
        if future is not None and not future.done():
            future.set_result(None)

    def _on_event(self, event: Event) -> None:
        if threading.get_ident() != self._loop_thread:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._handle_event, event)
        elif self._result_waiters or not self._wake_pending:
            self._handle_event(event)

    def _handle_event(self, event: Event) -> None:
        if (
            self._result_waiters
            and type(event) is JobReleased
            and event.scheduler_id != self.identity
            and event.job_id in self._result_waiters
        ):
            task = asyncio.ensure_future(self._fetch_foreign_result(event.job_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if isinstance(event, _SCHEDULE_CHANGES) and self._wakes_by(event.next_fire_time):
            return
        self._wake()

    def _wakes_by(self, fire_time: datetime | None) -> bool:
        """True when the sleeping loop will wake by ``fire_time`` anyway (so an added or
        updated schedule firing then needs no early wake-up and no extra store queries)."""
        deadline = self._sleeping_until
        return (
            deadline is not None
            and fire_time is not None
            and self._wake_future is not None
            and fire_time >= deadline
        )

    async def _wait(self, deadline: datetime | None) -> None:
        if self._wake_pending:
            return
        loop = asyncio.get_running_loop()
        future = self._wake_future = loop.create_future()
        self._sleeping_until = deadline
        sleeper: asyncio.Task[None] | asyncio.TimerHandle | None = None
        if deadline is None:
            pass
        elif type(self.clock) is SystemClock:
            # A timer on the loop wakes us a few loop iterations sooner than a task sleeping
            # on the clock would. Long waits are cut into one-minute steps so that the wall
            # clock and the loop's monotonic clock cannot drift apart much.
            delay = min((deadline - self.clock.now()).total_seconds(), 60.0)
            sleeper = loop.call_later(max(delay, 0.0), _resolve, future)
        else:
            sleeper = loop.create_task(self.clock.sleep_until(deadline))
            sleeper.add_done_callback(lambda _: _resolve(future))
        self._activity.done()
        try:
            await future
        finally:
            self._activity.busy()
            self._wake_future = None
            self._sleeping_until = None
            if sleeper is not None:
                sleeper.cancel()

    # The clock is read on each attempt of these two calls, so that one retried after a
    # temporary store error does not acquire (and compute leases) with the time of the first.

    async def _acquire_schedules_now(self) -> tuple[list[Schedule], datetime]:
        now = self.clock.now()
        schedules = await self.data_store.acquire_schedules(
            self.identity, self.lease_duration, self.batch_size, now
        )
        return schedules, now

    async def _acquire_jobs_now(self, limit: int) -> tuple[list[Job], datetime]:
        now = self.clock.now()
        jobs = await self.data_store.acquire_jobs(self.identity, self.lease_duration, limit, now)
        return jobs, now

    async def _process_loop(self) -> None:
        self._loop_task = asyncio.current_task()
        store = self.data_store
        call = self._call
        identity = self.identity
        while not self._stop_requested:
            self._wake_pending = False
            schedules, now = await call("acquire_schedules", self._acquire_schedules_now)
            if schedules:
                await self._process_schedules(schedules, now)
            room = self.max_concurrent_jobs - len(self._running_jobs)
            jobs: list[Job] = []
            if room > 0:
                jobs, now = await call("acquire_jobs", self._acquire_jobs_now, room)
                for job in jobs:
                    self._start_job(job)
                for job in jobs if self._wants(JobAcquired) else ():
                    await self.event_broker.publish(
                        JobAcquired(
                            timestamp=now,
                            job_id=job.id,
                            scheduler_id=identity,
                            task_id=job.task_id,
                            schedule_id=job.schedule_id,
                            scheduled_start=job.scheduled_start_time,
                        )
                    )
            if schedules or jobs or self._stop_requested:
                continue
            next_fire_time = await call(
                "get_next_schedule_run_time", store.get_next_schedule_run_time
            )
            # A store shared by several processes (SQLite) cannot tell us about their changes:
            # it declares how long we may sleep before looking at it again.
            poll_interval = getattr(store, "poll_interval", None)
            if poll_interval:
                poll_deadline = self.clock.now() + timedelta(seconds=poll_interval)
                if next_fire_time is None or next_fire_time > poll_deadline:
                    next_fire_time = poll_deadline
            await self._wait(next_fire_time)

    async def _process_schedules(self, schedules: list[Schedule], now: datetime) -> None:
        results: list[ScheduleResult] = []
        broken: list[tuple[Schedule, Exception]] = []
        try:
            for schedule in schedules:
                results.append(await self._process_schedule(schedule, now, broken))
        finally:
            if len(results) < len(schedules):
                # a store call failed midway: hand the rest back untouched
                done = {result.schedule_id for result in results}
                results.extend(
                    ScheduleResult(
                        schedule_id=s.id,
                        task_id=s.task_id,
                        trigger=s.trigger,
                        last_fire_time=s.last_fire_time,
                        next_fire_time=s.next_fire_time,
                    )
                    for s in schedules
                    if s.id not in done
                )
            await self._call(
                "release_schedules", self.data_store.release_schedules, self.identity, results
            )
        for schedule, error in broken:
            await pause_for_trigger_error(self, schedule, error)
        if self._catching_up:
            await asyncio.sleep(0)  # a schedule still catching up: let the jobs run meanwhile

    async def _process_schedule(
        self, schedule: Schedule, now: datetime, broken: list[tuple[Schedule, Exception]]
    ) -> ScheduleResult:
        assert schedule.next_fire_time is not None
        continuing = self._catching_up.pop(schedule.id, None) == schedule.next_fire_time
        try:
            fire_times, last, upcoming, cut_short = due_fire_times(
                schedule.trigger,
                schedule.next_fire_time,
                now,
                schedule.coalesce,
                continuing=continuing,
            )
        except Exception as exc:  # the trigger broke the contract (or raised): pause it
            broken.append((schedule, exc))
            return unchanged_result(schedule)
        if cut_short:
            self._catching_up[schedule.id] = upcoming
        grace = schedule.misfire_grace_time
        if grace is None:
            task = self._tasks.get(schedule.task_id)
            if task is None:
                try:
                    task = await self._get_task(schedule.task_id)
                except (TaskLookupError, DeserializationError):
                    task = None  # its jobs fail when they would run, saying why
            if task is not None:
                grace = task.misfire_grace_time
        for fire_time in fire_times:
            jitter = pick_jitter(schedule.max_jitter, fire_time, upcoming)
            job = Job(
                id=_new_uuid(),
                task_id=schedule.task_id,
                args=schedule.args,
                kwargs=schedule.kwargs,
                schedule_id=schedule.id,
                scheduled_fire_time=fire_time,
                jitter=jitter,
                start_deadline=None if grace is None else fire_time + jitter + grace,
                result_expiration_time=schedule.job_result_expiration_time,
                created_at=now,
            )
            await self._call("add_job", self.data_store.add_job, job)
        return ScheduleResult(
            schedule_id=schedule.id,
            task_id=schedule.task_id,
            trigger=schedule.trigger,
            last_fire_time=last,
            next_fire_time=upcoming,
        )

    # --- running jobs ------------------------------------------------------------------------

    def _start_job(self, job: Job) -> None:
        self._activity.busy()
        task = self._loop.create_task(self._run_job(job))  # type: ignore[union-attr]
        self._running_jobs[job.id] = task
        self._unstarted_jobs[job.id] = job
        self._tracked_tasks.add(task)

    async def _run_job(self, job: Job) -> None:
        del self._unstarted_jobs[job.id]
        activity = self._activity
        started_at: datetime | None = None
        result: JobResult | None = None
        try:
            try:
                runnable = self._runnables.get(job.task_id)
                if runnable is None:
                    runnable = await self._runnable(job.task_id)
                func, executor = runnable
            except Exception as exc:
                self.logger.error("cannot run job %s of task %r: %s", job.id, job.task_id, exc)
                result = self._failure(job, exc, None)
                return
            if job.jitter and (start := job.scheduled_start_time) and start > self.clock.now():
                activity.done()
                try:
                    await self.clock.sleep_until(start)
                finally:
                    activity.busy()
            now = self.clock.now()
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
            current_async_scheduler.set(self)
            try:
                if executor.runs_off_loop:
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
                    activity.done()
                    try:
                        value = await executor.run_job(func, job)
                    finally:
                        activity.busy()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # SystemExit in a job must not end the scheduler
                result = self._failure(job, exc, started_at)
            else:
                finished = self.clock.now()
                result = JobResult(
                    job_id=job.id,
                    outcome=JobOutcome.success,
                    started_at=started_at,
                    finished_at=finished,
                    expires_at=finished + job.result_expiration_time,
                    return_value=value,
                    scheduler_id=self.identity,
                )
        except asyncio.CancelledError:
            if result is None:
                result = self._cancelled(job, started_at)
            raise
        finally:
            try:
                if result is not None:
                    await self._release_job(job, result)
            except Exception:
                self.logger.exception("could not record the result of job %s", job.id)
            finally:
                self._tracked_tasks.discard(self._running_jobs.pop(job.id))
                activity.done()
                if not self._wake_pending:
                    self._wake()

    async def _stop_running_jobs(self) -> None:
        """Cancel the jobs on the loop; give those in threads or processes, which cannot be
        cancelled, up to ``stop_grace_time`` to finish (then they are recorded ``abandoned``)."""
        off_loop = [self._running_jobs[i] for i in self._off_loop_jobs if i in self._running_jobs]
        for task in self._running_jobs.values():
            if task not in off_loop:
                task.cancel()
        if off_loop:
            await asyncio.wait(off_loop, timeout=self.stop_grace_time.total_seconds())
        running = list(self._running_jobs.values())
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
        started (so that they don't wait for their lease to expire)."""
        for job in list(self._unstarted_jobs.values()):
            del self._unstarted_jobs[job.id]
            self._tracked_tasks.discard(self._running_jobs.pop(job.id))
            self._activity.done()
            try:
                await self._release_job(job, self._cancelled(job, None))
            except Exception:
                self.logger.exception("could not release the unstarted job %s", job.id)

    async def _release_job(self, job: Job, result: JobResult) -> None:
        await self._call("release_job", self.data_store.release_job, self.identity, job, result)
        exc = result.exception
        await self.event_broker.publish(
            JobReleased(
                timestamp=result.finished_at,
                job_id=job.id,
                scheduler_id=self.identity,
                task_id=job.task_id,
                schedule_id=job.schedule_id,
                scheduled_start=job.scheduled_start_time,
                started_at=result.started_at,
                finished_at=result.finished_at,
                outcome=result.outcome,
                exception_type=None if exc is None else type(exc).__qualname__,
                exception_message=None if exc is None else str(exc),
                exception_traceback=result.traceback,
            )
        )
        waiters = self._result_waiters.pop(job.id, None) if self._result_waiters else None
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(result)

    async def _runnable(self, task_id: str) -> tuple[Callable[..., Any], JobExecutor]:
        """The callable and executor of a task, resolved once and cached."""
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
        self._runnables[task_id] = (func, executor)
        return func, executor

    # --- housekeeping ------------------------------------------------------------------------

    async def _lease_renewal_loop(self) -> None:
        interval = self.lease_duration / 2
        while True:
            await self.clock.sleep_until(self.clock.now() + interval)
            if not self._running_jobs:
                continue
            self._activity.busy()
            try:
                now = self.clock.now()
                await self._call(
                    "extend_acquired_job_leases",
                    self.data_store.extend_acquired_job_leases,
                    self.identity,
                    set(self._running_jobs),
                    self.lease_duration,
                    now,
                )
            except Exception:
                self.logger.exception("could not renew the leases of running jobs")
            finally:
                self._activity.done()

    async def _cleanup_loop(self) -> None:
        while True:
            await self.clock.sleep_until(self.clock.now() + self.cleanup_interval)
            self._activity.busy()
            try:
                await self._call("cleanup", self.data_store.cleanup, self.clock.now())
            except Exception:
                self.logger.exception("data store cleanup failed")
            finally:
                self._activity.done()

    # --- store calls -------------------------------------------------------------------------

    def _call(self, operation: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a store method through the retry policy (directly when the store declares no
        temporary errors: nothing to retry)."""
        if self._retry.temporary_errors:
            return self._retry.call(operation, func, *args, **kwargs)
        return func(*args, **kwargs)

    def _retries_persist(self) -> bool:
        """Whether a failing store call keeps retrying past the retry window: the scheduler's
        own calls do (until it is asked to stop); those of its users give up and raise."""
        return not self._stop_requested and asyncio.current_task() in self._tracked_tasks

    @property
    def store_unavailable_since(self) -> datetime | None:
        """When the data store became unavailable (temporary errors for longer than the retry
        window), or ``None`` while it is usable. See :attr:`store_unavailable_reason`."""
        return self._outage.unavailable_since

    @property
    def store_unavailable_reason(self) -> str | None:
        """The last error of the store while it is unavailable (``"Type: message"``)."""
        return self._outage.reason

    async def _retry_sleep(self, seconds: float) -> None:
        deadline = self.clock.now() + timedelta(seconds=seconds)
        current = asyncio.current_task()
        if self._stop_requested and current in self._tracked_tasks:
            # stopping: what the scheduler still hands back (schedules, unstarted jobs) gets
            # its attempts without the waits, so that a stop never waits out a retry window
            await asyncio.sleep(0)
            return
        if current is self._loop_task and current is not None:
            # the processing loop waits as it does when idle: a stop request (or a change in
            # the schedules) wakes it at once; a wake-up pending from before only leads to
            # the attempt that follows anyway
            self._wake_pending = False
            await self._wait(deadline)
            return
        if current not in self._tracked_tasks:
            await self.clock.sleep_until(deadline)
            return
        # a task counted as busy (a job runner) waits on the clock here: it is idle for
        # FakeClock.advance() until the wait ends
        self._activity.done()
        try:
            await self.clock.sleep_until(deadline)
        finally:
            self._activity.busy()

    async def _on_retry_give_up(self, operation: str, attempts: int, exc: BaseException) -> None:
        try:
            await self.event_broker.publish(
                DataStoreRetryGaveUp(
                    timestamp=self.clock.now(),
                    operation=operation,
                    attempts=attempts,
                    exception=f"{type(exc).__name__}: {exc}",
                )
            )
        except Exception:
            self.logger.exception("could not publish DataStoreRetryGaveUp")

    # --- tasks -------------------------------------------------------------------------------

    async def _get_task(self, task_id: str) -> Task:
        task = await self._call("get_task", self.data_store.get_task, task_id)
        self._tasks[task_id] = task
        return task

    def _executor_for(self, func: Any, job_executor: str | None) -> str:
        if job_executor is not None:
            if job_executor not in self.job_executors:
                raise ValueError(
                    f"job_executor: {job_executor!r} is not one of {sorted(self.job_executors)}"
                )
            return job_executor
        if self.default_job_executor is not None:
            return self.default_job_executor
        if iscoroutinefunction(func) or iscoroutinefunction(type(func).__dict__.get("__call__")):
            return "async"
        return "threadpool"

    async def configure_task(
        self,
        func_or_task_id: Callable[..., Any] | str,
        *,
        func: Callable[..., Any] | None = None,
        job_executor: str | None = None,
        max_running_jobs: int | None = None,
        misfire_grace_time: timedelta | float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Task:
        """Add or update a task: which callable runs, where, and how many at once.

        Arguments left ``None`` keep the task's current setting.

        :param func_or_task_id: a callable (its task id is ``"module:qualname"``) or a task id
        :param func: the callable, when ``func_or_task_id`` is an id
        :param job_executor: ``"async"``, ``"threadpool"``, ``"loop"``, ``"processpool"`` or the
            name of an executor given to the scheduler
        :param max_running_jobs: how many jobs of the task may run at once
        :param misfire_grace_time: default for the task's schedules: how late a job may start
        :param metadata: JSON-compatible key-value pairs
        :return: the stored task
        """
        await self._usable()
        if callable(func_or_task_id):
            if func is not None and func is not func_or_task_id:
                raise ValueError("func: give the callable either first or as func=, not both")
            func = func_or_task_id
            task_id = task_id_of(func)
        elif isinstance(func_or_task_id, str):
            if not func_or_task_id:
                raise ValueError("func_or_task_id: the task id is empty")
            task_id = func_or_task_id
        else:
            raise TypeError(
                f"func_or_task_id: expected a callable or a task id string, got "
                f"{type(func_or_task_id).__name__} {func_or_task_id!r}"
            )
        if func is not None and not callable(func):
            raise TypeError(f"func: expected a callable, got {func!r}")
        if max_running_jobs is not None and (
            isinstance(max_running_jobs, bool)
            or not isinstance(max_running_jobs, int)
            or max_running_jobs < 1
        ):
            raise ValueError(
                f"max_running_jobs: expected a positive integer or None, got {max_running_jobs!r}"
            )
        grace = as_timedelta(misfire_grace_time, argument="misfire_grace_time")
        if grace is not None and grace < _ZERO:
            raise ValueError(f"misfire_grace_time: {misfire_grace_time!r} is negative")
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata: expected a dict, got {metadata!r}")
        try:
            existing: Task | None = self._tasks.get(task_id) or await self._get_task(task_id)
        except TaskLookupError:
            existing = None
        if existing is None:
            if func is None:
                raise TaskLookupError(task_id)
            task = Task(
                id=task_id,
                func=func,
                job_executor=self._executor_for(func, job_executor),
                max_running_jobs=max_running_jobs,
                misfire_grace_time=grace,
                metadata=dict(metadata or {}),
            )
        else:
            new_func = func if func is not None else existing.func
            task = existing.copy(
                func=new_func,
                job_executor=(
                    self._executor_for(new_func, job_executor)
                    if job_executor is not None or func is not None
                    else existing.job_executor
                ),
                max_running_jobs=(
                    max_running_jobs if max_running_jobs is not None else existing.max_running_jobs
                ),
                misfire_grace_time=grace if grace is not None else existing.misfire_grace_time,
                metadata=dict(metadata) if metadata is not None else existing.metadata,
            )
            if func is None and job_executor is None and existing.job_executor:
                task.job_executor = existing.job_executor
        await self._call("add_task", self.data_store.add_task, task)
        self._tasks[task_id] = task
        self._runnables.pop(task_id, None)
        return task.copy()

    async def _ensure_task(
        self,
        func_or_task_id: Callable[..., Any] | str,
        job_executor: str | None,
        max_running_jobs: int | None = None,
    ) -> str:
        if isinstance(func_or_task_id, str):
            task_id = func_or_task_id
            if job_executor is None and max_running_jobs is None:
                if task_id not in self._tasks:
                    await self._get_task(task_id)
                return task_id
            await self.configure_task(
                task_id, job_executor=job_executor, max_running_jobs=max_running_jobs
            )
            return task_id
        if not callable(func_or_task_id):
            raise TypeError(
                f"func_or_task_id: expected a callable or a task id string, got "
                f"{type(func_or_task_id).__name__} {func_or_task_id!r}"
            )
        task_id = task_id_of(func_or_task_id)
        cached = self._tasks.get(task_id)
        if (
            cached is not None
            and cached.func is func_or_task_id
            and (job_executor is None or job_executor == cached.job_executor)
            and (max_running_jobs is None or max_running_jobs == cached.max_running_jobs)
        ):
            return task_id
        await self.configure_task(
            func_or_task_id, job_executor=job_executor, max_running_jobs=max_running_jobs
        )
        return task_id

    # --- schedules ---------------------------------------------------------------------------

    async def add_schedule(
        self,
        func_or_task_id: Callable[..., Any] | str,
        trigger: Trigger,
        *,
        id: str | None = None,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        paused: bool = False,
        job_executor: str | None = None,
        coalesce: CoalescePolicy | str = CoalescePolicy.latest,
        misfire_grace_time: timedelta | float | None = None,
        max_jitter: timedelta | float | None = None,
        max_running_jobs: int | None = None,
        job_result_expiration_time: timedelta | float = 0,
        metadata: dict[str, Any] | None = None,
        conflict_policy: ConflictPolicy | str = ConflictPolicy.do_nothing,
    ) -> str:
        """Schedule a callable (or a configured task) to run whenever ``trigger`` fires.

        :param func_or_task_id: a callable or the id of a configured task
        :param trigger: decides the fire times (it is copied; the given object is untouched)
        :param id: the schedule's id (default: a new UUID string)
        :param args: positional arguments for each run
        :param kwargs: keyword arguments for each run
        :param paused: add it paused
        :param job_executor: where the jobs run (changes the task's setting)
        :param coalesce: when several fire times are due at once, run the ``earliest``, the
            ``latest`` or ``all`` of them
        :param misfire_grace_time: how late after its fire time a job may still start (a
            ``timedelta`` or seconds; default: the task's, else no limit)
        :param max_jitter: the largest random delay added to each fire time; the delay never
            reaches the following fire time
        :param max_running_jobs: how many jobs of the task may run at once (changes the task's
            setting)
        :param job_result_expiration_time: how long each job's result is kept
        :param metadata: JSON-compatible key-value pairs for your own use
        :param conflict_policy: when a schedule with this id exists: ``do_nothing`` (keep it),
            ``replace`` it, or ``exception`` (raise :class:`~nbsched.ConflictingIdError`)
        :return: the schedule id
        """
        await self._usable()
        if not isinstance(trigger, Trigger):
            raise TypeError(
                f"trigger: expected a nbsched Trigger, got {type(trigger).__name__} {trigger!r}"
            )
        if id is None:
            id = str(uuid4())
        elif not isinstance(id, str) or not id:
            raise TypeError(f"id: expected a non-empty string, got {id!r}")
        args_tuple = _as_args(args)
        kwargs_dict = _as_kwargs(kwargs)
        coalesce_policy: CoalescePolicy = as_enum(CoalescePolicy, coalesce, argument="coalesce")
        conflict: ConflictPolicy = as_enum(
            ConflictPolicy, conflict_policy, argument="conflict_policy"
        )
        grace = as_timedelta(misfire_grace_time, argument="misfire_grace_time")
        if grace is not None and grace < _ZERO:
            raise ValueError(f"misfire_grace_time: {misfire_grace_time!r} is negative")
        jitter = as_timedelta(max_jitter, argument="max_jitter")
        if jitter is not None and jitter < _ZERO:
            raise ValueError(f"max_jitter: {max_jitter!r} is negative")
        expiration = as_timedelta(
            job_result_expiration_time, argument="job_result_expiration_time"
        )
        if expiration is None or expiration < _ZERO:
            raise ValueError(
                f"job_result_expiration_time: expected zero or more, got "
                f"{job_result_expiration_time!r}"
            )
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata: expected a dict, got {metadata!r}")
        if not isinstance(paused, bool):
            raise TypeError(f"paused: expected True or False, got {paused!r}")
        live_trigger = clone_trigger(trigger)
        try:
            next_fire_time = first_fire_time(live_trigger)
        except TriggerContractError as exc:
            raise ValueError(
                f"trigger: {trigger!r:.200} breaks the trigger contract: {exc}"
            ) from None
        if next_fire_time is None:
            raise ValueError(f"trigger: {trigger!r} produces no fire time at all")
        task_id = await self._ensure_task(func_or_task_id, job_executor, max_running_jobs)
        schedule = Schedule(
            id=id,
            task_id=task_id,
            trigger=live_trigger,
            args=args_tuple,
            kwargs=kwargs_dict,
            paused=paused,
            coalesce=coalesce_policy,
            misfire_grace_time=grace,
            max_jitter=jitter or None,
            job_result_expiration_time=expiration,
            metadata=dict(metadata or {}),
            next_fire_time=next_fire_time,
        )
        await self._call("add_schedule", self.data_store.add_schedule, schedule, conflict)
        return id

    async def get_schedule(self, id: str) -> Schedule:
        """Return the schedule (a copy) :raises ScheduleLookupError: if there is none"""
        await self._usable()
        schedules = await self._call("get_schedules", self.data_store.get_schedules, [id])
        if not schedules:
            raise ScheduleLookupError(id)
        return schedules[0]

    async def get_schedules(self) -> list[Schedule]:
        """Return every schedule (copies), sorted by id."""
        await self._usable()
        return await self._call("get_schedules", self.data_store.get_schedules, None)

    async def remove_schedule(self, id: str) -> None:
        """Remove a schedule. :raises ScheduleLookupError: if there is none"""
        await self.get_schedule(id)
        await self._call("remove_schedules", self.data_store.remove_schedules, [id])

    async def pause_schedule(self, id: str) -> None:
        """Stop a schedule from firing until :meth:`unpause_schedule`."""
        schedule = await self.get_schedule(id)
        if schedule.paused:
            return
        await self._call(
            "add_schedule",
            self.data_store.add_schedule,
            schedule.copy(paused=True),
            ConflictPolicy.replace,
        )

    async def unpause_schedule(
        self, id: str, *, resume_from: ResumeFrom | str | datetime = ResumeFrom.now
    ) -> None:
        """Let a paused schedule fire again.

        :param resume_from: ``"now"`` skips the fire times that passed while it was paused;
            ``"catch_up"`` keeps them (the schedule's coalesce policy decides how many jobs
            run); a datetime skips the fire times before it
        """
        if isinstance(resume_from, datetime):
            resume_time: datetime | None = as_aware_datetime(resume_from, argument="resume_from")
        else:
            mode = as_enum(ResumeFrom, resume_from, argument="resume_from")
            resume_time = self.clock.now() if mode is ResumeFrom.now else None
        schedule = await self.get_schedule(id)
        if not schedule.paused:
            return
        trigger = schedule.trigger
        next_fire_time = schedule.next_fire_time
        if resume_time is not None:
            next_fire_time = skip_fire_times_before(trigger, next_fire_time, resume_time)
        if next_fire_time is None:
            await self._call(
                "remove_schedules", self.data_store.remove_schedules, [id], finished=True
            )
            return
        await self._call(
            "add_schedule",
            self.data_store.add_schedule,
            schedule.copy(paused=False, trigger=trigger, next_fire_time=next_fire_time),
            ConflictPolicy.replace,
        )

    # --- jobs --------------------------------------------------------------------------------

    async def add_job(
        self,
        func_or_task_id: Callable[..., Any] | str,
        *,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        job_executor: str | None = None,
        metadata: dict[str, Any] | None = None,
        result_expiration_time: timedelta | float = 0,
    ) -> UUID:
        """Queue one run of a callable (or configured task) now; return the job id.

        :param result_expiration_time: how long the result is kept for
            :meth:`get_job_result` after the job finished (a result that is waited for while
            the job runs is delivered whatever this is)
        """
        job = await self._new_job(
            func_or_task_id, args, kwargs, job_executor, metadata, result_expiration_time
        )
        await self._call("add_job", self.data_store.add_job, job)
        return job.id

    async def _new_job(
        self,
        func_or_task_id: Callable[..., Any] | str,
        args: Iterable[Any] | None,
        kwargs: Mapping[str, Any] | None,
        job_executor: str | None,
        metadata: dict[str, Any] | None,
        result_expiration_time: timedelta | float,
    ) -> Job:
        await self._usable()
        args_tuple = _as_args(args)
        kwargs_dict = _as_kwargs(kwargs)
        expiration = as_timedelta(result_expiration_time, argument="result_expiration_time")
        if expiration is None or expiration < _ZERO:
            raise ValueError(
                f"result_expiration_time: expected zero or more, got {result_expiration_time!r}"
            )
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata: expected a dict, got {metadata!r}")
        task_id = await self._ensure_task(func_or_task_id, job_executor)
        return Job(
            task_id=task_id,
            args=args_tuple,
            kwargs=kwargs_dict,
            result_expiration_time=expiration,
            metadata=dict(metadata or {}),
            created_at=self.clock.now(),
        )

    async def get_jobs(self) -> list[Job]:
        """Return the jobs that have not finished, oldest first."""
        await self._usable()
        return await self._call("get_jobs", self.data_store.get_jobs, None)

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

    # --- events ------------------------------------------------------------------------------

    def subscribe(
        self,
        callback: Callable[[Event], Any],
        event_types: Iterable[type[Event]] | type[Event] | None = None,
        *,
        one_shot: bool = False,
    ) -> Subscription:
        """Call ``callback(event)`` for every event (of ``event_types``, if given).

        Plain callbacks run on the scheduler's loop thread, coroutine functions as tasks on it.
        """
        if isinstance(event_types, type):
            event_types = (event_types,)
        return self.event_broker.subscribe(callback, event_types, one_shot=one_shot)


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


def _as_args(args: Iterable[Any] | None) -> tuple[Any, ...]:
    if args is None:
        return ()
    if isinstance(args, (str, bytes)) or not isinstance(args, Iterable):
        raise TypeError(f"args: expected a tuple or list of arguments, got {args!r}")
    return tuple(args)


def _as_kwargs(kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    if kwargs is None:
        return {}
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"kwargs: expected a dict of keyword arguments, got {kwargs!r}")
    for key in kwargs:
        if not isinstance(key, str):
            raise TypeError(f"kwargs: keys must be strings, got {key!r}")
    return dict(kwargs)
