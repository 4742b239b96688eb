"""Keeping the status line above each scheduled cell's output up to date: from the scheduler's
schedule events, the run tracker and the store's availability (the line itself is
:func:`~nbsched.notebook._status_line.cell_status_html`)."""

from __future__ import annotations

import asyncio
from functools import partial

from ..events import Event, JobAdded, ScheduleAdded, ScheduleRemoved, ScheduleUpdated
from ..widgets._format import trigger_zone
from ._cell_task import TASK_ID
from ._holder_core import HolderCore
from ._status_line import cell_status_html, line_state

__all__ = ["StatusLines"]


class StatusLines(HolderCore):
    """Redraws the status lines of the scheduled cells as their schedules change."""

    def _on_event(self, event: Event) -> None:
        schedule_id = getattr(event, "schedule_id", None)
        if isinstance(event, JobAdded):
            # a fire: the schedule's update that follows only moves its next fire time on
            if schedule_id in self._info:
                self._firing.add(schedule_id)
            return
        if schedule_id not in self._info:
            if (
                isinstance(event, (ScheduleAdded, ScheduleUpdated))
                and event.task_id == TASK_ID
                and schedule_id is not None
            ):
                self._adopt(schedule_id)
            return
        info = self._info[schedule_id]
        fired = schedule_id in self._firing
        self._firing.discard(schedule_id)
        if isinstance(event, ScheduleRemoved):
            info.state = "finished" if event.finished else "removed"
            info.next_fire_time = None
            self._update_status(schedule_id)
        else:
            upcoming = event.next_fire_time  # type: ignore[attr-defined]
            if fired and info.next_fire_time is not None and upcoming is not None:
                info.fire_gap = upcoming - info.next_fire_time
            info.next_fire_time = upcoming
            self._update_status(schedule_id)
            if not fired:  # paused, resumed or replaced (here or by another kernel): reread
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
            # an announcement is held (quick cell) or a change of state (slow one): no state
            state = None
            if not announces:
                unavailable = self.scheduler.store_unavailable_since is not None
                state = line_state(self._info[schedule_id], stats, unavailable)
            route.set_status(
                partial(cell_status_html, self, schedule_id), running=announces, state=state
            )
