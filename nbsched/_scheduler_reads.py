"""What kind of scheduler an object is, and whether its schedules can be read without
awaiting (kept apart from :mod:`nbsched.timelines` so that widgets can ask without importing
pandas)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, TypeGuard

from ._protocols import SchedulerLike, sync_store_of

if TYPE_CHECKING:
    from ._schedulers.sync import Scheduler

__all__ = ["reads_synchronously"]


def _is_scheduler(obj: Any) -> TypeGuard[SchedulerLike]:
    """Whether ``obj`` is a :class:`~nbsched.Scheduler` or :class:`~nbsched.AsyncScheduler`
    (or anything else with their ``get_schedules()`` and ``data_store``)."""
    return callable(getattr(obj, "get_schedules", None)) and hasattr(obj, "data_store")


def is_blocking(scheduler: SchedulerLike) -> TypeGuard[Scheduler]:
    """Whether ``scheduler``'s methods return their results (a :class:`~nbsched.Scheduler`)
    rather than coroutines (an :class:`~nbsched.AsyncScheduler`)."""
    return not inspect.iscoroutinefunction(scheduler.get_schedules)


def reads_synchronously(scheduler: SchedulerLike) -> bool:
    """True if :func:`nbsched.timeline` can read ``scheduler``'s schedules without awaiting: a
    :class:`~nbsched.Scheduler`, or an :class:`~nbsched.AsyncScheduler` on a sync store (like
    SQLite) or on the memory store. Otherwise (PostgreSQL, say) use :func:`nbsched.atimeline`."""
    if is_blocking(scheduler):
        return True
    store = scheduler.data_store
    if sync_store_of(store) is not None:
        return True
    from .datastores.memory import MemoryDataStore

    return type(store).get_schedules is MemoryDataStore.get_schedules
