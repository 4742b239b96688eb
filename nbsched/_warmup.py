"""Import what charts need (pandas) in a background thread, so that no scheduled cell waits
(internal).

Importing pandas takes about a second. Done on the kernel's thread, at the first
``%sched timeline`` or ``nbsched.timeline()``, it would hold up every scheduled cell for that
long (a ``%%every 500ms`` cell started 311-383 ms late). ``%load_ext nbsched`` therefore starts
:func:`start`: a daemon thread imports the chart modules and draws one tiny chart (the first
use of some pandas paths imports more modules). The thread shares the GIL with the kernel's
thread, which Python hands over every few milliseconds, so a scheduled cell waits at most a
few of those.

A :class:`~nbsched.widgets.Timeline` made meanwhile (``%sched timeline`` right after
``%load_ext``) shows itself at once and draws its first chart through :func:`when_ready`, on
the kernel's loop once the thread is done.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

__all__ = ["ready", "start", "wait", "when_ready"]

_logger = logging.getLogger(__name__)
_lock = threading.Lock()
_done = threading.Event()
_started = False
_waiting: list[tuple[asyncio.AbstractEventLoop, Callable[[], None]]] = []


def start() -> None:
    """Start importing in the background (once per process)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_import, name="nbsched-warmup", daemon=True).start()


def wait(timeout: float | None = None) -> bool:
    """Block until the background imports are done (for tests); True if they are."""
    return not _started or _done.wait(timeout)


def ready() -> bool:
    """True once the chart modules are imported (or the import failed: then the caller
    imports them itself and sees the error)."""
    return _done.is_set()


def when_ready(callback: Callable[[], None]) -> None:
    """Call ``callback()`` on the running loop's thread once the imports are done; at once if
    they are, or if nothing is importing them (then the caller's own import does it)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # nothing to call back on: the caller imports (or waits) itself
        loop = None
    with _lock:
        if loop is not None and not _done.is_set() and _started:
            _waiting.append((loop, callback))
            return
    callback()


def _import() -> None:
    try:
        from datetime import datetime, timezone

        import pandas as pd

        from ._chart import timeline_chart
        from .timelines import timeline
        from .triggers.interval import IntervalTrigger

        # the code paths of a live chart's drawing (past runs too): their first use imports
        # more of pandas
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        frame = timeline(IntervalTrigger(minutes=1, start_time=start), limit=3)
        runs = pd.DataFrame(
            {
                "schedule_id": pd.Series(["warm-up"], dtype=object),
                "fire_time": pd.to_datetime([start], utc=True),
                "outcome": pd.Series(["success"], dtype=object),
            }
        )
        runs = runs.groupby("schedule_id", sort=False).tail(1)
        timeline_chart(frame, runs=runs, now=start)
    except Exception:  # the foreground import will meet the same error and report it
        _logger.debug("could not import the chart modules in the background", exc_info=True)
    finally:
        with _lock:
            _done.set()
            waiting = list(_waiting)
            _waiting.clear()
        for loop, callback in waiting:
            if not loop.is_closed():
                loop.call_soon_threadsafe(callback)
