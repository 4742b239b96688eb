"""``Timeline``: a live chart of upcoming fires (and past runs) built from stock ipywidgets.

The chart itself is a Vega-Lite output (see :mod:`nbsched._chart`) placed in an ``Output``
widget by setting its ``outputs`` directly, which works from background tasks too (``with
output:`` does not, from a task the kernel is not executing).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from datetime import datetime, tzinfo
from typing import Any

import ipywidgets as widgets
import pandas as pd

from .._chart import TimelineChart, timeline_chart
from ..events import JobReleased, ScheduleAdded, ScheduleRemoved, ScheduleUpdated
from ..timelines import (
    _is_scheduler,
    atimeline,
    past_runs,
    reads_synchronously,
    timeline,
    track_runs,
)

__all__ = ["Timeline"]

_REFRESH_EVENTS = [ScheduleAdded, ScheduleUpdated, ScheduleRemoved, JobReleased]


class Timeline(widgets.VBox):
    """A chart of upcoming fire times that redraws itself when a scheduler's schedules change.

    :param obj: anything :func:`nbsched.timeline` accepts; for a scheduler, the widget also
        records how jobs end (:func:`nbsched.timelines.track_runs`) and draws past runs
        coloured by outcome, and redraws on schedule and job events
    :param start: passed to :func:`nbsched.timeline`
    :param end: passed to :func:`nbsched.timeline`
    :param limit: passed to :func:`nbsched.timeline`
    :param tz: the zone whose wall clock the chart shows
    :param title: the chart title

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
    ) -> None:
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
        self._subscription: Any = None
        self._pending = False
        self._again = False
        self._lock = threading.Lock()
        self._is_scheduler = _is_scheduler(obj)
        self._is_async = self._is_scheduler and inspect.iscoroutinefunction(obj.get_schedules)
        if self._is_scheduler:
            track_runs(obj)
            callback = self._on_event_async if self._is_async else self._on_event_sync
            self._subscription = obj.subscribe(callback, _REFRESH_EVENTS)
        self._refresh_soon(first=True)

    # --- drawing ---------------------------------------------------------------------------

    def _draw(self, frame: pd.DataFrame) -> None:
        runs = past_runs(self.obj) if self._is_scheduler else None
        chart = timeline_chart(frame, runs=runs, tz=self._tz, title=self._title)
        data, metadata = chart._repr_mimebundle_()
        self.output.outputs = (
            {"output_type": "display_data", "data": data, "metadata": metadata},
        )
        lanes = frame["schedule_id"].nunique()
        self.status.value = (
            f"<span class='nbsched-timeline-status'>{len(frame)} upcoming fire(s) in {lanes} "
            f"lane(s), drawn {datetime.now().astimezone():%H:%M:%S}</span>"
        )
        self.frame, self.chart = frame, chart  # last: tests wait on frame, then read outputs

    def _show_error(self, exc: BaseException) -> None:
        import html

        self.status.value = (
            f"<span style='color:#cf222e'>{html.escape(type(exc).__name__)}: "
            f"{html.escape(str(exc))}</span>"
        )

    def refresh(self) -> None:
        """Redraw now (synchronously); see :func:`nbsched.timeline` for what can be read so."""
        try:
            self._draw(timeline(self.obj, self._start, self._end, self._limit, tz=self._tz))
        except Exception as exc:
            self._show_error(exc)
            raise

    async def arefresh(self) -> None:
        """Redraw now, awaiting an AsyncScheduler's schedules."""
        try:
            frame = await atimeline(self.obj, self._start, self._end, self._limit, tz=self._tz)
            self._draw(frame)
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

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:  # shown in the status line; a background redraw must not raise
            pass

    async def _arefresh_quietly(self) -> None:
        try:
            await self.arefresh()
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

    async def _on_event_async(self, event: Any) -> None:
        if not self._claim():
            return
        await asyncio.sleep(0)  # let the rest of a burst of events land first
        while self._one_more():
            await self._arefresh_quietly()

    def _on_event_sync(self, event: Any) -> None:
        # Called on the scheduler's loop thread: reading the schedules from there through the
        # sync facade would wait on that same thread, so redraw from another thread.
        if not self._claim():
            return

        def run() -> None:
            while self._one_more():
                self._refresh_quietly()

        threading.Thread(target=run, daemon=True).start()

    def close(self) -> None:
        """Stop following the scheduler and close the widget."""
        if self._subscription is not None:
            self._subscription.unsubscribe()
            self._subscription = None
        super().close()
