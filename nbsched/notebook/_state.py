"""The kernel's scheduler: one :class:`NotebookScheduler` per kernel, made by ``%load_ext``.

It owns the :class:`~nbsched.AsyncScheduler` running as one task on the kernel's own event loop,
the output area of every scheduled cell, the run statistics the dashboards show, and the file
store choice. Magics run synchronously on the loop's thread and cannot await the scheduler, so
they hand their work to :meth:`NotebookScheduler.submit`, which runs it as soon as the cell
returns, in submission order (a ``%sched pause x`` never overtakes the ``%%every --id x`` cell
above it); results appear in small widgets the magic displayed.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import ipywidgets as widgets

from .._enums import CoalescePolicy, ConflictPolicy
from .._exceptions import NbschedError, SchedulerNotRunningError
from .._runs import track_runs
from ..events import Event, ScheduleAdded, ScheduleRemoved, SchedulerStopped, ScheduleUpdated
from ..widgets._format import trigger_zone
from ..widgets._store_status import on_store_status_change
from ..widgets.dashboard import Dashboard, RunStats, RunTracker
from ._cell_output import CellOutput
from ._cell_spec import (
    CELL_METADATA_KEY,
    CellSpec,
    cell_identity,
    default_schedule_id,
    kernel_identity,
)
from ._cell_task import TASK_ID, run_cell
from ._cell_trigger import CellTrigger
from ._cell_trust import (
    pause_untrusted,
    secret_problem_html,
    sign_and_resume,
    signed_cell,
    signed_for_move,
    warning_html,
)
from ._kept_runs import stored_keep
from ._status_line import RouteInfo, cell_status_html, dashboard_note
from ._store_choice import describe_store, is_postgresql_dsn, record_store
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

_logger = logging.getLogger(__name__)
_current: NotebookScheduler | None = None


def current() -> NotebookScheduler | None:
    """The kernel's scheduler holder, or ``None`` before ``%load_ext nbsched``."""
    return _current


def _set_current(holder: NotebookScheduler | None) -> None:
    global _current
    _current = holder


