"""What every part of :class:`~nbsched.notebook._state.NotebookScheduler` shares: its state, and
the methods the parts call on one another, declared once for the type checker.

``NotebookScheduler`` (the scheduler's life, the ordered operations, the dashboards) is put
together from parts, one module each: ``_cell_schedules`` (defining, resuming and running
scheduled cells), ``_restored_cells`` (output areas for the cell schedules found in the store),
``_cell_status`` (the status line above each scheduled cell's output) and ``_store_switch``
(``%sched store``, with rollback). Each part derives from :class:`HolderCore`;
``NotebookScheduler.__init__`` sets every attribute declared here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ipywidgets as widgets

    from .._runs import RunTracker
    from ..widgets.dashboard import Dashboard
    from ._cell_output import CellOutput
    from ._operations import OperationQueue, Report
    from ._status_line import RouteInfo
    from ._visibility import ViewWatch

__all__ = ["HolderCore"]


class HolderCore:
    """The attributes and cross-part methods of a ``NotebookScheduler``."""

    shell: Any
    clock: Any
    #: where the schedules are kept: a SQLite file, a ``postgresql://`` URL, None: memory
    store_path: str | None
    scheduler: Any
    tracker: RunTracker | None
    operations: OperationQueue
    #: the output area of each scheduled cell, by schedule id
    outputs: dict[str, CellOutput]
    #: the In[n] of the cell that scheduled each schedule in this kernel
    _cell_numbers: dict[str, int | None]
    #: the box each restored output area was put in (the %load_ext or %sched store cell's)
    _shown_in: dict[str, widgets.Box]
    _info: dict[str, RouteInfo]
    dashboards: list[Dashboard]
    _status_pending: set[str]
    #: schedules whose fire was just added as a job (their next update is the fire's)
    _firing: set[str]
    _closed: bool
    #: where the output of cell schedules found in the store (restored at start, or added
    #: by another kernel sharing the store) goes
    restored_area: widgets.VBox | None
    _adopting: set[str]
    #: ids of the stored cell schedules this user did not sign (paused until resumed)
    _untrusted: set[str]
    _warned: set[str]  # those named in the restored area's warnings
    #: restoring the store's cell schedules (their output areas); a run due meanwhile
    #: waits for it, so that its output lands in its area
    preparing: asyncio.Task[Any] | None
    #: which scheduled cells are no longer shown in any front end (see _visibility)
    views: ViewWatch

    if TYPE_CHECKING:
        # _state
        @property
        def store_description(self) -> str: ...
        def describe_error(self, exc: BaseException) -> str: ...
        def submit(
            self,
            what: str,
            factory: Callable[[], Coroutine[Any, Any, Any]],
            *,
            report: Report | None = None,
        ) -> asyncio.Task[Any]: ...
        def _track(self, task: asyncio.Task[Any]) -> None: ...
        def _start_scheduler(self, store_path: str | None) -> None: ...
        def _attach(self, scheduler: Any, store_path: str | None) -> None: ...
        def _detach(self) -> None: ...

        # _cell_schedules
        def _retire(self, schedule_id: str) -> None: ...

        # _restored_cells
        async def _prepare(self, restored: widgets.VBox | None) -> list[str]: ...
        def _adopt(self, schedule_id: str) -> None: ...

        # _cell_status
        def _update_status(self, schedule_id: str) -> None: ...
        def _refresh_status(self, schedule_id: str) -> None: ...
