"""The kernel's scheduler: one :class:`NotebookScheduler` per kernel, made by ``%load_ext``.

It owns the :class:`~nbsched.AsyncScheduler` running as one task on the kernel's own event loop,
the output area of every scheduled cell, the run statistics the dashboards show, and the file
store choice. Magics run synchronously on the loop's thread and cannot await the scheduler, so
they hand their work to :meth:`NotebookScheduler.submit` (an :class:`._operations.OperationQueue`),
which runs it as soon as the cell returns, in submission order; results appear in small widgets
the magic displayed.

This module holds the scheduler's life (start, store switch hand-over, stop) and the dashboards;
the other jobs are parts, one module each (see :mod:`._holder_core`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import ipywidgets as widgets

from .._exceptions import SchedulerNotRunningError
from .._runs import RunStats, track_runs
from ..events import (
    JobAdded,
    ScheduleAdded,
    ScheduleRemoved,
    SchedulerStopped,
    ScheduleUpdated,
)
from ..widgets._store_status import on_store_status_change
from ..widgets.dashboard import Dashboard
from ._cell_schedules import CellSchedules
from ._cell_spec import (
    CELL_METADATA_KEY,
    CellSpec,
    cell_identity,
    default_schedule_id,
    kernel_identity,
)
from ._cell_status import StatusLines
from ._current import current
from ._operations import OperationQueue, Report
from ._restored_cells import RestoredCells
from ._scheduler_factory import new_scheduler
from ._status_line import dashboard_note
from ._store_choice import describe_store
from ._store_switch import ExplainedError, StoreSwitch
from ._visibility import ViewWatch

__all__ = [
    "CELL_METADATA_KEY",
    "CellSpec",
    "NotebookScheduler",
    "cell_identity",
    "current",
    "default_schedule_id",
    "kernel_identity",
]

#: How many ``%sched`` dashboards keep updating at once (older ones freeze).
LIVE_DASHBOARDS = 3


class NotebookScheduler(CellSchedules, RestoredCells, StatusLines, StoreSwitch):
    """The kernel's scheduler and everything the notebook layer keeps about it.

    :param shell: the IPython shell
    :param store_path: a SQLite file to keep schedules in, or a ``postgresql://`` URL of a
        database shared with other kernels (``None``: memory)
    :param clock: the scheduler's clock (tests pass a :class:`~nbsched.FakeClock`)
    """

    def __init__(self, shell: Any, *, store_path: str | None = None, clock: Any = None):
        self.shell = shell
        self.clock = clock
        self.store_path = None
        self.outputs = {}
        self._cell_numbers = {}
        self._shown_in = {}
        self._info = {}
        self.dashboards = []
        self.scheduler = None
        self.tracker = None
        self._subscriptions: list[Any] = []
        self.operations = OperationQueue(self.describe_error)
        self._status_pending = set()
        self._firing = set()
        self._closed = False
        self.stopped_because: str | None = None
        self.restored_area = None
        self._adopting = set()
        self._untrusted = set()
        self._warned = set()
        self.preparing = None
        self._start_scheduler(store_path)
        self.views = ViewWatch(self.clock, self._shown_changed)

    # --- the scheduler ----------------------------------------------------------------------

    def _start_scheduler(self, store_path: str | None) -> None:
        scheduler, store_path = new_scheduler(store_path, self.clock)
        self.clock = scheduler.clock
        self._attach(scheduler, store_path)

    def _attach(self, scheduler: Any, store_path: str | None) -> None:
        """Start ``scheduler`` in the background and follow its events (the run counts go
        on from where the previous scheduler's were: a store switch is the same schedules)."""
        self.stopped_because = None
        scheduler.start_in_background()
        self.scheduler = scheduler
        self.store_path = store_path
        counted: dict[str, RunStats] = self.tracker.stats if self.tracker is not None else {}
        # the scheduler's own tracker: run counts for the status lines and dashboards, and the
        # past runs of timeline charts, from the start
        self.tracker = track_runs(scheduler)
        self.tracker.stats.update(counted)
        # a cell's run waits for the kernel after it is acquired; run_cell says when it starts
        self.tracker.reports_start = self.outputs.__contains__
        self.tracker.listen(self._update_status)
        self._subscriptions = [
            scheduler.subscribe(
                self._on_event, [ScheduleAdded, ScheduleUpdated, ScheduleRemoved, JobAdded]
            ),
            scheduler.subscribe(self._on_stopped, [SchedulerStopped]),
            on_store_status_change(scheduler, self._update_all_statuses),
        ]

    @property
    def store_description(self) -> str:
        """Where the schedules are kept, for messages (a database URL without its password)."""
        return describe_store(self.store_path)

    def _on_stopped(self, event: SchedulerStopped) -> None:
        if event.exception:
            self.stopped_because = event.exception

    def describe_error(self, exc: BaseException) -> str:
        """One line about ``exc``; for "not running", the reason the scheduler stopped."""
        if isinstance(exc, ExplainedError):
            return str(exc)
        if isinstance(exc, SchedulerNotRunningError) and self.stopped_because:
            return f"the scheduler stopped: {self.stopped_because}"
        text = str(exc)
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def start(
        self,
        restored: widgets.VBox | None = None,
        report: Report | None = None,
    ) -> asyncio.Task[Any]:
        """Finish starting: register the cell task, restore stored cell schedules (their output
        areas go into ``restored``)."""
        self.preparing = self.submit(
            "start the scheduler", lambda: self._prepare(restored), report=report
        )
        return self.preparing

    # --- ordered operations ------------------------------------------------------------------

    def submit(
        self,
        what: str,
        factory: Callable[[], Coroutine[Any, Any, Any]],
        *,
        report: Report | None = None,
    ) -> asyncio.Task[Any]:
        """Run ``factory()`` after every operation submitted before it: see
        :meth:`._operations.OperationQueue.submit`, which this kernel's :attr:`operations` does."""
        return self.operations.submit(what, factory, report=report)

    def _track(self, task: asyncio.Task[Any]) -> None:
        self.operations.track(task)

    async def settle(self) -> None:
        """Wait until every submitted operation and status update has finished (and sent)."""
        await self.operations.wait()
        for route in self.outputs.values():
            route.flush_status()

    # --- dashboards ---------------------------------------------------------------------------

    def dashboard(self) -> Dashboard:
        """A new live :class:`~nbsched.widgets.Dashboard` (the oldest live ones freeze)."""
        board = Dashboard(
            self.scheduler, tracker=self.tracker, resume=self.resume, annotate=self.annotate
        )
        self.views.watch(board)  # a witness: its views show that a front end is there
        self.dashboards.append(board)
        while len(self.dashboards) > LIVE_DASHBOARDS:
            self.dashboards.pop(0).freeze("frozen: a newer dashboard is below (run %sched again)")
        return board

    def annotate(self, schedule: Any) -> str:
        """What the dashboard shows under a schedule's id (see :func:`dashboard_note`)."""
        return dashboard_note(schedule, not_shown=self.views.not_shown)

    def _shown_changed(self, schedule_id: str, shown: bool) -> None:
        info = self._info.get(schedule_id)
        if info is not None:
            info.shown = shown
            self._update_status(schedule_id)
        for board in self.dashboards:
            board.request_refresh()

    def _detach(self) -> None:
        """Stop following the scheduler (it is replaced, or stops)."""
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions = []
        if self.tracker is not None:
            # the tracker stays the scheduler's (its past runs for charts, and for the
            # scheduler a failed store switch goes back to); this holder stops following it
            self.tracker.unlisten(self._update_status)
        for board in self.dashboards:
            board.stop_updating()
            board.status.value = "<i>the scheduler was replaced: run <code>%sched</code></i>"
        self.dashboards.clear()

    # --- stopping -----------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the scheduler to stop (it finishes on the loop); safe from the loop's thread."""
        if self._closed:
            return
        self._closed = True
        self.views.close()
        self._detach()
        if self.scheduler is not None:
            self.scheduler.request_stop()

    async def stop(self) -> None:
        """Stop the scheduler and wait for it."""
        self.request_stop()
        await self.scheduler.wait_until_stopped()
