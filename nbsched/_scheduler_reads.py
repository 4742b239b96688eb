"""What kind of scheduler an object is, and whether its schedules can be read without
awaiting (kept apart from :mod:`nbsched.timelines` so that widgets can ask without importing
pandas)."""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["reads_synchronously"]


def _is_scheduler(obj: Any) -> bool:
    return callable(getattr(obj, "get_schedules", None)) and hasattr(obj, "data_store")


def reads_synchronously(scheduler: Any) -> bool:
    """True if :func:`nbsched.timeline` can read ``scheduler``'s schedules without awaiting: a
    :class:`~nbsched.Scheduler`, or an :class:`~nbsched.AsyncScheduler` on a sync store (like
    SQLite) or on the memory store. Otherwise (PostgreSQL, say) use :func:`nbsched.atimeline`."""
    if not inspect.iscoroutinefunction(scheduler.get_schedules):
        return True
    store = scheduler.data_store
    inner = getattr(store, "original", None)
    if inner is not None and not inspect.iscoroutinefunction(inner.get_schedules):
        return True
    from .datastores.memory import MemoryDataStore

    return type(store).get_schedules is MemoryDataStore.get_schedules
