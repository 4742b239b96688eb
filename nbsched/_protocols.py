"""The optional parts of the store and broker contracts, and what the notebook side needs of a
scheduler, declared as typing protocols (re-exported from :mod:`nbsched.abc`).

The abstract classes in :mod:`nbsched.abc` say what every store and broker must do. The
protocols here are what some of them *may* offer; the scheduler checks for them with
``isinstance`` (they are ``runtime_checkable``) instead of reading attributes by name:

* :class:`PollingStore`: other processes change the store without telling this one, so the
  scheduler looks at it again every ``poll_interval`` seconds even when nothing is due;
* :class:`SubscriberAware`: a broker that knows when nobody would receive an event, so the
  scheduler and the stores skip building it;
* :class:`ScheduleAdopter`: a store that can keep a schedule's trigger as it is given, so
  that a schedule added through the scheduler (which copies the user's trigger) is copied once,
  not twice;
* :class:`JobAdopter`: a store that can take the jobs the scheduler builds over as they are,
  a batch at a time, instead of copying each;
* :class:`JobReleaser`: a store that can release a job without a coroutine when it has
  nothing to await (one coroutine less per job);
* :class:`StoreWrapper`: a store that passes every call to the store it wraps (the scheduler
  wraps a synchronous store in :class:`~nbsched.datastores.sync_adapter.AsyncDataStoreAdapter`),
  so that the wrapped store's ``temporary_errors`` count, and notebook helpers can read a
  thread-safe synchronous store directly.

:class:`SchedulerLike` is what the widgets, timelines and history readers use of a scheduler:
both :class:`~nbsched.Scheduler` and :class:`~nbsched.AsyncScheduler` satisfy it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._clock import Clock
    from ._enums import ConflictPolicy
    from ._structures import Job, JobResult, Schedule
    from .abc import AsyncDataStore, DataStore, Subscription
    from .events import Event

__all__ = [
    "PollingStore",
    "JobAdopter",
    "JobReleaser",
    "ScheduleAdopter",
    "SchedulerLike",
    "StoreWrapper",
    "SubscriberAware",
    "sync_store_of",
]


@runtime_checkable
class PollingStore(Protocol):
    """A data store that other processes change without publishing the changes here (a
    SQLite file shared by several kernels; PostgreSQL, whose notifications may not reach
    every scheduler).

    While a scheduler has nothing due, it still looks at such a store at least every
    :attr:`poll_interval` seconds, so that a schedule another process added is noticed.
    """

    @property
    def poll_interval(self) -> float | None:
        """The longest, in seconds, the scheduler sleeps before looking at the store again
        (``None`` or ``0``: it need not look)."""


@runtime_checkable
class SubscriberAware(Protocol):
    """An event broker that can tell when an event would reach nobody.

    Publishers ask before they build events that are costly to build (one ``JobAcquired`` per
    acquired job, say). A broker without this method is assumed to have subscribers for
    everything; a broker that spans processes must answer for the other processes too, or
    leave the method out.
    """

    def has_subscribers(self, event_type: type[Event]) -> bool:
        """Whether an event of class ``event_type`` would reach any subscriber."""


@runtime_checkable
class ScheduleAdopter(Protocol):
    """A data store that can take a schedule's trigger over instead of copying it.

    ``add_schedule`` must keep a copy of what it is given, since its caller may go on using
    the object. The scheduler builds a new trigger (a copy of the user's, advanced to the
    first fire time) for each schedule it adds and never touches it again: it calls
    :meth:`adopt_schedule` instead, where a store that keeps live objects (the memory store)
    keeps that trigger itself. A store that serialises the trigger gains nothing from this.
    """

    async def adopt_schedule(self, schedule: Schedule, conflict_policy: ConflictPolicy) -> None:
        """As ``add_schedule``, but the store may keep ``schedule.trigger`` itself: nothing
        else holds it. Arguments and metadata are the caller's (copy them as usual)."""


@runtime_checkable
class JobAdopter(Protocol):
    """A data store that can take jobs over instead of copying them.

    ``add_job`` must keep a copy of the job it is given, since its caller may go on using the
    object. The scheduler builds each job of a due schedule for that call and never touches it
    again: it hands a batch's jobs to :meth:`adopt_jobs` at once, where a store that keeps live
    objects (the memory store) keeps the jobs themselves, with one wake-up of its listeners
    for the batch. A store that serialises jobs gains nothing from this.
    """

    async def adopt_jobs(self, jobs: list[Job]) -> None:
        """As ``add_job`` for each of ``jobs`` in order, but the store may keep the ``Job``
        objects themselves: nothing else holds them. Their arguments and metadata are the
        caller's (copy them as usual)."""


@runtime_checkable
class JobReleaser(Protocol):
    """A data store that can release a job synchronously.

    The scheduler releases every job it ran; ``release_job`` is a coroutine, which costs a
    noticeable part of a trivial job's run. A store that keeps everything in this process
    (the memory store) usually has nothing to await there: the scheduler calls
    :meth:`release_job_now` first, and awaits ``release_job`` only when it returns False.
    """

    def release_job_now(self, scheduler_id: str, job: Job, result: JobResult) -> bool:
        """Do what ``release_job`` does and return True, or do nothing and return False
        when that needs awaiting (an event to publish through an async broker, say)."""


@runtime_checkable
class StoreWrapper(Protocol):
    """A data store that passes every call to another store, :attr:`original`."""

    @property
    def original(self) -> DataStore | AsyncDataStore:
        """The wrapped store."""


def sync_store_of(store: object) -> DataStore | None:
    """The synchronous store ``store`` wraps, or ``None``.

    A synchronous store is thread-safe, so the notebook helpers read it directly (no event
    loop needed) instead of going through the wrapper's worker thread.
    """
    from .abc import DataStore

    if isinstance(store, StoreWrapper) and isinstance(store.original, DataStore):
        return store.original
    return None


class SchedulerLike(Protocol):
    """What the widgets, timelines and history readers use of a scheduler.

    Both :class:`~nbsched.Scheduler` (whose ``get_schedules()`` returns the list) and
    :class:`~nbsched.AsyncScheduler` (whose ``get_schedules()`` is awaited) satisfy it.
    """

    @property
    def data_store(self) -> AsyncDataStore:
        """The store, as the scheduler calls it (a sync store is wrapped)."""

    @property
    def clock(self) -> Clock:
        """The scheduler's source of time."""

    @property
    def identity(self) -> str:
        """The scheduler's id (``scheduler_id`` in the run history)."""

    @property
    def max_concurrent_jobs(self) -> int:
        """How many jobs the scheduler runs at once (the simulation runs as many)."""

    def subscribe(
        self,
        callback: Callable[[Event], Any],
        event_types: Iterable[type[Event]] | type[Event] | None = None,
        *,
        one_shot: bool = False,
    ) -> Subscription:
        """Call ``callback(event)`` for every event (of ``event_types``, if given)."""

    def get_schedules(self) -> list[Schedule] | Awaitable[list[Schedule]]:
        """Every schedule: a list, or an awaitable of it (``AsyncScheduler``)."""


if TYPE_CHECKING:
    # mypy checks here that both schedulers keep satisfying SchedulerLike
    from ._schedulers.async_ import AsyncScheduler
    from ._schedulers.sync import Scheduler

    def _both_schedulers_are_scheduler_like(
        async_scheduler: AsyncScheduler, scheduler: Scheduler
    ) -> tuple[SchedulerLike, SchedulerLike]:
        return async_scheduler, scheduler
