"""Which scheduled cells are still shown, from ipywidgets' view counts.

A front end counts the views of a widget whose ``_view_count`` is a number: it adds one when it
draws a view of it and takes one away when that view goes (the cell was deleted, its output
cleared, the notebook closed inside JupyterLab). A page that is closed or reloaded takes
nothing away: its views simply stop existing, so the counts can only overstate.

The rule: the output area of a scheduled cell that lost a view and did not get it back within
:data:`GRACE`, while another nbsched widget of the kernel (another cell's output area, a
dashboard) still had views and lost none around the same time, belongs to a cell that is no
longer shown: the front end that took the view away is still connected and still shows the rest
of the notebook. When every widget loses its views together (the notebook was closed in
JupyterLab) or nothing is taken away (a closed tab, a reload), no cell is marked. A cell that is
shown again (undo of a delete) loses its mark.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

__all__ = ["GRACE", "ViewWatch"]

#: How long a lost view may take to come back before its cell counts as not shown.
GRACE = timedelta(seconds=5)


class ViewWatch:
    """Follows the view counts of the kernel's nbsched widgets and says which cell schedules
    have no shown cell any more.

    :param clock: the scheduler's clock (the grace period runs on it)
    :param on_change: called with ``(schedule_id, shown)`` when a cell's mark changes
    """

    def __init__(self, clock: Any, on_change: Callable[[str, bool], None]):
        self._clock = clock
        self._on_change = on_change
        self._watched: dict[int, Any] = {}
        self._lost_at: dict[int, datetime] = {}
        self._cells: dict[str, Any] = {}
        self._checks: set[asyncio.Task[None]] = set()
        #: the schedule ids whose cell is not shown
        self.not_shown: set[str] = set()

    def watch(self, widget: Any, schedule_id: str | None = None) -> None:
        """Count the views of ``widget`` (before it is displayed); with ``schedule_id``, it is
        that cell schedule's output area, else a witness (a dashboard)."""
        key = id(widget)
        self._watched[key] = widget
        if schedule_id is not None:
            self._cells[schedule_id] = widget
            self._set(schedule_id, shown=True)
        widget._view_count = 0
        widget.observe(lambda change: self._counted(key, schedule_id, change), "_view_count")

    def forget(self, schedule_id: str) -> None:
        """The schedule's output area was replaced or closed: stop judging it."""
        widget = self._cells.pop(schedule_id, None)
        if widget is not None:
            self._watched.pop(id(widget), None)
            self._lost_at.pop(id(widget), None)
        self.not_shown.discard(schedule_id)

    def close(self) -> None:
        for task in self._checks:
            task.cancel()

    def _counted(self, key: int, schedule_id: str | None, change: dict[str, Any]) -> None:
        old, new = change["old"] or 0, change["new"] or 0
        if new < old:
            lost_at = self._clock.now()
            self._lost_at[key] = lost_at
            if schedule_id is not None:
                task = asyncio.get_running_loop().create_task(
                    self._judge(schedule_id, key, lost_at, new)
                )
                self._checks.add(task)
                task.add_done_callback(self._checks.discard)
        elif new > old and schedule_id is not None:
            self._set(schedule_id, shown=True)

    async def _judge(self, schedule_id: str, key: int, lost_at: datetime, left: int) -> None:
        await self._clock.sleep_until(lost_at + GRACE)
        widget = self._cells.get(schedule_id)
        if widget is None or id(widget) != key or self._lost_at.get(key) != lost_at:
            return  # replaced, or a later loss is judged on its own
        if (widget._view_count or 0) > left:
            return  # it came back
        if any(self._kept_its_views(other, lost_at) for other in self._watched if other != key):
            self._set(schedule_id, shown=False)

    def _kept_its_views(self, key: int, lost_at: datetime) -> bool:
        widget = self._watched[key]
        if widget.comm is None or not widget._view_count:
            return False
        other_loss = self._lost_at.get(key)
        return other_loss is None or abs(other_loss - lost_at) > GRACE

    def _set(self, schedule_id: str, *, shown: bool) -> None:
        if shown == (schedule_id not in self.not_shown):
            return
        if shown:
            self.not_shown.discard(schedule_id)
        else:
            self.not_shown.add(schedule_id)
        self._on_change(schedule_id, shown)
