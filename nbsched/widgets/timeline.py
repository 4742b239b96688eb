"""``Timeline``: a live chart of upcoming fires (and past runs) built from stock ipywidgets.

The chart itself is a Vega-Lite output (see :mod:`nbsched._chart`) placed in an ``Output``
widget by setting its ``outputs`` directly, which works from background tasks too (``with
output:`` does not, from a task the kernel is not executing).

This module does not import pandas: the chart modules are imported when the first chart is
drawn, and while ``%load_ext nbsched`` still imports them in the background
(:mod:`nbsched._warmup`), the first drawing waits for that instead of importing on the
kernel's thread.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .. import _warmup
from .._runs import apast_runs, past_runs, track_runs
from .._scheduler_reads import _is_scheduler, reads_synchronously
from ..events import JobReleased, ScheduleAdded, ScheduleRemoved, ScheduleUpdated

if TYPE_CHECKING:
    import pandas as pd

    from .._chart import TimelineChart

__all__ = ["Timeline"]

_REFRESH_EVENTS = [ScheduleAdded, ScheduleUpdated, ScheduleRemoved, JobReleased]
#: A live chart redraws at most this often (by the scheduler's clock).
REDRAW_INTERVAL = timedelta(seconds=1)
#: Past runs drawn per schedule by default.
PAST_RUNS = 20


class Timeline(widgets.VBox):
    """A chart of upcoming fire times that redraws itself when a scheduler's schedules change.

    :param obj: anything :func:`nbsched.timeline` accepts; for a scheduler, the widget also
        draws past runs coloured by outcome, from the store's run history (awaited on
        PostgreSQL, where it holds every scheduler's runs) or, for a store that keeps none,
        as it records them (:func:`nbsched.timelines.track_runs`), and redraws on schedule
        and job events
    :param start: passed to :func:`nbsched.timeline`
    :param end: passed to :func:`nbsched.timeline`
    :param limit: passed to :func:`nbsched.timeline`
    :param tz: the zone whose wall clock the chart shows
    :param title: the chart title
    :param past: how many past runs of each schedule to draw (the latest ones)

    A live chart redraws when the scheduler's schedules change or a job ends, at most once
    per second (:data:`REDRAW_INTERVAL`), and sends nothing when what it draws is unchanged.

    :ivar frame: the last :func:`nbsched.timeline` DataFrame drawn
    :ivar chart: the last :class:`~nbsched._chart.TimelineChart` drawn
    :ivar output: the ``Output`` widget holding the chart

    Example::

        from nbsched.widgets import Timeline
        Timeline(scheduler)       # last expression of a cell
    """

    def __init__(
        self,
        obj: Any,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int | None = None,
        tz: str | tzinfo | None = None,
        title: str | None = None,
        past: int = PAST_RUNS,
    ) -> None:
        if isinstance(past, bool) or not isinstance(past, int) or past < 0:
            raise ValueError(f"past: expected an int >= 0, got {past!r}")
        self._past = past
        self._drawn: Any = None
        self._drawn_at: datetime | None = None
        self._drawn_monotonic = float("-inf")
        self._subscription: Any = None
        self._redraw_task: asyncio.Task[None] | None = None
        self.obj = obj
        self._start, self._end, self._limit = start, end, limit
        self._tz = tz
        self._title = title
        self.frame: pd.DataFrame | None = None
        self.chart: TimelineChart | None = None
        self.output = widgets.Output()
        self.status = widgets.HTML()
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="Redraw the timeline"
        )
        self.refresh_button.on_click(lambda _button: self._refresh_soon())
        super().__init__([widgets.HBox([self.refresh_button, self.status]), self.output])
        self.add_class("nbsched-timeline")
        self._pending = False
        self._again = False
        self._lock = threading.Lock()
        self._is_scheduler = _is_scheduler(obj)
        self._is_async = self._is_scheduler and inspect.iscoroutinefunction(obj.get_schedules)
        if self._is_scheduler:
            track_runs(obj)
            callback = self._on_event_async if self._is_async else self._on_event_sync
            self._subscription = obj.subscribe(callback, _REFRESH_EVENTS)
        if not _warmup.ready():
            self.status.value = "<i>drawing soon (pandas is being imported)…</i>"
        _warmup.when_ready(lambda: self._refresh_soon(first=True))

    # --- drawing ---------------------------------------------------------------------------

    def _draw(
        self, frame: pd.DataFrame, runs: pd.DataFrame | None, *, only_if_changed: bool = False
    ) -> None:
        from .._chart import timeline_chart

        if runs is not None and len(runs):
            runs = runs.groupby("schedule_id", sort=False).tail(self._past)
        chart = timeline_chart(frame, runs=runs, tz=self._tz, title=self._title)
        drawn = chart.spec["layer"][-1]["data"]["values"]
        if not only_if_changed or drawn != self._drawn:
            self._drawn = drawn
            data, metadata = chart._repr_mimebundle_()
            self.output.outputs = (
                {"output_type": "display_data", "data": data, "metadata": metadata},
            )
            # the chart's own counts: a finished schedule's lane holds its past runs only
            past = f", {chart.past} past run(s)" if chart.past else ""
            self.status.value = (
                f"<span class='nbsched-timeline-status'>{chart.upcoming} upcoming fire(s) in "
                f"{chart.lanes} lane(s){past}, drawn "
                f"{datetime.now().astimezone():%H:%M:%S}</span>"
            )
            self.frame, self.chart = frame, chart  # last: tests wait on frame, then read outputs
        # the next live redraw counts from here, once this one has been sent
        self._drawn_at = self._now()
        self._drawn_monotonic = time.monotonic()

    def _now(self) -> datetime:
        clock = getattr(self.obj, "clock", None) if self._is_scheduler else None
        return clock.now() if clock is not None else datetime.now(timezone.utc)

    def _show_error(self, exc: BaseException) -> None:
        import html

        self._drawn_at = self._now()  # an attempt: live redraws go on from here

        self.status.value = (
            f"<span style='color:#cf222e'>{html.escape(type(exc).__name__)}: "
            f"{html.escape(str(exc))}</span>"
        )

    def refresh(self, *, only_if_changed: bool = False) -> None:
        """Redraw now (synchronously); see :func:`nbsched.timeline` for what can be read so."""
        from ..timelines import timeline

        try:
            frame = timeline(self.obj, self._start, self._end, self._limit, tz=self._tz)
            runs = past_runs(self.obj) if self._is_scheduler else None
            self._draw(frame, runs, only_if_changed=only_if_changed)
        except Exception as exc:
            self._show_error(exc)
            raise

    async def arefresh(self, *, only_if_changed: bool = False) -> None:
        """Redraw now, awaiting an AsyncScheduler's schedules and its store's run history (on
        PostgreSQL: every scheduler's runs)."""
        from ..timelines import atimeline

        try:
            frame = await atimeline(self.obj, self._start, self._end, self._limit, tz=self._tz)
            runs = await apast_runs(self.obj) if self._is_scheduler else None
            self._draw(frame, runs, only_if_changed=only_if_changed)
        except Exception as exc:
            self._show_error(exc)
            raise

    def _refresh_soon(self, first: bool = False) -> None:
        if not self._is_async:
            if first:
                self.refresh()
            else:
                threading.Thread(target=self._refresh_quietly, daemon=True).start()
            return
        if reads_synchronously(self.obj):
            try:
                self.refresh()
                return
            except TypeError:
                pass
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.create_task(self._arefresh_quietly())

    def _refresh_quietly(self, only_if_changed: bool = False) -> None:
        try:
            self.refresh(only_if_changed=only_if_changed)
        except Exception:  # shown in the status line; a background redraw must not raise
            pass

    async def _arefresh_quietly(self, only_if_changed: bool = False) -> None:
        try:
            if reads_synchronously(self.obj):
                try:
                    self.refresh(only_if_changed=only_if_changed)
                    return
                except TypeError:
                    pass
            await self.arefresh(only_if_changed=only_if_changed)
        except Exception:
            pass

    # --- events ----------------------------------------------------------------------------

    # A burst of events redraws once; an event that arrives while a redraw runs sets
    # ``_again`` so that one more redraw follows (it might have read the store too early).

    def _claim(self) -> bool:
        """Note that a redraw is wanted; True if the caller must start the redraw loop."""
        with self._lock:
            self._again = True
            if self._pending:
                return False
            self._pending = True
            return True

    def _one_more(self) -> bool:
        with self._lock:
            if not self._again:
                self._pending = False
                return False
            self._again = False
            return True

    def _on_event_async(self, event: Any) -> None:
        # an AsyncScheduler publishes on its loop's thread; the redraws wait for their turn in
        # a task of their own (not in the broker's callback task, which stopping awaits)
        if not self._claim():
            return
        self._redraw_task = asyncio.get_running_loop().create_task(self._redraw_when_due())

    async def _redraw_when_due(self) -> None:
        await asyncio.sleep(0)  # let the rest of a burst of events land first
        while True:
            if self._drawn_at is None:
                # the first drawing is still to come (pandas is being imported): it will
                # read the schedules then, this event included
                with self._lock:
                    self._again = self._pending = False
                return
            clock = getattr(self.obj, "clock", None)
            due = self._drawn_at + REDRAW_INTERVAL
            if clock is not None and due > clock.now():
                await clock.sleep_until(due)
            if not self._one_more():
                return
            await self._arefresh_quietly(only_if_changed=True)

    def _on_event_sync(self, event: Any) -> None:
        # Called on the scheduler's loop thread: reading the schedules from there through the
        # sync facade would wait on that same thread, so redraw from another thread.
        if not self._claim():
            return

        def run() -> None:
            while True:
                wait = self._drawn_monotonic + REDRAW_INTERVAL.total_seconds() - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not self._one_more():
                    return
                self._refresh_quietly(only_if_changed=True)

        threading.Thread(target=run, daemon=True).start()

    def close(self) -> None:
        """Stop following the scheduler and close the widget."""
        if self._redraw_task is not None:
            self._redraw_task.cancel()
            self._redraw_task = None
        if self._subscription is not None:
            self._subscription.unsubscribe()
            self._subscription = None
        super().close()
