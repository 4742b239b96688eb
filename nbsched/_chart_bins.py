"""Fewer marks for big timelines: the fires of each lane counted per time bin.

A browser draws a Vega-Lite chart of 100,000 points as SVG in about ten seconds (and the spec
is some 17 MB); past :data:`MAX_MARKS` points a chart draws one mark per lane, status and time
bin instead, with the count in its tooltip, and says so in its subtitle. The bin width is the
smallest "round" duration that keeps the marks under the limit. The threshold's figures come
from ``benchmarks/chart_size.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["MAX_LANES", "MAX_MARKS", "Binned", "bin_rows", "describe_width", "merge_lanes"]

#: Above this many fires and runs, a chart draws them counted per time bin.
MAX_MARKS = 2_000
#: At most this many lanes are drawn: a lane is 34 px tall, and a chart of 1,000 lanes (34,000
#: px, past the tallest canvas Chromium draws) took 10 s to draw however few its marks were.
MAX_LANES = 100

_ROUND_WIDTHS = (
    [
        pd.Timedelta(seconds=s)
        for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
    ]
    + [pd.Timedelta(hours=12)]
    + [pd.Timedelta(days=d) for d in (1, 2, 7, 14, 30, 91, 182, 365)]
)


@dataclass(frozen=True, slots=True)
class Binned:
    """The rows to draw after binning, and the bin width (``None``: every fire drawn)."""

    rows: pd.DataFrame
    width: pd.Timedelta | None


def _width_for(span: pd.Timedelta, bins: int) -> pd.Timedelta:
    for width in _ROUND_WIDTHS:
        if span / width < bins:
            return width
    return pd.Timedelta(days=max(1, int(span / pd.Timedelta(days=1) / bins) + 1))


def bin_rows(rows: pd.DataFrame, max_marks: int = MAX_MARKS) -> Binned:
    """``rows`` (``schedule_id``, ``status``, ``trigger``, ``fire_time`` in UTC) as they are if
    there are at most ``max_marks``, else one row per lane, status and time bin: the bin's
    first fire time, the ``trigger`` of its lane, and ``count`` (fires in the bin) and
    ``last`` (its last fire time)."""
    if len(rows) <= max_marks:
        return Binned(rows, None)
    groups = rows.groupby(["schedule_id", "status"], sort=False).ngroups
    bins = max(1, max_marks // max(1, groups))
    span = rows["fire_time"].max() - rows["fire_time"].min()
    width = _width_for(span, bins)
    # bins aligned on multiples of the width since the epoch (UTC): round, stable edges
    bin_index = (rows["fire_time"] - pd.Timestamp(0, tz="UTC")) // width
    binned = (
        rows.assign(bin=bin_index)
        .groupby(["schedule_id", "status", "bin"], sort=False)
        .agg(
            trigger=("trigger", "first"),
            fire_time=("fire_time", "min"),
            last=("fire_time", "max"),
            count=("fire_time", "size"),
        )
        .reset_index()
        .drop(columns=["bin"])
        .sort_values("fire_time", kind="stable", ignore_index=True)
    )
    return Binned(binned, width)


def merge_lanes(rows: pd.DataFrame, max_lanes: int = MAX_LANES) -> tuple[pd.DataFrame, int]:
    """``rows`` (sorted by ``fire_time``) with at most ``max_lanes`` lanes: the first
    ``max_lanes - 1`` lanes to have a fire or run keep theirs, the others share the last lane,
    ``+N more``; return the rows and N (0: nothing merged). Every fire is still drawn."""
    lanes = rows["schedule_id"].unique()
    if len(lanes) <= max_lanes:
        return rows, 0
    kept = lanes[: max_lanes - 1]
    merged = len(lanes) - len(kept)
    others = ~rows["schedule_id"].isin(kept)
    rows = rows.copy()
    rows.loc[others, "schedule_id"] = f"+{merged:,} more"
    rows.loc[others, "trigger"] = "several"
    return rows, merged


def describe_width(width: pd.Timedelta) -> str:
    """``15 s``, ``5 min``, ``3 h``, ``2 days``."""
    seconds = int(width.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''}"
