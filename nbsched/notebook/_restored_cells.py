"""The output areas of the cell schedules found in the store: restored when the scheduler starts
(or moves to another store), and adopted when another kernel sharing the store adds one. A
stored cell schedule this user did not sign is paused and named in a warning."""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as widgets

from ..widgets._format import trigger_zone
from ._cell_output import CellOutput
from ._cell_spec import CELL_METADATA_KEY
from ._cell_task import TASK_ID, run_cell
from ._cell_trust import pause_untrusted, secret_problem_html, warning_html
from ._holder_core import HolderCore
from ._kept_runs import stored_keep
from ._status_line import RouteInfo

__all__ = ["RestoredCells"]


class RestoredCells(HolderCore):
    """Gives the cell schedules found in the store an output area."""

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
        trigger_text = str(schedule.trigger)
        if self.tracker is not None:  # for when it ends: the end's event does not say
            self.tracker.note_trigger(schedule.id, trigger_text)
        self._info[schedule.id] = RouteInfo(
            trigger_text=trigger_text,
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
