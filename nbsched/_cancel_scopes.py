"""Winding down under an anyio cancel scope that was cancelled.

Such a scope (``move_on_after()``, ``fail_after()``, a task group being cancelled) cancels
again at every await until it is left, so a ``finally`` block or a ``stop()`` that awaits
anything would stop at its first await and leave connections, tasks or the scheduler's state
behind. Only anyio makes such scopes, and nbsched does not import anyio for itself (it would
slow down ``import nbsched``), so without anyio loaded there is nothing to shield from.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext

__all__ = ["shielded_from_cancel_scopes"]


def shielded_from_cancel_scopes() -> AbstractContextManager[object]:
    """A shielding anyio cancel scope when anyio is loaded; a no-op context otherwise."""
    anyio = sys.modules.get("anyio")
    if anyio is None:
        return nullcontext()
    return anyio.CancelScope(shield=True)  # type: ignore[no-any-return]
