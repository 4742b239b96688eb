"""``nbsched.preview``: a trigger's next fire times, a chart and its contract check, readable.

Imports pandas (as :mod:`nbsched.timelines`, which re-exports these names, does); the
functions of :mod:`nbsched.timelines` it uses are imported when called, so either module can
be imported first.
"""

from __future__ import annotations

import html
import traceback
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING

import pandas as pd

from ._marshalling import clone_trigger
from .abc import Trigger

if TYPE_CHECKING:
    from ._chart import TimelineChart

__all__ = ["ContractResult", "TriggerPreview", "format_gap", "preview"]

_MICROSECONDS = {"d": 86_400_000_000, "h": 3_600_000_000, "min": 60_000_000}


def format_gap(value: timedelta) -> str:
    """The time between two fires, exactly and readably: ``1 s``, ``1 h 30 min``,
    ``2 d 5 s``, ``0.25 s``, ``1 min 0.5 s`` (zero parts are left out; ``0 s`` for none)."""
    left = abs(value // timedelta(microseconds=1))
    parts = []
    for unit, size in _MICROSECONDS.items():
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}")
    if left or not parts:
        seconds = f"{left / 1_000_000:.6f}".rstrip("0").rstrip(".")
        parts.append(f"{seconds} s")
    return ("-" if value < timedelta(0) else "") + " ".join(parts)


@dataclass(slots=True)
class ContractResult:
    """The outcome of :func:`nbsched.testing.check_trigger` on a copy of a trigger.

    :ivar passed: the contract holds
    :ivar message: one line: passed, or which rule broke at which call
    :ivar details: what the check did, one fact a line (when it passed)
    """

    passed: bool
    message: str
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "\n".join((self.message, *(f"  {line}" for line in self.details)))


def _check_contract(trigger: Trigger) -> ContractResult:
    from ._exceptions import TriggerContractError
    from .testing import check_trigger

    try:
        copy = clone_trigger(trigger)
    except Exception as exc:
        return ContractResult(
            False,
            f"rule broken: __setstate__ must accept what __getstate__ returned: copying the "
            f"trigger failed with {type(exc).__name__}: {exc}",
        )
    try:
        report = check_trigger(copy)
    except TriggerContractError as exc:
        return ContractResult(False, str(exc))
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return ContractResult(
            False,
            f"the trigger raised {type(exc).__name__}: {exc} (in {where.name}, line "
            f"{where.lineno})",
        )
    return ContractResult(
        True, "check_trigger passed: the trigger keeps the contract", tuple(report.facts())
    )


