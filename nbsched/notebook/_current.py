"""Which :class:`~nbsched.notebook._state.NotebookScheduler` is the kernel's: set by ``%load_ext``
(:mod:`._kernel_hooks`), read by the magics and by the cell task, which the scheduler calls by
import reference and so cannot be handed it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._state import NotebookScheduler

__all__ = ["current", "set_current"]

_current: NotebookScheduler | None = None


def current() -> NotebookScheduler | None:
    """The kernel's scheduler holder, or ``None`` before ``%load_ext nbsched``."""
    return _current


def set_current(holder: NotebookScheduler | None) -> None:
    """Make ``holder`` the kernel's scheduler holder (``None``: there is none)."""
    global _current
    _current = holder
