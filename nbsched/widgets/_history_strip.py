"""The dashboard's history columns: each schedule's last outcomes as a strip of small colored
glyphs, and its median run duration, from the store's run history (so they survive a
restart on a SQLite file and show every scheduler's runs on PostgreSQL)."""

from __future__ import annotations

import asyncio
import html
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from .._enums import JobOutcome
from .._history import RunRecord
from .._protocols import SchedulerLike
from .._scheduler_reads import is_blocking
from .._schedulers.sync import run_blocking
from ._format import format_duration

__all__ = ["STRIP_LENGTH", "median_duration", "recent_runs", "strip_html", "runs_by_schedule"]

#: how many of a schedule's last runs the strip shows
STRIP_LENGTH = 10

#: outcome -> (glyph, color): the shape tells outcomes apart without color too
GLYPHS: dict[JobOutcome, tuple[str, str]] = {
    JobOutcome.success: ("●", "#2e7d32"),
    JobOutcome.error: ("✖", "#c62828"),
    JobOutcome.missed_start_deadline: ("○", "#ef6c00"),
    JobOutcome.cancelled: ("◌", "#757575"),
    JobOutcome.abandoned: ("▲", "#6a1b9a"),
    JobOutcome.deserialization_failed: ("■", "#8d1b1b"),
}


async def recent_runs(scheduler: SchedulerLike) -> list[RunRecord]:
    """Every run the scheduler's store keeps, oldest first (awaited on an AsyncScheduler; in a
    worker thread for the blocking :class:`~nbsched.Scheduler`, so the loop never blocks)."""
    store = scheduler.data_store
    if not is_blocking(scheduler):
        return list(await store.get_run_history())
    # the store read is created in the worker thread: a refresh cancelled before the thread
    # starts then leaves no coroutine behind that was never awaited
    return list(await asyncio.to_thread(lambda: run_blocking(scheduler, store.get_run_history())))


def runs_by_schedule(records: Iterable[RunRecord]) -> dict[str, list[RunRecord]]:
    """The records of each schedule, oldest first (runs without a schedule left out)."""
    grouped: dict[str, list[RunRecord]] = defaultdict(list)
    for record in records:
        if record.schedule_id is not None:
            grouped[record.schedule_id].append(record)
    for runs in grouped.values():
        runs.sort(key=lambda r: r.finished_at)
    return dict(grouped)


def _title(record: RunRecord) -> str:
    parts = [record.outcome.name.replace("_", " ")]
    if record.fire_time is not None:
        parts.append(f"fired {record.fire_time:%Y-%m-%d %H:%M:%S %Z}")
    if record.started_at is not None:
        parts.append(f"took {format_duration(record.finished_at - record.started_at)}")
    if record.error:
        parts.append(record.error)
    return " · ".join(parts)


def strip_html(runs: list[RunRecord], length: int = STRIP_LENGTH) -> str:
    """The last ``length`` runs as colored glyphs, oldest left; a tooltip on each says when it
    fired, how long it took and its error. ``—`` when there are none."""
    if not runs:
        return "—"
    glyphs = []
    for record in runs[-length:]:
        glyph, color = GLYPHS.get(record.outcome, ("?", "#000"))
        glyphs.append(
            f"<span class='nbsched-run nbsched-run-{record.outcome.value}' style='color:{color}' "
            f"title='{html.escape(_title(record), quote=True)}'>{glyph}</span>"
        )
    return f"<span class='nbsched-strip' style='letter-spacing:1px'>{''.join(glyphs)}</span>"


def median_duration(runs: list[RunRecord]) -> timedelta | None:
    """The median duration of the runs that started (``None`` if none did)."""
    durations = sorted(r.finished_at - r.started_at for r in runs if r.started_at is not None)
    if not durations:
        return None
    middle = len(durations) // 2
    if len(durations) % 2:
        return durations[middle]
    return (durations[middle - 1] + durations[middle]) / 2
