"""A live table of a scheduler's schedules, with pause / resume / run now / remove buttons."""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta, tzinfo
from typing import Any

import ipywidgets as widgets

from .._localzone import get_local_timezone
from .._protocols import SchedulerLike
from .._runs import RunStats, RunTracker
from ..events import (
    DataStoreRecovered,
    DataStoreUnavailable,
    Event,
    ScheduleAdded,
    ScheduleRemoved,
    SchedulerStarted,
    SchedulerStopped,
    ScheduleUpdated,
)
from ._dashboard_row import DashboardRow, header_row
from ._format import format_duration, format_remaining, next_fire_html, trigger_zone
from ._history_strip import median_duration, recent_runs, runs_by_schedule, strip_html
from ._run_stats import outcome_html, ran_on_html
from ._store_status import store_status_text

__all__ = ["Dashboard", "RunStats", "RunTracker"]

_logger = logging.getLogger(__name__)


#: how often the countdowns are redrawn between rereads of the store
_TICK = timedelta(seconds=1)
#: how long the remove button waits for the confirming second click
CONFIRM_TIME = timedelta(seconds=5)
#: finished or removed schedules shown under the live ones (the most recently ended)
ENDED_SHOWN = 10

#: how the cells of a finished or removed schedule's row start (greyed out)
_GREY = "<span style='opacity:0.55'>"


def _trigger_html(text: str) -> str:
    """The trigger cell: ``text``, cut to the column's width, whole in the tooltip."""
    escaped = html.escape(text)
    return f"<span title='{escaped}'>{escaped}</span>"


