"""``%sched store PATH``: move the kernel's scheduler to another store, carrying the cell
schedules over; if the new store cannot be used, go back to the old scheduler, schedules intact."""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as widgets

from .._enums import ConflictPolicy
from .._exceptions import NbschedError
from ._cell_task import TASK_ID
from ._cell_trigger import CellTrigger
from ._cell_trust import signed_for_move
from ._holder_core import HolderCore
from ._operations import Report
from ._store_choice import record_store

__all__ = ["ExplainedError", "StoreSwitch"]


class ExplainedError(NbschedError):
    """An error whose message already says everything (no type name prefix needed)."""


class StoreSwitch(HolderCore):
    """Moves the kernel's scheduler to another store."""

    def switch_store(
        self,
        path: str | None,
        restored: widgets.VBox,
        report: Report,
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
            raise ExplainedError(reason) from None
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