class NotebookScheduler:
    """The kernel's scheduler and everything the notebook layer keeps about it.

    :param shell: the IPython shell
    :param store_path: a SQLite file to keep schedules in, or a ``postgresql://`` URL of a
        database shared with other kernels (``None``: memory)
    :param clock: the scheduler's clock (tests pass a :class:`~nbsched.FakeClock`)
    """

    def __init__(self, shell: Any, *, store_path: str | None = None, clock: Any = None):
        self.shell = shell
        self.clock = clock
        self.store_path: str | None = None
        self.outputs: dict[str, CellOutput] = {}
        self._cell_numbers: dict[str, int | None] = {}
        #: the box each restored output area was put in (the %load_ext or %sched store cell's)
        self._shown_in: dict[str, widgets.Box] = {}
        self._info: dict[str, RouteInfo] = {}
        self.dashboards: list[Dashboard] = []
        self.scheduler: Any = None
        self.tracker: RunTracker | None = None
        self._subscriptions: list[Any] = []
        self._tail: asyncio.Task[Any] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._status_pending: set[str] = set()
        self._closed = False
        self.stopped_because: str | None = None
        #: where the output of cell schedules found in the store (restored at start, or added
        #: by another kernel sharing the store) goes
        self.restored_area: widgets.VBox | None = None
        self._adopting: set[str] = set()
        #: ids of the stored cell schedules this user did not sign (paused until resumed)
        self._untrusted: set[str] = set()
        self._warned: set[str] = set()  # those named in the restored area's warnings
        #: restoring the store's cell schedules (their output areas); a run due meanwhile
        #: waits for it, so that its output lands in its area
        self.preparing: asyncio.Task[Any] | None = None
        self._start_scheduler(store_path)
        #: which scheduled cells are no longer shown in any front end (see _visibility)
        self.views = ViewWatch(self.clock, self._shown_changed)

    # --- the scheduler ----------------------------------------------------------------------

    def _start_scheduler(self, store_path: str | None) -> None:
        from .._schedulers.async_ import AsyncScheduler

        store: Any = None
        broker: Any = None
        if store_path is not None and is_postgresql_dsn(store_path):
            # shared with every kernel pointing at the database: the broker's LISTEN/NOTIFY
            # shows each kernel the others' changes and runs at once
            from ..datastores.postgresql import PostgreSQLDataStore
            from ..eventbrokers.postgresql import PostgreSQLEventBroker

            store = PostgreSQLDataStore(store_path)
            broker = PostgreSQLEventBroker(store_path)
        elif store_path is not None:
            from ..datastores.sqlite import SQLiteDataStore

            store_path = os.path.abspath(os.path.expanduser(store_path))
            store = SQLiteDataStore(store_path)
        scheduler = AsyncScheduler(store, broker, identity=kernel_identity(), clock=self.clock)
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
        self.tracker = RunTracker(scheduler)
        self.tracker.stats.update(counted)
        # a cell's run waits for the kernel after it is acquired; run_cell says when it starts
        self.tracker.reports_start = self.outputs.__contains__
        self.tracker.listen(self._update_status)
        track_runs(scheduler)  # past runs for timeline charts, from the start
        self._subscriptions = [
            scheduler.subscribe(self._on_event, [ScheduleAdded, ScheduleUpdated, ScheduleRemoved]),
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
        if isinstance(exc, _Explained):
            return str(exc)
        if isinstance(exc, SchedulerNotRunningError) and self.stopped_because:
            return f"the scheduler stopped: {self.stopped_because}"
        text = str(exc)
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    async def _prepare(self, restored: widgets.VBox | None) -> list[str]:
        """Register the cell task and give restored cell schedules an output area."""
        await self.scheduler.configure_task(TASK_ID, func=run_cell, job_executor="loop")
        problem = secret_problem_html()
        if restored is not None:
            self.restored_area = restored
            self._warned = set()  # a new area: name the untrusted schedules there
            if problem is not None:
                restored.children = (widgets.HTML(problem), *restored.children)
        reviewed = await self._reviewed(await self.scheduler.get_schedules(), restored)
        return [s.id for s in reviewed if self._restore(s, restored, "restored")]

    async def _reviewed(self, schedules: list[Any], area: widgets.VBox | None) -> list[Any]:
        """``schedules``, the cell schedules among them that this user did not sign paused
        (and named in a warning at the top of ``area``)."""
        untrusted = await pause_untrusted(self.scheduler, schedules)
        self._untrusted.update(untrusted)
        unnamed = [i for i in untrusted if i not in self._warned]  # pausing one wakes _adopt
        if unnamed and area is not None:
            self._warned.update(unnamed)
            warning = widgets.HTML(warning_html(unnamed, self.store_description))
            area.children = (warning, *area.children)
        return [s.copy(paused=True) if s.id in untrusted else s for s in schedules]

    def _restore(self, schedule: Any, area: widgets.VBox | None, state: str) -> bool:
        """Give a stored cell schedule an output area in ``area``; False if not a cell's."""
        details = schedule.metadata.get(CELL_METADATA_KEY)
        if schedule.task_id != TASK_ID or not isinstance(details, dict):
            return False
        if schedule.id in self.outputs:
            return True
        keep, append = stored_keep(details.get("keep")), bool(details.get("append"))
        route = CellOutput(schedule.id, append=append, keep=keep)
        self.outputs[schedule.id] = route
        self.views.watch(route.widget, schedule.id)
        self._info[schedule.id] = RouteInfo(
            trigger_text=str(schedule.trigger),
            trigger_tz=trigger_zone(schedule.trigger),
            next_fire_time=schedule.next_fire_time,
            paused=schedule.paused,
            state="untrusted" if schedule.id in self._untrusted else state,
            stop_on_error=bool(details.get("stop_on_error")),
        )
        self._update_status(schedule.id)
        if area is not None:
            area.children = (*area.children, route.widget)
            self._shown_in[schedule.id] = area
        return True

    def _adopt(self, schedule_id: str) -> None:
        """A cell schedule another kernel added to the shared store: show its runs here too
        (the runs this kernel takes execute here, in this kernel's namespace)."""
        if schedule_id in self._adopting or self._closed or self.restored_area is None:
            return
        self._adopting.add(schedule_id)
        area = self.restored_area

        async def adopt() -> None:
            try:
                schedule = await self.scheduler.get_schedule(schedule_id)
            except Exception:  # removed again meanwhile, or the scheduler stopped
                return
            finally:
                self._adopting.discard(schedule_id)
            (schedule,) = await self._reviewed([schedule], area)
            self._restore(schedule, area, "from another kernel")

        self._track(asyncio.get_running_loop().create_task(adopt()))

    def start(
        self,
        restored: widgets.VBox | None = None,
        report: Callable[[str | None, BaseException | None], None] | None = None,
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
        report: Callable[[str | None, BaseException | None], None] | None = None,
    ) -> asyncio.Task[Any]:
        """Run ``factory()`` on the loop after every operation submitted before it.

        ``report(None, None)`` is called on success, ``report(message, exc)`` on failure
        (the message reads "could not <what>: <error>"); without ``report`` failures are logged.
        """
        loop = asyncio.get_running_loop()
        previous = self._tail

        async def run() -> Any:
            if previous is not None and not previous.done():
                await asyncio.wait({previous})
            return await factory()

        task = loop.create_task(run())
        self._tail = task
        self._track(task)

        def done(task: asyncio.Task[Any]) -> None:
            if task.cancelled():
                return
            exc = task.exception()
            message = None if exc is None else f"could not {what}: {self.describe_error(exc)}"
            if report is not None:
                report(message, exc)
            elif exc is not None:
                _logger.error("%s", message)

        task.add_done_callback(done)
        return task

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settle(self) -> None:
        """Wait until every submitted operation and status update has finished (and sent)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        for route in self.outputs.values():
            route.flush_status()

    # --- scheduled cells ---------------------------------------------------------------------

    def define_cell(self, spec: CellSpec) -> CellOutput:
        """Schedule a cell (replacing its earlier schedule) and return its output area."""
        route = CellOutput(spec.schedule_id, append=spec.append, keep=spec.keep)
        self._retire(spec.schedule_id)
        # the magic runs inside the cell: this is the cell's own In[n]
        self._cell_numbers[spec.schedule_id] = getattr(self.shell, "execution_count", None)
        self.views.watch(route.widget, spec.schedule_id)
        if self.tracker is not None:  # a new definition: its runs count from zero
            self.tracker.forget(spec.schedule_id)
        self.outputs[spec.schedule_id] = route
        self._info[spec.schedule_id] = RouteInfo(
            trigger_text=str(spec.trigger),
            trigger_tz=trigger_zone(spec.trigger),
            stop_on_error=spec.stop_on_error,
        )
        self._update_status(spec.schedule_id)

        def report(message: str | None, exc: BaseException | None) -> None:
            if message is not None:
                self._info[spec.schedule_id].state = "failed"
                route.set_status(f"<span style='color:#c62828'>{html.escape(message)}</span>")

        self.submit(f"schedule {spec.schedule_id!r}", lambda: self._define(spec), report=report)
        return route

    async def _define(self, spec: CellSpec) -> None:
        scheduler = self.scheduler
        if spec.cell_id is not None:
            # the same cell run again under another --id: its old schedule goes
            for schedule in await scheduler.get_schedules():
                details = schedule.metadata.get(CELL_METADATA_KEY)
                if (
                    schedule.id != spec.schedule_id
                    and isinstance(details, dict)
                    and details.get("cell_id") == spec.cell_id
                ):
                    await scheduler.remove_schedule(schedule.id)
                    self._retire(schedule.id)
                    self._info.pop(schedule.id, None)
        counted = isinstance(spec.trigger, CellTrigger) and spec.trigger.times is not None
        # --times N counts fire times: with "all", fires that fell due while the kernel was
        # busy each still run (late) instead of being merged into one run that would count
        # for several
        coalesce = CoalescePolicy.all if counted else CoalescePolicy.latest
        kwargs, metadata = signed_cell(spec, coalesce=coalesce.name)
        await scheduler.add_schedule(
            TASK_ID,
            spec.trigger,
            id=spec.schedule_id,
            kwargs=kwargs,
            metadata=metadata,
            coalesce=coalesce,
            conflict_policy=ConflictPolicy.replace,
        )
        info = self._info.get(spec.schedule_id)
        if info is not None and info.state == "scheduling…":
            info.state = ""
        self._refresh_status(spec.schedule_id)

    def _retire(self, schedule_id: str) -> None:
        """Close the output area of ``schedule_id`` (replaced by a new definition), taking it
        out of the box it was restored into first: a shown box that keeps a closed widget is
        drawn by no front end after a reload, nor is anything else of the kernel's widgets."""
        route = self.outputs.pop(schedule_id, None)
        area = self._shown_in.pop(schedule_id, None)
        if route is None:
            return
        self.views.forget(schedule_id)
        if area is not None and route.widget in area.children:
            area.children = tuple(child for child in area.children if child is not route.widget)
        route.close()

    async def resume(self, schedule_id: str) -> None:
        """Resume a paused schedule, skipping the fire times that passed while it was paused
        (a cell's ``--times N`` does not count them: its trigger's ``resume_at`` hook). A cell
        schedule this user had not signed is signed: resuming it says its code may run."""
        await sign_and_resume(self.scheduler, schedule_id)
        self._untrusted.discard(schedule_id)
        info = self._info.get(schedule_id)
        if info is not None and info.state == "untrusted":
            info.state = ""

    def cell_label(self, schedule_id: str) -> int | str:
        """How tracebacks name a scheduled cell: the In[n] of the cell that scheduled it in
        this kernel, else (restored from a store) the schedule's id."""
        number = self._cell_numbers.get(schedule_id)
        return number if isinstance(number, int) else schedule_id

    def run_started(self, schedule_id: str) -> None:
        """Called by a cell run as it starts: "queued" becomes "running…" (sent at once,
        before the cell's code keeps the kernel busy)."""
        if self.tracker is not None:
            self.tracker.started(schedule_id)

    def run_failed(self, schedule_id: str) -> None:
        """Called by a cell run that raised: pause the schedule if it asked for that."""
        info = self._info.get(schedule_id)
        if info is not None and info.stop_on_error:
            info.state = "paused after an error"
            self.submit(
                f"pause {schedule_id!r}", lambda: self.scheduler.pause_schedule(schedule_id)
            )

    # --- status lines -------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        schedule_id = getattr(event, "schedule_id", None)
        if schedule_id not in self._info:
            if (
                isinstance(event, (ScheduleAdded, ScheduleUpdated))
                and event.task_id == TASK_ID
                and schedule_id is not None
            ):
                self._adopt(schedule_id)
            return
        info = self._info[schedule_id]
        if isinstance(event, ScheduleRemoved):
            info.state = "finished" if event.finished else "removed"
            info.next_fire_time = None
            self._update_status(schedule_id)
        else:
            info.next_fire_time = event.next_fire_time  # type: ignore[attr-defined]
            self._update_status(schedule_id)
            self._refresh_status(schedule_id)

    def _refresh_status(self, schedule_id: str) -> None:
        """Reread a schedule (for its paused flag and trigger text) and redraw its status."""
        if schedule_id in self._status_pending or self._closed:
            return
        self._status_pending.add(schedule_id)

        async def reread() -> None:
            try:
                schedule = await self.scheduler.get_schedule(schedule_id)
            except Exception:
                return
            finally:
                self._status_pending.discard(schedule_id)
            info = self._info.get(schedule_id)
            if info is None:
                return
            info.paused = schedule.paused
            info.next_fire_time = schedule.next_fire_time
            info.trigger_text = str(schedule.trigger)
            info.trigger_tz = trigger_zone(schedule.trigger)
            self._update_status(schedule_id)

        self._track(asyncio.get_running_loop().create_task(reread()))

    def _update_all_statuses(self) -> None:
        """Redraw every status line (the store became unavailable, or usable again)."""
        for schedule_id in list(self.outputs):
            self._update_status(schedule_id)

    def _update_status(self, schedule_id: str) -> None:
        route = self.outputs.get(schedule_id)
        stats = self.tracker.stats.get(schedule_id) if self.tracker else None
        if route is not None and schedule_id in self._info:  # written when the update goes out
            # "queued" and "running" announce a run: a quick cell's outcome replaces them
            announces = bool(stats and (stats.running or stats.queued))
            route.set_status(partial(cell_status_html, self, schedule_id), running=announces)

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

    # --- the store ----------------------------------------------------------------------------

    def switch_store(
        self,
        path: str | None,
        restored: widgets.VBox,
        report: Callable[[str | None, BaseException | None], None],
    ) -> asyncio.Task[Any]:
        """Move to the SQLite file ``path`` (``None``: memory), carrying the cell schedules
        over, restoring the file's, and recording the choice for the next ``%load_ext``."""
        self.preparing = self.submit(
            "switch the store", lambda: self._switch_store(path, restored), report=report
        )
        return self.preparing

    async def _switch_store(self, path: str | None, restored: widgets.VBox) -> None:
        old, old_path = self.scheduler, self.store_path
        carried = [s for s in await old.get_schedules() if s.task_id == TASK_ID]
        self._detach()
        await old.stop()
        try:
            self._start_scheduler(path)
            await self._prepare(None)
        except BaseException as exc:
            # the new store cannot be used: go back to the old scheduler, schedules intact
            reason = self.describe_error(exc)
            self._detach()
            await self.scheduler.stop()
            self._attach(old, old_path)
            await self._prepare(None)
            raise _Explained(reason) from None
        for schedule in carried:
            # the stored trigger is already past the pending fire time: fire that one first
            trigger = schedule.trigger
            if schedule.next_fire_time is not None:
                trigger = CellTrigger(trigger, first_fire=schedule.next_fire_time)
            kwargs, metadata = signed_for_move(schedule, trigger)
            await self.scheduler.add_schedule(
                TASK_ID,
                trigger,
                id=schedule.id,
                kwargs=kwargs,
                metadata=metadata,
                paused=schedule.paused,
                coalesce=schedule.coalesce,
                conflict_policy=ConflictPolicy.replace,
            )
        await self._prepare(restored)
        record_store(self.store_path)

    def _detach(self) -> None:
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions = []
        if self.tracker is not None:
            self.tracker.close()
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


class _Explained(NbschedError):
    """An error whose message already says everything (no type name prefix needed)."""
