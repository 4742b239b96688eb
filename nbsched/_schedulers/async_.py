"""The asynchronous scheduler: turns due schedules into jobs and runs them.

:class:`AsyncScheduler` holds the settings and the calls that add and look at schedules and
jobs; its other parts live in modules of their own (see :mod:`._core`): running on a loop
(:mod:`._run`), the processing loop (:mod:`._process_loop`), the job runner (:mod:`._jobs`),
tasks (:mod:`._tasks`), results (:mod:`._results`) and store calls (:mod:`._store_calls`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any
from uuid import UUID

from .._clock import Activity, Clock, SystemClock
from .._converters import as_aware_datetime, as_enum, as_timedelta
from .._enums import CoalescePolicy, ConflictPolicy, ResumeFrom
from .._exceptions import ScheduleLookupError, TriggerContractError
from .._ids import new_uuid
from .._marshalling import clone_trigger
from .._positional import positional_builder
from .._protocols import (
    JobAdopter,
    JobReleaser,
    PollingStore,
    ScheduleAdopter,
    SubscriberAware,
)
from .._retry import RetryPolicy, temporary_errors_of
from .._store_outage import StoreOutage
from .._structures import Job, Schedule
from ..abc import AsyncDataStore, AsyncEventBroker, DataStore, Subscription, Trigger
from ..events import Event
from ..executors.base import JobExecutor
from ._jobs import JobRunner
from ._lifecycle import Lifecycle
from ._ported_calls import PortedCalls
from ._process_loop import ProcessingLoop, StoreChanges
from ._processing import first_fire_time, skip_fire_times_before
from ._results import ResultWaiters, unwrap_result
from ._run import SchedulerRun
from ._store_calls import StoreCalls
from ._tasks import TaskConfig, task_id_of

__all__ = ["AsyncScheduler", "task_id_of", "unwrap_result"]

_ZERO = timedelta(0)


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


class AsyncScheduler(
    SchedulerRun,
    ProcessingLoop,
    JobRunner,
    TaskConfig,
    ResultWaiters,
    StoreCalls,
    PortedCalls,
):
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
        from ..eventbrokers.local import LocalEventBroker

        if event_broker is None:
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
        self._polling_store = data_store if isinstance(data_store, PollingStore) else None
        self._add_new_schedule = (
            data_store.adopt_schedule
            if isinstance(data_store, ScheduleAdopter)
            else data_store.add_schedule
        )
        self._adopt_jobs = data_store.adopt_jobs if isinstance(data_store, JobAdopter) else None
        self.identity = identity or f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self.clock = clock
        # the system clock read without a Python call of its own (twice per job)
        self._now = (
            partial(datetime.now, timezone.utc) if type(clock) is SystemClock else clock.now
        )
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
        # a store call that may be retried goes through _call: not this shortcut
        self._release_job_now = (
            data_store.release_job_now
            if isinstance(data_store, JobReleaser) and not self._retry.temporary_errors
            else None
        )
        self._loop_task = None
        self._activity = Activity()
        self._tasks = {}  # local cache, with the callables resolved
        self._last_task_id = None
        # the settings add_schedule checked last, as given (five) and as checked (a _Settings):
        # schedules added in a row mostly share them (compared by identity: False is not
        # taken for a given 0)
        self._last_settings: tuple[Any, ...] | None = None
        # schedules released still due after a wake-up's share of catching up: id -> the
        # fire time they continue from (an "earliest" job for that catch-up already exists)
        self._catching_up = {}
        self._runnables = {}
        self._entered = False
        self._lifecycle = Lifecycle(self._wake)
        self._loop = None
        self._loop_thread = None
        self._wake_pending = False
        self._wake_future = None
        # while the loop sleeps: the time it will wake by on its own (None: until woken)
        self._sleeping_until = None
        self._running_jobs = {}  # see _release_unstarted_jobs
        # jobs inside a thread or process right now: they cannot be cancelled (see stop())
        self._off_loop_jobs = set()
        self._result_waiters = {}
        self._subscriptions = []
        self._store_changes = StoreChanges(self)
        self._store_listens = False
        self._has_subscribers = (
            event_broker.has_subscribers if isinstance(event_broker, SubscriberAware) else None
        )
        # a broker that delivers at once is called without a coroutine per event
        self._publish_now = (
            event_broker.publish_sync if type(event_broker) is LocalEventBroker else None
        )
        self._background = set()

    def __repr__(self) -> str:
        return (
            f"AsyncScheduler(identity={self.identity!r}, state={self.state.name}, "
            f"data_store={self.data_store!r})"
        )

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
        if not self._entered or self._lifecycle.starting():
            await self._usable()
        if type(trigger) not in _trigger_classes:
            if not isinstance(trigger, Trigger):
                raise TypeError(
                    f"trigger: expected a nbsched Trigger, got {type(trigger).__name__} "
                    f"{trigger!r}"
                )
            _trigger_classes.add(type(trigger))
        if id is None:
            id = str(new_uuid())  # random-module UUIDs, as job ids: unique is enough
        elif not isinstance(id, str) or not id:
            raise TypeError(f"id: expected a non-empty string, got {id!r}")
        args_tuple = () if args is None else _as_args(args)
        kwargs_dict = {} if kwargs is None else _as_kwargs(kwargs)
        last = self._last_settings
        if (
            last is not None
            and coalesce is last[0]
            and conflict_policy is last[1]
            and misfire_grace_time is last[2]
            and max_jitter is last[3]
            and job_result_expiration_time is last[4]
        ):
            settings = last[5]
        else:
            given = (
                coalesce,
                conflict_policy,
                misfire_grace_time,
                max_jitter,
                job_result_expiration_time,
            )
            settings = _schedule_settings(*given)
            self._last_settings = (*given, settings)
        coalesce_policy, conflict, grace, jitter, expiration = settings
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
        task_id = self._cached_task_id(func_or_task_id, job_executor, max_running_jobs)
        if task_id is None:
            task_id = await self._ensure_task(func_or_task_id, job_executor, max_running_jobs)
        schedule = _new_schedule(
            id,
            task_id,
            live_trigger,
            args_tuple,
            kwargs_dict,
            paused,
            coalesce_policy,
            grace,
            jitter,
            expiration,
            dict(metadata) if metadata else {},
            next_fire_time,
            None,  # last_fire_time
            None,  # acquired_by
            None,  # acquired_until
        )
        # the store may keep live_trigger itself: nothing else holds it
        if self._retry.temporary_errors:
            await self._call("add_schedule", self._add_new_schedule, schedule, conflict)
        else:  # (what _call does then, without its frame)
            await self._add_new_schedule(schedule, conflict)
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


#: a new Schedule of checked values, every field positionally in field order: a third of the
#: cost of the dataclass ``__init__`` with a dozen keywords (a good part of an add)
_new_schedule = positional_builder(Schedule)
#: the classes add_schedule found to be triggers (an isinstance check against the Trigger ABC
#: costs a Python call; a class stays a subclass once it is one)
_trigger_classes: set[type] = set()

_Settings = tuple[CoalescePolicy, ConflictPolicy, timedelta | None, timedelta | None, timedelta]


def _schedule_settings(
    coalesce: CoalescePolicy | str,
    conflict_policy: ConflictPolicy | str,
    misfire_grace_time: timedelta | float | None,
    max_jitter: timedelta | float | None,
    job_result_expiration_time: timedelta | float,
) -> _Settings:
    """``add_schedule``'s settings checked and converted (a jitter of zero is none)."""
    coalesce_policy: CoalescePolicy = as_enum(CoalescePolicy, coalesce, argument="coalesce")
    conflict: ConflictPolicy = as_enum(ConflictPolicy, conflict_policy, argument="conflict_policy")
    grace = as_timedelta(misfire_grace_time, argument="misfire_grace_time")
    if grace is not None and grace < _ZERO:
        raise ValueError(f"misfire_grace_time: {misfire_grace_time!r} is negative")
    jitter = as_timedelta(max_jitter, argument="max_jitter")
    if jitter is not None and jitter < _ZERO:
        raise ValueError(f"max_jitter: {max_jitter!r} is negative")
    expiration = as_timedelta(job_result_expiration_time, argument="job_result_expiration_time")
    if expiration is None or expiration < _ZERO:
        raise ValueError(
            f"job_result_expiration_time: expected zero or more, got "
            f"{job_result_expiration_time!r}"
        )
    return coalesce_policy, conflict, grace, jitter or None, expiration


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