class Dashboard(widgets.VBox):
    """A live table of a scheduler's schedules.

    One row per schedule: id, readable trigger, next fire time (in ``tz``, the local zone by
    default), time remaining, number of runs, last outcome and duration, lateness (how late the
    last run started; a cell that keeps the kernel busy delays every fire), which scheduler ran
    the last run ("this kernel", or the identity of another scheduler sharing the store), the
    last 10 outcomes as a strip of glyphs and the median duration of the runs the store's run
    history keeps (see :func:`nbsched.history`), and pause / resume / run now / remove buttons.
    It redraws when the scheduler publishes a schedule or job event, counts down once a
    second, and rereads the store every ``reread_interval`` seconds (for changes made by other
    processes sharing a file or PostgreSQL store).

    Schedules that finished (their trigger ran out of fire times) or were removed stay below
    the live ones as greyed rows ("finished", "removed", with their run counts) until
    dismissed; the :data:`ENDED_SHOWN` most recently ended ones are shown.

    :param scheduler: a running :class:`~nbsched.AsyncScheduler` (on this kernel's loop)
    :param tracker: where run counts come from (a new :class:`RunTracker`, counting from now,
        if not given)
    :param tz: the zone for fire times
    :param live: start the countdown task (needs a running event loop, as in a notebook cell)
    :param reread_interval: seconds between two full rereads of the store
    :param resume: what the resume button awaits with the schedule id (default: the
        scheduler's ``unpause_schedule``)
    :param annotate: HTML shown under a schedule's id, given the schedule (the notebook layer
        shows the cell's first line, and "cell not shown" when that cell was deleted)

    Build it in a cell (``Dashboard(scheduler)`` as the last expression) or run ``%sched``.
    """

    def __init__(
        self,
        scheduler: SchedulerLike,
        *,
        tracker: RunTracker | None = None,
        tz: tzinfo | None = None,
        live: bool = True,
        reread_interval: float = 5.0,
        resume: Callable[[str], Coroutine[Any, Any, Any]] | None = None,
        annotate: Callable[[Any], str] | None = None,
    ):
        self.scheduler = scheduler
        self.tracker = tracker if tracker is not None else RunTracker(scheduler)
        self._owns_tracker = tracker is None
        self.tz = tz if tz is not None else get_local_timezone()
        self.rows: dict[str, DashboardRow] = {}
        #: rows of the schedules that finished or were removed, most recently ended first
        self.ended_rows: dict[str, DashboardRow] = {}
        self._vanished: dict[str, datetime] = {}  # left the store unannounced: when seen gone
        self._dismissed: set[str] = set()
        self.status = widgets.HTML()
        self.empty = widgets.HTML("<i>no schedules yet</i>")
        self.head = header_row()
        self.table = widgets.VBox([self.head], layout=widgets.Layout(overflow="auto"))
        self.table.add_class("nbsched-dashboard-table")
        super().__init__([self.table, self.empty, self.status])
        self.add_class("nbsched-dashboard")
        self._pending: set[asyncio.Task[Any]] = set()
        self._refreshing: asyncio.Task[None] | None = None
        self._again = False
        self._reread_interval = reread_interval
        self._resume = resume
        self._annotate = annotate
        self._ticker: asyncio.Task[None] | None = None
        self._runs: dict[str, list[Any]] = {}  # schedule id -> its kept runs, oldest first
        self._stopped = False
        self._frozen = False
        self._loop: asyncio.AbstractEventLoop | None
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._thread = threading.get_ident()
        self._subscription = scheduler.subscribe(
            self._from_any_thread(self._on_event),
            [
                ScheduleAdded,
                ScheduleUpdated,
                ScheduleRemoved,
                SchedulerStarted,
                SchedulerStopped,
                DataStoreUnavailable,
                DataStoreRecovered,
            ],
        )
        self._stats_listener = self._from_any_thread(self._on_stats)
        self.tracker.listen(self._stats_listener)
        if self._loop is not None:
            self.request_refresh()
            if live:
                self._ticker = self._loop.create_task(self._tick_forever())

    # --- reading ----------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Reread the schedules and redraw every row."""
        if self._frozen:
            return
        try:
            schedules = await self._call("get_schedules")
        except Exception as exc:  # a stopped scheduler or a failing store: say so, keep going
            if outage := store_status_text(self.scheduler, self.tz):
                self._say(outage, error=True)
            elif self._stopped:
                self._say("the scheduler has stopped", error=True)
            else:
                self._say(f"cannot read the schedules: {type(exc).__name__}: {exc}", error=True)
            return
        try:
            self._runs = runs_by_schedule(await recent_runs(self.scheduler))
        except Exception:  # the strip keeps what it showed; the schedules still redraw
            _logger.debug("cannot read the run history", exc_info=True)
        seen = set()
        for schedule in sorted(schedules, key=lambda s: s.id):
            seen.add(schedule.id)
            self._vanished.pop(schedule.id, None)
            self._dismissed.discard(schedule.id)
            row = self.rows.get(schedule.id) or self.ended_rows.pop(schedule.id, None)
            if row is None:
                row = DashboardRow(schedule.id, self)
            self.rows[schedule.id] = row
            row.show_ended(None)
            row.next_fire_time = schedule.next_fire_time
            row.paused = schedule.paused
            trigger_text = str(schedule.trigger)
            self.tracker.note_trigger(schedule.id, trigger_text)
            row.cells["trigger"].value = _trigger_html(trigger_text)
            row.trigger_tz = trigger_zone(schedule.trigger)
            note = self._annotate(schedule) if self._annotate is not None else ""
            shown_id = html.escape(schedule.id)
            row.cells["id"].value = f"<code title='{shown_id}'>{shown_id}</code>{note}"
            self._draw_stats(row)
        now = self.scheduler.clock.now()
        for key in set(self.rows) - seen:
            self._vanished.setdefault(key, now)
            self.ended_rows[key] = self.rows.pop(key)
        gone = self._sort_ended()
        self.tick()
        children = (
            self.head,
            *(self.rows[key] for key in sorted(self.rows)),
            *self.ended_rows.values(),
        )
        if children != self.table.children:
            self.table.children = children
        for row in gone:  # out of the table first: a shown box never holds a closed widget
            row.close()
        shown = (
            (self.table, self.status)
            if self.rows or self.ended_rows
            else (self.table, self.empty, self.status)
        )
        if self.children != shown:  # type: ignore[has-type]  # ipywidgets has no type hints
            self.children = shown

    def _sort_ended(self) -> list[DashboardRow]:
        """Bring :attr:`ended_rows` up to date (the tracker knows which schedules ended, this
        dashboard which rows left the store unannounced); return the rows to close."""
        ended: dict[str, tuple[str, datetime]] = {
            key: ("removed", when) for key, when in self._vanished.items()
        }
        for key, stats in self.tracker.stats.items():
            if stats.ended is not None and key not in self.rows:
                ended[key] = (stats.ended, stats.ended_at or self.scheduler.clock.now())
        keep = sorted(
            (key for key in ended if key not in self._dismissed),
            key=lambda key: ended[key][1],
            reverse=True,
        )[:ENDED_SHOWN]
        rows = {}
        for key in keep:
            row = self.ended_rows.pop(key, None) or DashboardRow(key, self)
            row.show_ended(ended[key][0])
            self._draw_stats(row)
            rows[key] = row
        gone = list(self.ended_rows.values())
        self.ended_rows = rows
        return gone

    def tick(self) -> None:
        """Update the countdowns (and pause-dependent buttons) from the last reread."""
        if self._frozen:
            return
        now = self.scheduler.clock.now()
        for row in self.rows.values():
            if row.paused:
                row.cells["next fire"].value = "<i>paused</i>"
                row.cells["remaining"].value = "—"
            else:
                row.cells["next fire"].value = next_fire_html(
                    row.next_fire_time, now=now, tz=self.tz, also=row.trigger_tz
                )
                row.cells["remaining"].value = html.escape(
                    format_remaining(row.next_fire_time, now=now)
                )
            row.show_paused(row.paused)
            if row.confirm_until is not None and now > row.confirm_until:
                row.confirm_until = None
                row.remove_button.description = "remove"
                row.remove_button.tooltip = None

    def _draw_stats(self, row: DashboardRow) -> None:
        stats = self.tracker.stats.get(row.schedule_id)
        runs = self._runs.get(row.schedule_id, [])
        lateness = stats.last_lateness if stats else None
        values = {
            "runs": str(stats.runs) if stats else "0",
            "last run": outcome_html(stats),
            "lateness": html.escape(format_duration(lateness)) or "—",
            "ran on": ran_on_html(stats, getattr(self.scheduler, "identity", None)),
            "history": strip_html(runs),
            "median": html.escape(format_duration(median_duration(runs))) or "—",
        }
        if row.ended is not None:
            count = stats.runs if stats else 0
            title = f"{row.ended} after {count} run{'' if count == 1 else 's'}"
            values["next fire"] = f"<i title='{title}'>{row.ended}</i>"
            values["remaining"] = "—"
            if row.cells["trigger"].value == "":  # ended before this dashboard saw it
                values["trigger"] = (
                    _trigger_html(stats.trigger) if stats and stats.trigger else "—"
                )
            values = {
                name: value if value.startswith(_GREY) else f"{_GREY}{value}</span>"
                for name, value in {**self._row_values(row), **values}.items()
            }
        for name, value in values.items():
            if row.cells[name].value != value:
                row.cells[name].value = value

    @staticmethod
    def _row_values(row: DashboardRow) -> dict[str, str]:
        return {name: row.cells[name].value for name in ("id", "trigger")}

    def request_refresh(self) -> None:
        """Reread soon (coalescing bursts of events into one reread)."""
        if self._loop is None or self._loop.is_closed():
            return
        if self._refreshing is not None and not self._refreshing.done():
            self._again = True
            return
        self._refreshing = self._loop.create_task(self._refresh_until_quiet())

    async def _refresh_until_quiet(self) -> None:
        while True:
            self._again = False
            await self.refresh()
            if not self._again:
                return

    async def _tick_forever(self) -> None:
        # on the scheduler's clock, so that a fake clock drives the countdown in tests
        clock = self.scheduler.clock
        elapsed = 0.0
        while True:
            await clock.sleep_until(clock.now() + _TICK)
            elapsed += 1.0
            if elapsed >= self._reread_interval:
                elapsed = 0.0
                self.request_refresh()
            else:
                self.tick()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, SchedulerStopped):
            self._stopped = True
            self._say("the scheduler has stopped", error=True)
            return
        if isinstance(event, SchedulerStarted):
            self._stopped = False
            self._say("")
        if isinstance(event, (DataStoreUnavailable, DataStoreRecovered)):
            self._say(store_status_text(self.scheduler, self.tz), error=True)
        self.request_refresh()

    def _on_stats(self, schedule_id: str) -> None:
        row = self.rows.get(schedule_id) or self.ended_rows.get(schedule_id)
        if row is not None:
            self._draw_stats(row)
            self.request_refresh()  # the run history has the finished run

    def _say(self, text: str, *, error: bool = False) -> None:
        style = "color:#c62828" if error else "color:#555"
        self.status.value = f"<span style='{style}'>{html.escape(text)}</span>" if text else ""

    # --- the scheduler, async or sync ---------------------------------------------------------

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a scheduler method: awaited for an AsyncScheduler; in a worker thread for the
        blocking :class:`~nbsched.Scheduler` facade, so the kernel's loop never blocks."""
        method = getattr(self.scheduler, name)
        if inspect.iscoroutinefunction(method):
            return await method(*args, **kwargs)
        return await asyncio.to_thread(method, *args, **kwargs)

    def _from_any_thread(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """Wrap an event callback so it runs on this widget's loop thread (a synchronous
        Scheduler publishes events on its own thread)."""

        def deliver(value: Any) -> None:
            loop = self._loop
            if loop is None or threading.get_ident() == self._thread:
                callback(value)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(callback, value)

        return deliver

    # --- acting -----------------------------------------------------------------------------

    def pause(self, schedule_id: str) -> asyncio.Task[Any]:
        """Pause a schedule (what the pause button does)."""
        return self._act(f"pause {schedule_id!r}", self._call("pause_schedule", schedule_id))

    def resume(self, schedule_id: str) -> asyncio.Task[Any]:
        """Resume a paused schedule; fire times missed while paused are skipped."""
        if self._resume is not None:
            return self._act(f"resume {schedule_id!r}", self._resume(schedule_id))
        return self._act(f"resume {schedule_id!r}", self._call("unpause_schedule", schedule_id))

    def confirm_remove(self, schedule_id: str) -> asyncio.Task[Any] | None:
        """What the remove button does: the first click asks (the button says "confirm"), a
        second one within :data:`CONFIRM_TIME` removes the schedule. On the row of a finished or
        removed schedule, the button says "dismiss" and takes the row away."""
        if schedule_id in self.ended_rows:
            self.dismiss(schedule_id)
            return None
        row = self.rows.get(schedule_id)
        if row is None:
            return None
        now = self.scheduler.clock.now()
        if row.confirm_until is not None and now <= row.confirm_until:
            row.confirm_until = None
            row.remove_button.description = "remove"
            row.remove_button.tooltip = None
            return self.remove(schedule_id)
        row.confirm_until = now + CONFIRM_TIME
        row.remove_button.description = "confirm"
        row.remove_button.tooltip = f"click again within {CONFIRM_TIME.seconds} s to remove"
        return None

    def dismiss(self, schedule_id: str) -> None:
        """Take the row of a finished or removed schedule off the dashboard."""
        self._dismissed.add(schedule_id)
        self.request_refresh()

    def remove(self, schedule_id: str) -> asyncio.Task[Any]:
        """Remove a schedule."""
        return self._act(f"remove {schedule_id!r}", self._call("remove_schedule", schedule_id))

    def run_now(self, schedule_id: str) -> asyncio.Task[Any]:
        """Run a schedule's task once, now, with the schedule's arguments."""
        return self._act(f"run {schedule_id!r}", self._run_now(schedule_id))

    async def _run_now(self, schedule_id: str) -> None:
        schedule = await self._call("get_schedule", schedule_id)
        job_id = await self._call(
            "add_job", schedule.task_id, args=schedule.args, kwargs=schedule.kwargs
        )
        self.tracker.adopt(job_id, schedule_id)

    def _act(self, what: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        loop = self._loop or asyncio.get_running_loop()
        task = loop.create_task(coro)
        self._pending.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            self._pending.discard(task)
            if task.cancelled():
                return
            exc = task.exception()
            if exc is not None:
                self._say(f"could not {what}: {exc}", error=True)
            else:
                self._say("")
            self.request_refresh()

        task.add_done_callback(done)
        return task

    async def settle(self) -> None:
        """Wait until every button action and reread started so far has finished."""
        while self._pending or (self._refreshing is not None and not self._refreshing.done()):
            await asyncio.gather(
                *self._pending,
                *([self._refreshing] if self._refreshing else []),
                return_exceptions=True,
            )

    def close(self) -> None:
        """Stop updating and close the widget."""
        if not hasattr(self, "_subscription"):  # __init__ failed; ipywidgets closes on __del__
            super().close()
            return
        self.stop_updating()
        if self._owns_tracker:
            self.tracker.close()
        super().close()
        rows = (*self.rows.values(), *self.ended_rows.values())
        for widget in (*rows, *self.head.children, self.head, self.table):
            widget.close()
        for widget in (self.status, self.empty):
            widget.close()

    def freeze(self, reason: str) -> None:
        """Stop updating, blank the countdowns (they would go stale) and say ``reason``."""
        self.stop_updating()
        self._frozen = True
        for row in self.rows.values():
            row.cells["remaining"].value = "—"
        self._say(reason)

    def stop_updating(self) -> None:
        """Stop the countdown and event-driven redraws but keep the widget shown."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._subscription.unsubscribe()
        self.tracker.unlisten(self._stats_listener)
