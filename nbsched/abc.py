"""The interfaces nbsched is built around: triggers, serializers, event brokers, data stores.

A custom trigger or data store needs only this module and its docstrings. The contracts are the
ones of APScheduler 4's extension guide; where nbsched asks for more (plain-data trigger state,
``now`` passed in so that tests can drive a fake clock), the docstring says so.

What a store or broker *may* offer beyond its abstract class is declared as a protocol, checked
with ``isinstance``: :class:`PollingStore` (``poll_interval``), :class:`SubscriberAware`
(``has_subscribers()``), :class:`ScheduleAdopter` (``adopt_schedule()``),
:class:`JobAdopter` (``adopt_jobs()``), :class:`JobReleaser` (``release_job_now()``) and
:class:`StoreWrapper` (``original``). :class:`SchedulerLike` is what
the widgets and timelines use of a scheduler.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from ._protocols import JobAdopter as JobAdopter
from ._protocols import JobReleaser as JobReleaser
from ._protocols import PollingStore as PollingStore
from ._protocols import ScheduleAdopter as ScheduleAdopter
from ._protocols import SchedulerLike as SchedulerLike
from ._protocols import StoreWrapper as StoreWrapper
from ._protocols import SubscriberAware as SubscriberAware

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._enums import ConflictPolicy
    from ._history import RunRecord
    from ._structures import Job, JobResult, Schedule, ScheduleResult, Task
    from .events import Event

__all__ = [
    "Trigger",
    "Serializer",
    "Subscription",
    "EventBroker",
    "AsyncEventBroker",
    "DataStore",
    "AsyncDataStore",
    "PollingStore",
    "JobAdopter",
    "JobReleaser",
    "ScheduleAdopter",
    "SubscriberAware",
    "StoreWrapper",
    "SchedulerLike",
]


class Trigger(Iterator[datetime], metaclass=ABCMeta):
    """Decides when a schedule fires. Subclass it to write your own trigger.

    The contract (check any trigger with :func:`nbsched.testing.check_trigger`):

    * :meth:`next` returns a timezone-aware ``datetime``, or ``None`` once the trigger is
      exhausted; after ``None`` it keeps returning ``None``.
    * :meth:`next` never returns the same datetime twice and never one earlier than the
      previous one.
    * :meth:`__setstate__` accepts what :meth:`__getstate__` returned and restores a trigger
      that continues the same sequence. The state is plain JSON-compatible data (dicts, lists,
      str, int, float, bool, None), so it can be stored without pickling code. Include a
      ``"version"`` key and refuse versions you do not know.

    Triggers are stateful (``next()`` advances them) and need not be thread-safe. Iterating
    over a trigger yields its fire times until it is exhausted.

    Optional hook: a trigger that counts the fire times it hands out (a cell's ``--times``)
    may define ``resume_at(pending, resume_from)``. When a paused schedule is resumed from a
    time, the scheduler then calls it, instead of calling :meth:`next` past every fire time
    missed while paused, with the schedule's pending fire time; it must return ``None`` if no
    fire time is left, else leave the trigger so that :meth:`next` returns the first fire time
    at or after ``resume_from``.

    Example::

        class EveryOtherDay(Trigger):
            def __init__(self, start: datetime):
                self._next = start

            def next(self) -> datetime | None:
                fire_time, self._next = self._next, self._next + timedelta(days=2)
                return fire_time

            def __getstate__(self):
                return {"version": 1, "next": self._next.isoformat()}

            def __setstate__(self, state):
                self._next = datetime.fromisoformat(state["next"])
    """

    __slots__ = ()

    @abstractmethod
    def next(self) -> datetime | None:
        """Return the next fire time and advance past it, or ``None`` if there is none."""

    @abstractmethod
    def __getstate__(self) -> Any:
        """Return the trigger's state as JSON-compatible plain data."""

    @abstractmethod
    def __setstate__(self, state: Any) -> None:
        """Restore the state returned by :meth:`__getstate__`."""

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> datetime:
        fire_time = self.next()
        if fire_time is None:
            raise StopIteration
        return fire_time


class Serializer(metaclass=ABCMeta):
    """Turns job arguments, return values and exceptions into bytes and back."""

    __slots__ = ()

    @abstractmethod
    def serialize(self, obj: Any) -> bytes:
        """Return ``obj`` as bytes; raise :class:`~nbsched.SerializationError` if it can't be."""

    @abstractmethod
    def deserialize(self, serialized: bytes) -> Any:
        """Return the object; raise :class:`~nbsched.DeserializationError` on bad input."""


class Subscription(metaclass=ABCMeta):
    """A handle on an event subscription. Usable as a context manager."""

    __slots__ = ()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.unsubscribe()

    @abstractmethod
    def unsubscribe(self) -> None:
        """Stop delivering events to this subscription. Calling it twice is harmless."""


EventCallback = Callable[["Event"], Any] | Callable[["Event"], Awaitable[Any]]


class _EventBrokerSubscribe(metaclass=ABCMeta):
    __slots__ = ()

    @abstractmethod
    def subscribe(
        self,
        callback: EventCallback,
        event_types: Iterable[type[Event]] | None = None,
        *,
        one_shot: bool = False,
    ) -> Subscription:
        """Call ``callback(event)`` for each published event.

        :param callback: a function or a coroutine function taking the event
        :param event_types: deliver only events that are instances of these classes
            (``None``: every event)
        :param one_shot: unsubscribe after the first delivered event
        :return: a handle whose ``unsubscribe()`` ends the subscription

        A callback that raises is logged and does not stop delivery to the others.
        """


class AsyncEventBroker(_EventBrokerSubscribe):
    """Delivers events to subscribers; the async form, used by :class:`~nbsched.AsyncScheduler`.

    A broker that spans processes (PostgreSQL LISTEN/NOTIFY) delivers events published anywhere
    to every subscriber; :meth:`publish_local` delivers only in this process.
    """

    __slots__ = ()

    @abstractmethod
    async def start(self) -> None:
        """Start the broker (connect, start listening)."""

    @abstractmethod
    async def stop(self, *, force: bool = False) -> None:
        """Stop the broker."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber, in every process the broker spans."""

    @abstractmethod
    async def publish_local(self, event: Event) -> None:
        """Deliver ``event`` to the subscribers in this process only."""


class EventBroker(_EventBrokerSubscribe):
    """Synchronous, thread-safe event broker (same contract as :class:`AsyncEventBroker`)."""

    __slots__ = ()

    @abstractmethod
    def start(self) -> None:
        """Start the broker."""

    @abstractmethod
    def stop(self, *, force: bool = False) -> None:
        """Stop the broker."""

    @abstractmethod
    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber."""

    @abstractmethod
    def publish_local(self, event: Event) -> None:
        """Deliver ``event`` to the subscribers in this process only."""


class _DataStoreContract:
    """Shared documentation of the data store contract (see :class:`AsyncDataStore`)."""

    #: Exceptions that mean "try again later" (lost connection, ``database is locked``).
    #: The scheduler retries store calls that raise one of these, with backoff, through one
    #: tenacity policy; every other exception is treated as permanent and raised at once.
    temporary_errors: ClassVar[tuple[type[BaseException], ...]] = ()


class AsyncDataStore(_DataStoreContract, metaclass=ABCMeta):
    """Keeps tasks, schedules, jobs and job results; task-safe; the async form.

    Contract:

    * Every change publishes its event on the broker given to :meth:`start` (``TaskAdded``,
      ``ScheduleAdded``/``ScheduleUpdated``/``ScheduleRemoved``, ``JobAdded``, ...).
    * Several schedulers may share one store. Schedules and jobs are *acquired* under a lease
      (``acquired_by``, ``acquired_until``): while the lease holds, no other scheduler acquires
      them, so each fire of a schedule produces exactly one job. The lease holder pushes it
      forward while it works (``extend_acquired_*_leases``).
    * A lease holds through ``acquired_until`` itself and has expired at any ``now`` after it
      (``acquired_until < now``), as in APScheduler 4. An expired lease means its scheduler is
      presumed dead, and what it held is *taken over*: the next :meth:`acquire_schedules` or
      :meth:`acquire_jobs` of any scheduler leases it anew. A job taken over runs again
      (at-least-once), keeps its place in line (ahead of jobs added after it) and its slot in
      its task's ``running_jobs`` (so it is taken over even when the task is at its
      ``max_running_jobs``). From then on the old holder's ``release_*`` and
      ``extend_acquired_*_leases`` calls are ignored; before anyone takes over they still
      count (the holder was only slow).
    * :meth:`cleanup` finishes the jobs whose lease expired and that nobody took over yet with
      the ``abandoned`` outcome: ``JobRemoved`` and ``JobReleased(outcome=abandoned)`` are
      published, and a :class:`~nbsched.JobResult` is kept for the job's
      ``result_expiration_time`` like any other outcome (``scheduler_id``: the dead holder;
      ``finished_at``: ``now``), so :meth:`get_job_result` returns it. Whichever comes first
      decides: a scheduler with room takes the job over within a poll, so ``abandoned`` is
      what a job gets only when no scheduler could take it before the next cleanup.
    * Methods that depend on the current time take ``now`` so that tests can drive a fake
      clock; a store never reads the wall clock for these decisions.
    * Objects passed in and returned are copies: changing them does not change the store.
    * Bad input raises before anything is changed: nothing already stored is lost.
    """

    @abstractmethod
    async def start(self, event_broker: AsyncEventBroker) -> None:
        """Open the store and remember the broker to publish events on."""

    @abstractmethod
    async def stop(self, *, force: bool = False) -> None:
        """Close the store."""

    # --- tasks ---

    @abstractmethod
    async def add_task(self, task: Task) -> None:
        """Add ``task``, or update the stored task with the same id (publishes ``TaskAdded`` or
        ``TaskUpdated``)."""

    @abstractmethod
    async def remove_task(self, task_id: str) -> None:
        """Remove a task (publishes ``TaskRemoved``); raises ``TaskLookupError`` if missing."""

    @abstractmethod
    async def get_task(self, task_id: str) -> Task:
        """Return the task; raises ``TaskLookupError`` if missing."""

    @abstractmethod
    async def get_tasks(self) -> list[Task]:
        """Return every task, sorted by id."""

    # --- schedules ---

    @abstractmethod
    async def add_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
        """Store ``schedule``.

        If one with the same id exists: ``replace`` replaces it (publishes
        ``ScheduleUpdated``), ``do_nothing`` keeps it, ``exception`` raises
        ``ConflictingIdError``. Otherwise publishes ``ScheduleAdded``.
        """

    @abstractmethod
    async def remove_schedules(self, ids: Iterable[str], *, finished: bool = False) -> None:
        """Remove the schedules with these ids (unknown ids are ignored); publishes
        ``ScheduleRemoved`` for each one removed."""

    @abstractmethod
    async def get_schedules(self, ids: Iterable[str] | None = None) -> list[Schedule]:
        """Return the schedules with these ids (``None``: all), sorted by id."""

    @abstractmethod
    async def acquire_schedules(
        self, scheduler_id: str, lease_duration: timedelta, limit: int, now: datetime
    ) -> list[Schedule]:
        """Lease up to ``limit`` unpaused schedules due at ``now`` (``next_fire_time <= now``)
        that nobody holds a lease on, or whose lease expired (``acquired_until < now``);
        earliest fire time first, then by id. The lease lasts until ``now + lease_duration``."""

    @abstractmethod
    async def release_schedules(
        self, scheduler_id: str, results: Iterable[ScheduleResult]
    ) -> None:
        """Store the advanced triggers and fire times of schedules this scheduler acquired and
        drop their leases. A result whose ``next_fire_time`` is ``None`` removes the schedule
        (``ScheduleRemoved(finished=True)``); others publish ``ScheduleUpdated``."""

    @abstractmethod
    async def get_next_schedule_run_time(self) -> datetime | None:
        """Return the earliest time an unpaused schedule can be acquired, or ``None``: its
        ``next_fire_time``, or for a leased schedule the later of that and the first instant
        after its lease (one microsecond after ``acquired_until``)."""

    # --- jobs ---

    @abstractmethod
    async def add_job(self, job: Job) -> None:
        """Store a job to be run (publishes ``JobAdded``). It is stored pending: any
        ``acquired_by``/``acquired_until`` it carries is ignored."""

    @abstractmethod
    async def get_jobs(self, ids: Iterable[UUID] | None = None) -> list[Job]:
        """Return the jobs with these ids (``None``: all) that have not finished, oldest
        first."""

    @abstractmethod
    async def acquire_jobs(
        self, scheduler_id: str, lease_duration: timedelta, limit: int | None, now: datetime
    ) -> list[Job]:
        """Lease up to ``limit`` jobs (``None``: no limit): pending ones and ones whose lease
        expired (``acquired_until < now``, taken over), in the order they were added,
        skipping pending jobs whose task already runs ``max_running_jobs`` jobs. Counts each
        newly acquired job in its task's ``running_jobs`` (a job taken over already is)."""

    @abstractmethod
    async def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
        """Record ``result`` for a job this scheduler holds, remove the job and uncount it
        from its task's ``running_jobs``. The result is kept until ``result.expires_at`` (not
        at all if that is not after ``result.finished_at``). Does nothing if this scheduler
        does not hold the job (abandoned, or taken over by another scheduler)."""

    @abstractmethod
    async def get_job_result(self, job_id: UUID) -> JobResult | None:
        """Return and forget the result of a finished job, or ``None`` if there is none."""

    # --- leases and housekeeping ---

    @abstractmethod
    async def extend_acquired_schedule_leases(
        self, scheduler_id: str, schedule_ids: set[str], duration: timedelta, now: datetime
    ) -> None:
        """Push the leases this scheduler holds on these schedules to ``now + duration``."""

    @abstractmethod
    async def extend_acquired_job_leases(
        self, scheduler_id: str, job_ids: set[UUID], duration: timedelta, now: datetime
    ) -> None:
        """Push the leases this scheduler holds on these jobs to ``now + duration``."""

    @abstractmethod
    async def cleanup(self, now: datetime) -> None:
        """Forget job results whose ``expires_at`` is at or before ``now``; drop expired
        schedule leases (``acquired_until < now``: nobody holds those schedules any more,
        ``ScheduleUpdated`` for each); and finish the jobs whose lease expired with the
        ``abandoned`` outcome, keeping a result for each (see the class docstring)."""

    # --- run history (optional: the default keeps none) ---

    async def get_run_history(
        self, schedule_id: str | None = None, since: datetime | None = None
    ) -> list[RunRecord]:
        """Return the run history: a :class:`~nbsched.RunRecord` per released job that the
        store still keeps, oldest release first.

        :param schedule_id: only this schedule's runs (``None``: every run)
        :param since: only runs that finished at or after this time

        The built-in stores write a record whenever :meth:`release_job` releases a job, and
        whenever :meth:`cleanup` abandons one, in the same transaction, and prune it by their
        ``history_retention`` (see :class:`~nbsched.HistoryRetention`) as they go. A store
        that keeps no history need not override this: the default returns an empty list.
        """
        return []


