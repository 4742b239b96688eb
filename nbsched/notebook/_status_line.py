"""The one-line status above a scheduled cell's output: what it is, when it runs next, how its
runs went. A pure function of what the notebook layer knows, so it is tested without a kernel."""

from __future__ import annotations

import html
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from .._runs import RunStats
from ..widgets._format import format_duration, format_moment
from ..widgets._run_stats import outcome_html
from ._cell_output import ROUTINE_INTERVAL
from ._cell_task import TASK_ID

__all__ = ["RouteInfo", "cell_status_html", "dashboard_note", "line_state", "status_html"]

#: states that replace the "next ..." part of the line
_FINAL_STATES = ("removed", "finished", "failed", "scheduling…")


@dataclass(slots=True)
class RouteInfo:
    """What the notebook layer knows about one scheduled cell between events."""

    trigger_text: str = ""
    #: the zone a wall-clock trigger counts in (a cron's ``--tz``), shown beside the local one
    trigger_tz: tzinfo | None = None
    next_fire_time: datetime | None = None
    paused: bool = False
    state: str = "scheduling…"
    stop_on_error: bool = False
    #: False once the cell is no longer shown in any front end (deleted)
    shown: bool = True
    #: the time between its last two fires (None before the second)
    fire_gap: timedelta | None = None

    @property
    def frequent(self) -> bool:
        """It fires more often than its line is rewritten for routine changes
        (:data:`~nbsched.notebook._cell_output.ROUTINE_INTERVAL`): the line shows no next fire
        time, which would be in the past for most of the time it is shown (the trigger's text
        says how often it runs)."""
        gap = self.fire_gap
        return gap is not None and gap.total_seconds() < ROUTINE_INTERVAL


def status_html(
    schedule_id: str,
    info: RouteInfo,
    stats: RunStats | None,
    *,
    now: datetime,
    tz: tzinfo,
    identity: str | None,
) -> str:
    """The status line of ``schedule_id`` (HTML, escaped)."""
    parts = [f"<code>{html.escape(schedule_id)}</code>", html.escape(info.trigger_text)]
    if info.state in _FINAL_STATES:
        parts.append(f"<i>{html.escape(info.state)}</i>")
    elif info.paused:
        why = {
            "untrusted": ": not signed by you, see %sched show",
            "paused after an error": " after an error",
        }
        parts.append(f"<i>paused{html.escape(why.get(info.state, ''))}</i>")
    elif info.next_fire_time is not None and not info.frequent:
        moment = format_moment(
            info.next_fire_time, now=now, tz=tz, zone=True, also=info.trigger_tz
        )
        parts.append(f"next {html.escape(moment)}")
    if not info.shown:
        parts.append("<i style='color:#c62828'>cell not shown</i>")
    if stats is not None and (stats.runs or stats.running or stats.queued):
        parts.append(f"{stats.runs} run{'s' if stats.runs != 1 else ''}")
        parts.append(outcome_html(stats))
        if stats.last_scheduler and stats.last_scheduler != identity:
            # a store shared with other kernels: the last run happened in one of them
            parts.append(f"ran on {html.escape(stats.last_scheduler)}")
        if stats.last_lateness is not None and stats.last_lateness.total_seconds() >= 1:
            parts.append(f"started {html.escape(format_duration(stats.last_lateness))} late")
    return "<span style='font-size:90%;color:#555'>" + " · ".join(parts) + "</span>"


def line_state(info: RouteInfo, stats: RunStats | None, store_unavailable: bool) -> Hashable:
    """What the status line of ``info`` and ``stats`` says apart from its routine parts (the
    run count, the last run's duration, the next fire time, by how much a late run started
    late): two lines with the same state differ only in those, and the second may wait
    (:meth:`~nbsched.notebook._cell_output.CellOutput.set_status`)."""
    runs: tuple[object, ...] = ()
    if stats is not None:
        late = stats.last_lateness is not None and stats.last_lateness.total_seconds() >= 1
        runs = (
            stats.running,
            stats.queued,
            stats.last_outcome,
            stats.last_error,
            stats.last_scheduler,
            late,
        )
    return (
        info.state,
        info.paused,
        info.shown,
        info.trigger_text,
        str(info.trigger_tz),
        info.next_fire_time is None,
        info.frequent,
        runs,
        store_unavailable,
    )


def dashboard_note(schedule: Any, *, not_shown: set[str]) -> str:
    """What the dashboard shows under a cell schedule's id (HTML): the cell's first line (ids
    like ``cell-1a2b3c4d`` match nothing the user sees) and "cell not shown" for a deleted
    cell (``not_shown``)."""
    if schedule.task_id != TASK_ID:
        return ""
    source = str(schedule.kwargs.get("source", ""))
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if len(first) > 200:  # the dashboard shows what fits, ending in "…"; the tooltip the rest
        first = first[:199] + "…"
    shown = html.escape(first)
    note = f"<br><small style='color:#555' title='{shown}'>{shown}</small>" if first else ""
    if schedule.id in not_shown:
        note += "<br><small style='color:#c62828'>cell not shown</small>"
    return note


def cell_status_html(holder: Any, schedule_id: str) -> str | None:
    """The status line of the cell schedule ``schedule_id`` of ``holder`` (the kernel's
    ``NotebookScheduler``) as it stands now; ``None`` once the schedule is gone."""
    from .._localzone import get_local_timezone
    from ..widgets._store_status import store_status_html

    info = holder._info.get(schedule_id)
    if info is None:
        return None
    stats = holder.tracker.stats.get(schedule_id) if holder.tracker else None
    tz = get_local_timezone()
    line = status_html(
        schedule_id, info, stats, now=holder.clock.now(), tz=tz, identity=holder.scheduler.identity
    )
    if outage := store_status_html(holder.scheduler, tz):
        line += f"<span style='font-size:90%'> · {outage}</span>"
    return line