@dataclass(slots=True)
class TriggerPreview:
    """What :func:`preview` returns: the table, the chart and the contract check.

    Displaying it (as a cell's last expression, or with ``IPython.display.display``) shows
    the check result, the table of the next fire times and the chart.

    :ivar trigger: the trigger previewed (left untouched)
    :ivar table: the next fire times (a :func:`~nbsched.timeline` DataFrame), or ``None`` if
        the trigger could not produce them
    :ivar error: why there is no table
    :ivar check: the :func:`nbsched.testing.check_trigger` result
    :ivar n: how many fire times were asked for
    """

    trigger: Trigger
    table: pd.DataFrame | None
    error: str | None
    check: ContractResult
    n: int = 0
    _chart: TimelineChart | None = field(default=None, repr=False)

    @property
    def chart(self) -> TimelineChart | None:
        """The chart of :attr:`table` (``None`` when there is no table)."""
        if self._chart is None and self.table is not None:
            from ._chart import timeline_chart
            from .timelines import describe_trigger

            self._chart = timeline_chart(self.table, title=describe_trigger(self.trigger))
        return self._chart

    @property
    def note(self) -> str | None:
        """Why the table has fewer than the ``n`` fire times asked for (``None`` if it has
        them all): the trigger has no more."""
        if self.table is None or len(self.table) >= self.n:
            return None
        found = len(self.table)
        if not found:
            return f"no fire times: the trigger's first next() returned None (asked for {self.n})"
        return (
            f"only {found} fire time{'' if found == 1 else 's'}, not the {self.n} asked for: the "
            f"trigger ends there (next() returned None after the last one shown)"
        )

    def _status_html(self) -> str:
        colour = "#1a7f37" if self.check.passed else "#cf222e"
        mark = "✔" if self.check.passed else "✘"
        parts = [
            f'<div class="nbsched-preview-check" style="color:{colour};font-weight:600">'
            f"{mark} {html.escape(self.check.message)}</div>"
        ]
        if self.check.details:
            items = "".join(f"<li>{html.escape(line)}</li>" for line in self.check.details)
            parts.append(
                f'<ul class="nbsched-preview-details" style="margin:2px 0 4px">{items}</ul>'
            )
        if self.error is not None:
            parts.append(
                '<div class="nbsched-preview-error" style="color:#cf222e">'
                f"no fire times: {html.escape(self.error)}</div>"
            )
        if self.note is not None:
            parts.append(f'<div class="nbsched-preview-note">{html.escape(self.note)}</div>')
        return "\n".join(parts)

    def compact_table(self) -> pd.DataFrame | None:
        """The table as shown: position, fire time and the time since the previous fire as
        readable text (``1 s``, ``1 h 30 min``; see :func:`format_gap`)."""
        if self.table is None:
            return None
        gaps = self.table["fire_time"].diff()
        return pd.DataFrame(
            {
                "n": self.table["n"],
                "fire_time": self.table["fire_time"],
                "gap": ["—" if pd.isna(gap) else format_gap(gap.to_pytimedelta()) for gap in gaps],
            }
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display({"text/html": self._status_html(), "text/plain": self._status_text()}, raw=True)
        compact = self.compact_table()
        if compact is not None:
            display(compact)
            chart = self.chart
            if chart is not None and len(compact):
                display(chart)

    def _status_text(self) -> str:
        lines = [("PASS " if self.check.passed else "FAIL ") + str(self.check)]
        if self.error is not None:
            lines.append(f"no fire times: {self.error}")
        if self.note is not None:
            lines.append(self.note)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        compact = self.compact_table()
        table = "" if compact is None else compact.to_html(index=False)
        return self._status_html() + table

    def __repr__(self) -> str:
        compact = self.compact_table()
        if compact is None:
            return self._status_text()
        table: str = compact.to_string(index=False)
        return self._status_text() + "\n" + table


def preview(trigger: Trigger, n: int = 20, *, tz: str | tzinfo | None = None) -> TriggerPreview:
    """Preview a trigger: its next ``n`` fire times (table and chart) and its contract check.

    The trigger itself is not advanced (everything runs on copies), so call it as often as you
    like while editing a custom trigger class: re-running the cell shows the new result.

    :param trigger: any trigger, built-in or custom
    :param n: how many fire times to show (fewer when the trigger ends first: the preview
        says so)
    :param tz: time zone of the table (default: the trigger's own)
    :return: a :class:`TriggerPreview`; as a cell's last expression it displays the check
        result, the table and the chart
    :raises TypeError: ``trigger`` is not a Trigger
    :raises ValueError: ``n`` is not a positive int

    Example::

        nbsched.preview(EveryOtherDay(start=datetime(2026, 1, 1, tzinfo=UTC)), n=5)
    """
    from .timelines import DEFAULT_LIMIT, _check_limit, timeline

    if not isinstance(trigger, Trigger):
        raise TypeError(
            f"trigger: expected a Trigger (subclass of nbsched.abc.Trigger), got "
            f"{type(trigger).__name__} {trigger!r}"
        )
    n = _check_limit(n) or DEFAULT_LIMIT
    check = _check_contract(trigger)
    table: pd.DataFrame | None = None
    error: str | None = None
    try:
        table = timeline({type(trigger).__name__: trigger}, limit=n, tz=tz)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    return TriggerPreview(trigger=trigger, table=table, error=error, check=check, n=n)