class DataStore(_DataStoreContract, metaclass=ABCMeta):
    """Synchronous, thread-safe data store: the same methods and contract as
    :class:`AsyncDataStore`, as plain functions. The scheduler runs them in a worker thread so
    that they never block its event loop."""

    @abstractmethod
    def start(self, event_broker: EventBroker | AsyncEventBroker) -> None:
        """Open the store and remember the broker to publish events on.

        See :meth:`AsyncDataStore.start`.
        """

    @abstractmethod
    def stop(self, *, force: bool = False) -> None:
        """Close the store. See :meth:`AsyncDataStore.stop`."""

    @abstractmethod
    def add_task(self, task: Task) -> None:
        """Add ``task``, or update the stored task with the same id.

        See :meth:`AsyncDataStore.add_task`.
        """

    @abstractmethod
    def remove_task(self, task_id: str) -> None:
        """Remove a task; raises ``TaskLookupError`` if missing.

        See :meth:`AsyncDataStore.remove_task`.
        """

    @abstractmethod
    def get_task(self, task_id: str) -> Task:
        """Return the task; raises ``TaskLookupError`` if missing.

        See :meth:`AsyncDataStore.get_task`.
        """

    @abstractmethod
    def get_tasks(self) -> list[Task]:
        """Return every task, sorted by id. See :meth:`AsyncDataStore.get_tasks`."""

    @abstractmethod
    def add_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
        """Store ``schedule``; an existing id is handled by ``conflict_policy``.

        See :meth:`AsyncDataStore.add_schedule`.
        """

    @abstractmethod
    def remove_schedules(self, ids: Iterable[str], *, finished: bool = False) -> None:
        """Remove the schedules with these ids (unknown ids are ignored).

        See :meth:`AsyncDataStore.remove_schedules`.
        """

    @abstractmethod
    def get_schedules(self, ids: Iterable[str] | None = None) -> list[Schedule]:
        """Return the schedules with these ids (``None``: all), sorted by id.

        See :meth:`AsyncDataStore.get_schedules`.
        """

    @abstractmethod
    def acquire_schedules(
        self, scheduler_id: str, lease_duration: timedelta, limit: int, now: datetime
    ) -> list[Schedule]:
        """Lease up to ``limit`` unpaused schedules due at ``now``.

        See :meth:`AsyncDataStore.acquire_schedules`.
        """

    @abstractmethod
    def release_schedules(self, scheduler_id: str, results: Iterable[ScheduleResult]) -> None:
        """Store the advanced schedules this scheduler acquired and drop their leases.

        See :meth:`AsyncDataStore.release_schedules`.
        """

    @abstractmethod
    def get_next_schedule_run_time(self) -> datetime | None:
        """Return the earliest time an unpaused schedule can be acquired, or ``None``.

        See :meth:`AsyncDataStore.get_next_schedule_run_time`.
        """

    @abstractmethod
    def add_job(self, job: Job) -> None:
        """Store a job to be run (pending). See :meth:`AsyncDataStore.add_job`."""

    @abstractmethod
    def get_jobs(self, ids: Iterable[UUID] | None = None) -> list[Job]:
        """Return the unfinished jobs with these ids (``None``: all), oldest first.

        See :meth:`AsyncDataStore.get_jobs`.
        """

    @abstractmethod
    def acquire_jobs(
        self, scheduler_id: str, lease_duration: timedelta, limit: int | None, now: datetime
    ) -> list[Job]:
        """Lease up to ``limit`` pending or taken-over jobs (``None``: no limit).

        See :meth:`AsyncDataStore.acquire_jobs`.
        """

    @abstractmethod
    def release_job(self, scheduler_id: str, job: Job, result: JobResult) -> None:
        """Record ``result`` for a job this scheduler holds and remove the job.

        See :meth:`AsyncDataStore.release_job`.
        """

    @abstractmethod
    def get_job_result(self, job_id: UUID) -> JobResult | None:
        """Return and forget the result of a finished job, or ``None``.

        See :meth:`AsyncDataStore.get_job_result`.
        """

    @abstractmethod
    def extend_acquired_schedule_leases(
        self, scheduler_id: str, schedule_ids: set[str], duration: timedelta, now: datetime
    ) -> None:
        """Push the leases this scheduler holds on these schedules to ``now + duration``.

        See :meth:`AsyncDataStore.extend_acquired_schedule_leases`.
        """

    @abstractmethod
    def extend_acquired_job_leases(
        self, scheduler_id: str, job_ids: set[UUID], duration: timedelta, now: datetime
    ) -> None:
        """Push the leases this scheduler holds on these jobs to ``now + duration``.

        See :meth:`AsyncDataStore.extend_acquired_job_leases`.
        """

    @abstractmethod
    def cleanup(self, now: datetime) -> None:
        """Forget expired results, drop expired schedule leases, abandon expired jobs.

        See :meth:`AsyncDataStore.cleanup`.
        """

    def get_run_history(
        self, schedule_id: str | None = None, since: datetime | None = None
    ) -> list[RunRecord]:
        """See :meth:`AsyncDataStore.get_run_history`; the default keeps no history."""
        return []
