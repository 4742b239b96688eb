"""Tie the kernel's :class:`~nbsched.notebook._state.NotebookScheduler` to the kernel's life:
installed by ``%load_ext``, stopped by ``%unload_ext``, kernel shutdown or interpreter exit."""

from __future__ import annotations

import asyncio
import atexit
from typing import TYPE_CHECKING, Any

from ._current import current, set_current

if TYPE_CHECKING:
    from ._state import NotebookScheduler

__all__ = ["install", "uninstall"]


def install(shell: Any, holder: NotebookScheduler) -> None:
    """Make ``holder`` the kernel's scheduler and stop it when the kernel shuts down."""
    set_current(holder)

    def on_exit_now(change: dict[str, Any]) -> None:
        if change.get("new"):
            holder.request_stop()

    try:
        shell.observe(on_exit_now, "exit_now")
    except Exception:  # not a traitlets shell (never in IPython)
        pass
    holder._exit_observer = on_exit_now  # type: ignore[attr-defined]
    atexit.register(_stop_at_exit, holder)


def uninstall(shell: Any, holder: NotebookScheduler) -> None:
    """Undo :func:`install` and ask the scheduler to stop."""
    observer = getattr(holder, "_exit_observer", None)
    if observer is not None:
        try:
            shell.unobserve(observer, "exit_now")
        except Exception:
            pass
    atexit.unregister(_stop_at_exit)
    holder.request_stop()
    if current() is holder:
        set_current(None)


def _stop_at_exit(holder: NotebookScheduler) -> None:
    # The kernel's loop has stopped by now; give the scheduler's task a short run to close the
    # store cleanly if the loop can still run at all.
    holder.request_stop()
    loop = holder.scheduler.event_loop
    if loop is None or loop.is_closed() or loop.is_running():
        return
    try:
        loop.run_until_complete(asyncio.wait_for(holder.scheduler.wait_until_stopped(), 2))
    except Exception:
        pass
