"""The one line that says a scheduler's data store is unavailable, for the dashboard and the
status lines of scheduled cells: ``store unavailable since 14:02:07 (reason)``."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from .._protocols import SchedulerLike
from .._store_outage import describe_outage
from ..events import DataStoreRecovered, DataStoreUnavailable

__all__ = ["on_store_status_change", "store_status_html", "store_status_text"]


def store_status_text(scheduler: SchedulerLike, tz: tzinfo | None = None) -> str:
    """The line for ``scheduler`` (an AsyncScheduler or Scheduler), or ``""`` while its store
    is usable; the time in ``tz``."""
    since = getattr(scheduler, "store_unavailable_since", None)
    if since is None:
        return ""
    return describe_outage(since, getattr(scheduler, "store_unavailable_reason", None), tz)


def store_status_html(scheduler: SchedulerLike, tz: tzinfo | None = None) -> str:
    """:func:`store_status_text` as red HTML (``""`` while the store is usable)."""
    text = store_status_text(scheduler, tz)
    return f"<span style='color:#c62828'>{html.escape(text)}</span>" if text else ""


def on_store_status_change(scheduler: SchedulerLike, callback: Callable[[], Any]) -> Any:
    """Call ``callback()`` when the store becomes unavailable or usable again; return the
    subscription."""
    return scheduler.subscribe(
        lambda _event: callback(), [DataStoreUnavailable, DataStoreRecovered]
    )
