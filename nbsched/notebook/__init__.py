"""The notebook layer: ``%load_ext nbsched``, the scheduling cell magics and ``%sched``.

``%load_ext nbsched`` starts an :class:`~nbsched.AsyncScheduler` as one task on the kernel's own
running event loop (no thread, no second loop). Schedules are kept in memory, or in the SQLite
file or PostgreSQL database (``postgresql://...``, shared with other kernels) named by
``$NBSCHED_STORE`` or recorded for this notebook by an earlier
``%sched store PATH`` (in ``.nbsched-store.json``); cell schedules
found there come back with an output area in the ``%load_ext`` cell. ``%unload_ext nbsched``
and kernel shutdown stop the scheduler.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["get_scheduler", "load", "load_ipython_extension", "unload_ipython_extension"]

_MAGIC_NAMES = {"cell": ("every", "cron", "at"), "line": ("sched",)}


def load(shell: Any, *, store_path: str | None = None, clock: Any = None) -> Any:
    """What ``%load_ext nbsched`` does, with the store and clock injectable (for tests).

    Must run on the kernel's event loop thread with the loop running (as extension loading
    does in ipykernel 6 and 7). Returns the :class:`~nbsched.notebook._state.NotebookScheduler`.
    """
    import ipywidgets as widgets
    from IPython.display import display

    from ._current import current
    from ._kernel_hooks import install
    from ._magics import SchedMagics
    from ._state import NotebookScheduler
    from ._store_choice import recorded_store

    existing = current()
    if existing is not None:
        return existing
    # a library's records go to the application's handlers, never to Python's last-resort
    # stderr printer (in a kernel that would drop tracebacks into whichever cell is running)
    library_logger = logging.getLogger("nbsched")
    if not library_logger.handlers:
        library_logger.addHandler(logging.NullHandler())
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from IPython.core.error import UsageError

        raise UsageError(
            "nbsched's magics need a Jupyter kernel (its event loop runs the scheduler); in a "
            "terminal or a script, use nbsched.Scheduler instead"
        ) from None
    path = store_path if store_path is not None else recorded_store()
    holder = NotebookScheduler(shell, store_path=path, clock=clock)
    install(shell, holder)
    shell.register_magics(SchedMagics)
    restored = None
    report: Callable[[str | None, BaseException | None], None] | None = None
    if holder.store_path is not None:
        restored = widgets.VBox()
        note = widgets.HTML(
            f"<small>nbsched: schedules are kept in <code>"
            f"{html.escape(holder.store_description)}"
            f"</code>; the output of the cells scheduled there appears below</small>"
        )
        display(widgets.VBox([note, restored]))

        def show_failure(message: str | None, exc: BaseException | None) -> None:
            if message is not None:
                note.value = f"<span style='color:#c62828'>nbsched: {html.escape(message)}</span>"

        report = show_failure

    holder.start(restored, report)
    # charts need pandas: import it now in the background, not later on the kernel's thread
    from .. import _warmup

    _warmup.start()
    return holder


def get_scheduler() -> Any:
    """The kernel's :class:`~nbsched.AsyncScheduler` that ``%load_ext nbsched`` started.

    Use it to schedule functions next to your cells, or for the widgets::

        from nbsched.notebook import get_scheduler
        from nbsched.widgets import EventLog
        scheduler = get_scheduler()
        await scheduler.add_schedule(fetch, IntervalTrigger(minutes=5))
        EventLog(scheduler)

    :raises RuntimeError: before ``%load_ext nbsched`` (or after ``%unload_ext``)
    """
    from ._current import current

    holder = current()
    if holder is None:
        raise RuntimeError("nbsched is not loaded in this kernel: run %load_ext nbsched first")
    return holder.scheduler


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbsched``."""
    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext nbsched``: stop the scheduler and remove the magics."""
    from ._current import current
    from ._kernel_hooks import uninstall

    holder = current()
    if holder is not None:
        uninstall(ipython, holder)
    magics = ipython.magics_manager.magics
    for kind, names in _MAGIC_NAMES.items():
        for name in names:
            magics[kind].pop(name, None)
