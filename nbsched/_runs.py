"""How the runs of each schedule went, from a scheduler's job events: the counts and last
outcome the dashboard and a scheduled cell's status line show, and the recent runs timeline
charts draw as past runs.

One class, :class:`RunTracker`: :func:`track_runs` gives a scheduler's own (the notebook layer
starts it at ``%load_ext``; its dashboards, status lines and charts read it); a dashboard made
without one counts from when it was made. Kept apart from :mod:`nbsched.timelines` and
:mod:`nbsched.widgets` so that recording starts without importing pandas or ipywidgets.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ._enums import JobOutcome
from ._protocols import SchedulerLike
from .events import (
    Event,
    JobAcquired,
    JobReleased,
    ScheduleAdded,
    ScheduleRemoved,
    ScheduleUpdated,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RECENT_RUNS",
    "RunHistory",
    "RunStats",
    "RunTracker",
    "apast_runs",
    "past_runs",
    "track_runs",
]

#: How many recent runs a :class:`RunTracker` keeps for charts.
RECENT_RUNS = 1000


@dataclass(slots=True)
class RunStats:
    """What the runs of one schedule did so far (since the tracker started).

    :ivar runs: finished runs
    :ivar failures: runs that ended in an error
    :ivar running: a run is in progress
    :ivar queued: a run was acquired and waits for its turn (a scheduled cell waits for the
        kernel, which runs one cell at a time)
    :ivar last_outcome: how the last run ended
    :ivar last_duration: how long it took
    :ivar last_lateness: how long after its scheduled time it started (a busy kernel delays
        every fire: this shows by how much)
    :ivar last_error: ``"ExceptionType: message"`` of the last failed run
    :ivar last_scheduler: the identity of the scheduler that ran the last run
        (``JobReleased.scheduler_id``; with a shared store, maybe another kernel or host)
    :ivar ended: ``"finished"`` (its trigger ran out of fire times) or ``"removed"`` once the
        schedule is gone from the store; ``None`` while it is there
    :ivar ended_at: when it ended
    :ivar trigger: how its trigger reads (``str(trigger)``) as last seen in the store: the
        event that says a schedule ended does not say, so an ended schedule shows this
    """

    runs: int = 0
    failures: int = 0
    running: bool = False
    queued: bool = False
    last_outcome: JobOutcome | None = None
    last_duration: timedelta | None = None
    last_lateness: timedelta | None = None
    last_error: str | None = None
    last_scheduler: str | None = None
    ended: str | None = None
    ended_at: datetime | None = None
    trigger: str | None = None


class RunTracker:
    """Keeps :class:`RunStats` per schedule id from a scheduler's job events.

    Jobs started by hand for a schedule (``run now``) have no schedule id of their own; call
    :meth:`adopt` with the job id to count them for the schedule.

    An acquired job counts as running, except for the schedules ``reports_start`` picks:
    theirs are queued until :meth:`started` is called (scheduled cells wait for the kernel).

    It also notes when a schedule ends (:attr:`RunStats.ended`): a finished schedule keeps its
    run count, and the trigger text its readers noted (:meth:`note_trigger`), so that a
    dashboard opened after the last run still shows what it was and how it went.

    And it keeps the last ``maxlen`` runs of schedules, oldest dropped first, for charts of
    past runs (:meth:`frame`); a job started by hand is not among them.
    """

    def __init__(self, scheduler: SchedulerLike, maxlen: int = RECENT_RUNS):
        self.stats: dict[str, RunStats] = {}
        self._recent: deque[tuple[str, datetime, str]] = deque(maxlen=maxlen)
        self.reports_start: Callable[[str], bool] = lambda _schedule_id: False
        self._adopted: dict[UUID, str] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._subscription = scheduler.subscribe(
            self._on_event,
            [JobAcquired, JobReleased, ScheduleAdded, ScheduleUpdated, ScheduleRemoved],
        )

    def adopt(self, job_id: UUID, schedule_id: str) -> None:
        """Count the job ``job_id`` as a run of ``schedule_id``."""
        self._adopted[job_id] = schedule_id

    def note_trigger(self, schedule_id: str, text: str) -> None:
        """Remember that the trigger of ``schedule_id`` reads ``text`` (for when it ends).

        Whoever reads a live schedule (a dashboard, ``%sched list``, a scheduled cell) notes
        it: the schedule events carry no trigger, and the store forgets it when it ends.
        """
        self.stats.setdefault(schedule_id, RunStats()).trigger = text

    def forget(self, schedule_id: str) -> None:
        """Count the runs of ``schedule_id`` from zero (its definition was replaced)."""
        if self.stats.pop(schedule_id, None) is not None:
            self._notify(schedule_id)

    def started(self, schedule_id: str) -> None:
        """A queued run of ``schedule_id`` has started."""
        stats = self.stats.setdefault(schedule_id, RunStats())
        stats.queued, stats.running = False, True
        self._notify(schedule_id)

    def _notify(self, schedule_id: str) -> None:
        for listener in list(self._listeners):
            listener(schedule_id)

    def listen(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(schedule_id)`` whenever that schedule's stats change."""
        self._listeners.append(callback)

    def unlisten(self, callback: Callable[[str], None]) -> None:
        """Stop calling ``callback`` (given to :meth:`listen`)."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def close(self) -> None:
        """Stop tracking."""
        self._subscription.unsubscribe()
        self._listeners.clear()

    def frame(self) -> pd.DataFrame:
        """The recent runs: ``schedule_id``, ``fire_time`` (UTC), ``outcome`` (its name)."""
        import pandas as pd

        runs = list(self._recent)
        return pd.DataFrame(
            {
                "schedule_id": pd.Series([r[0] for r in runs], dtype=object),
                "fire_time": pd.to_datetime([r[1] for r in runs], utc=True),
                "outcome": pd.Series([r[2] for r in runs], dtype=object),
            }
        )

    def _schedule_of(self, event: JobAcquired | JobReleased, *, last: bool) -> str | None:
        if event.schedule_id is not None:
            return event.schedule_id
        if last:
            return self._adopted.pop(event.job_id, None)
        return self._adopted.get(event.job_id)

    def _on_schedule_event(self, event: ScheduleAdded | ScheduleUpdated | ScheduleRemoved) -> None:
        stats = self.stats.get(event.schedule_id)
        if isinstance(event, ScheduleRemoved):
            stats = self.stats.setdefault(event.schedule_id, RunStats())
            stats.ended = "finished" if event.finished else "removed"
            stats.ended_at = event.timestamp
        elif stats is None or stats.ended is None:
            return
        else:  # the same id is scheduled again
            stats.ended = stats.ended_at = None
        self._notify(event.schedule_id)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, (ScheduleAdded, ScheduleUpdated, ScheduleRemoved)):
            self._on_schedule_event(event)
            return
        if isinstance(event, JobAcquired):
            schedule_id = self._schedule_of(event, last=False)
            if schedule_id is None:
                return
            stats = self.stats.setdefault(schedule_id, RunStats())
            if self.reports_start(schedule_id):
                stats.queued = True
            else:
                stats.running = True
        elif isinstance(event, JobReleased):
            if event.schedule_id is not None:
                when = event.scheduled_start or event.started_at or event.timestamp
                self._recent.append((event.schedule_id, when, event.outcome.name))
            schedule_id = self._schedule_of(event, last=True)
            if schedule_id is None:
                return
            stats = self.stats.setdefault(schedule_id, RunStats())
            stats.running = stats.queued = False
            stats.runs += 1
            stats.last_scheduler = event.scheduler_id or None
            stats.last_outcome = event.outcome
            stats.last_duration = (
                event.finished_at - event.started_at
                if event.finished_at is not None and event.started_at is not None
                else None
            )
            stats.last_lateness = (
                event.started_at - event.scheduled_start
                if event.started_at is not None and event.scheduled_start is not None
                else None
            )
            if event.outcome is not JobOutcome.success:
                stats.failures += 1
                stats.last_error = (
                    f"{event.exception_type}: {event.exception_message}"
                    if event.exception_type
                    else event.outcome.name
                )
        else:
            return
        self._notify(schedule_id)


#: The earlier name of :class:`RunTracker`, when it only kept the recent runs for charts.
RunHistory = RunTracker

_trackers: weakref.WeakKeyDictionary[Any, RunTracker] = weakref.WeakKeyDictionary()


def track_runs(scheduler: SchedulerLike) -> RunTracker:
    """Start (or return the already started) :class:`RunTracker` of ``scheduler``.

    ``%load_ext nbsched`` calls it for the kernel's scheduler, so timeline charts show every
    run since the extension was loaded, and its dashboards and status lines count them.
    """
    tracker = _trackers.get(scheduler)
    if tracker is None:
        tracker = _trackers[scheduler] = RunTracker(scheduler)
    return tracker


def _tracked(scheduler: SchedulerLike) -> pd.DataFrame | None:
    tracker = _trackers.get(scheduler)
    return None if tracker is None else tracker.frame()


def past_runs(scheduler: SchedulerLike) -> pd.DataFrame | None:
    """The runs of ``scheduler``: from its store's run history when it keeps one that can be
    read without awaiting (so they survive a restart), else those recorded since
    :func:`track_runs` was called, if it was. On a store that must be awaited (PostgreSQL)
    use :func:`apast_runs`."""
    from ._history_frame import stored_past_runs

    stored = stored_past_runs(scheduler)
    return _tracked(scheduler) if stored is None else stored


async def apast_runs(scheduler: SchedulerLike) -> pd.DataFrame | None:
    """Like :func:`past_runs`, awaiting the store's run history: on PostgreSQL, the runs every
    scheduler on the schema did (a second kernel sees the first one's runs)."""
    from ._history_frame import astored_past_runs

    stored = await astored_past_runs(scheduler)
    return _tracked(scheduler) if stored is None else stored
