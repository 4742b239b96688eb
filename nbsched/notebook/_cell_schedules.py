"""Scheduled cells: defining one (``%%every`` and friends), resuming one, and what a cell's run
reports back (started, failed)."""

from __future__ import annotations

import html

from .._enums import CoalescePolicy, ConflictPolicy
from ..widgets._format import trigger_zone
from ._cell_output import CellOutput
from ._cell_spec import CELL_METADATA_KEY, CellSpec
from ._cell_task import TASK_ID
from ._cell_trigger import CellTrigger
from ._cell_trust import sign_and_resume, signed_cell
from ._holder_core import HolderCore
from ._status_line import RouteInfo

__all__ = ["CellSchedules"]


class CellSchedules(HolderCore):
    """Turns cells into schedules, each with its output area."""

    def define_cell(self, spec: CellSpec) -> CellOutput:
        """Schedule a cell (replacing its earlier schedule) and return its output area."""
        route = CellOutput(spec.schedule_id, append=spec.append, keep=spec.keep)
        self._retire(spec.schedule_id)
        # the magic runs inside the cell: this is the cell's own In[n]
        self._cell_numbers[spec.schedule_id] = getattr(self.shell, "execution_count", None)
        self.views.watch(route.widget, spec.schedule_id)
        trigger_text = str(spec.trigger)
        if self.tracker is not None:  # a new definition: its runs count from zero
            self.tracker.forget(spec.schedule_id)
            self.tracker.note_trigger(spec.schedule_id, trigger_text)
        self.outputs[spec.schedule_id] = route
        self._info[spec.schedule_id] = RouteInfo(
            trigger_text=trigger_text,
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
