"""How a scheduler's recent jobs ended, remembered for charts of past runs.

Kept apart from :mod:`nbsched.timelines` so that the notebook layer can start recording at
``%load_ext`` without importing pandas.
"""

from __future__ import annotations

import weakref
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._protocols import SchedulerLike
from .events import JobReleased

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunHistory", "apast_runs", "past_runs", "track_runs"]


class RunHistory:
    """Remembers how a scheduler's recent jobs ended, for charts of past runs.

    Get one with :func:`track_runs`; it subscribes to the scheduler's ``JobReleased`` events and
    keeps the last ``maxlen`` of them (oldest dropped first).
    """

    def __init__(self, scheduler: SchedulerLike, maxlen: int = 1000) -> None:
        self._runs: deque[tuple[str, datetime, str]] = deque(maxlen=maxlen)
        self.subscription = scheduler.subscribe(self._on_released, [JobReleased])

    def _on_released(self, event: Any) -> None:
        if event.schedule_id is None:
            return
        when = event.scheduled_start or event.started_at or event.timestamp
        self._runs.append((event.schedule_id, when, event.outcome.name))

    def frame(self) -> pd.DataFrame:
        """The recorded runs: ``schedule_id``, ``fire_time`` (UTC), ``outcome`` (its name)."""
        import pandas as pd

        runs = list(self._runs)
        return pd.DataFrame(
            {
                "schedule_id": pd.Series([r[0] for r in runs], dtype=object),
                "fire_time": pd.to_datetime([r[1] for r in runs], utc=True),
                "outcome": pd.Series([r[2] for r in runs], dtype=object),
            }
        )


_histories: weakref.WeakKeyDictionary[Any, RunHistory] = weakref.WeakKeyDictionary()


def track_runs(scheduler: SchedulerLike) -> RunHistory:
    """Start (or return the already started) :class:`RunHistory` of ``scheduler``.

    ``%load_ext nbsched`` calls it for the kernel's scheduler, so timeline charts show every
    run since the extension was loaded.
    """
    history = _histories.get(scheduler)
    if history is None:
        history = _histories[scheduler] = RunHistory(scheduler)
    return history


def _tracked(scheduler: SchedulerLike) -> pd.DataFrame | None:
    history = _histories.get(scheduler)
    return None if history is None else history.frame()


def past_runs(scheduler: SchedulerLike) -> pd.DataFrame | None:
    """The runs of ``scheduler``: from its store's run history when it keeps one that can be
    read without awaiting (so they survive a restart), else those recorded since
    :func:`track_runs` was called, if it was. On a store that must be awaited (PostgreSQL)
    use :func:`apast_runs`."""
    from ._history_frame import stored_past_runs

    stored = stored_past_runs(scheduler)
    return _tracked(scheduler) if stored is None else stored


async def apast_runs(scheduler: SchedulerLike) -> pd.DataFrame | None:
    """Like :func:`past_runs`, awaiting the store's run history: on PostgreSQL, the runs every
    scheduler on the schema did (a second kernel sees the first one's runs)."""
    from ._history_frame import astored_past_runs

    stored = await astored_past_runs(scheduler)
    return _tracked(scheduler) if stored is None else stored
