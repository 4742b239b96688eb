"""How the runs of a schedule went, as the dashboard and a scheduled cell's status line show
them (the counts come from :class:`nbsched._runs.RunTracker`)."""

from __future__ import annotations

import html

from .._enums import JobOutcome
from .._runs import RunStats
from ._format import format_duration

__all__ = ["outcome_html", "ran_on_html"]


def ran_on_html(stats: RunStats | None, identity: str | None) -> str:
    """The "ran on" cell: ``this kernel`` when the scheduler ``identity`` ran the last run,
    else the identity of the scheduler that did (full identity in the tooltip)."""
    if stats is None or not stats.last_scheduler:
        return "—"
    who = stats.last_scheduler
    shown = "this kernel" if who == identity else who
    return f"<span title='{html.escape(who)}'>{html.escape(shown)}</span>"


def outcome_html(stats: RunStats | None) -> str:
    """The "last run" cell: ``✓ 0.012 s``, ``✗ ZeroDivisionError``, ``running…`` or
    ``queued`` (acquired, waiting for the kernel)."""
    if stats is None or (stats.last_outcome is None and not stats.running and not stats.queued):
        return "—"
    if stats.running:
        return "<i>running…</i>"
    if stats.queued:
        return "<i style='color:#777'>queued</i>"
    duration = html.escape(format_duration(stats.last_duration))
    if stats.last_outcome is JobOutcome.success:
        return f"<span style='color:#2e7d32'>✓ ok</span> {duration}"
    error = html.escape(stats.last_error or "")
    return (
        f"<span style='color:#c62828' title='{error}'>✗ "
        f"{html.escape(stats.last_outcome.name if stats.last_outcome else '')}</span> {duration}"
    )
