"""A chart of a timeline: one lane per schedule, a marker per fire, a line for now.

The chart is a Vega-Lite spec shown through the ``application/vnd.vegalite.v5+json`` mime
type, which JupyterLab 4, Notebook 7 and VS Code render with their built-in renderers: nothing
to install in the front end, no JavaScript fetched from a CDN.

The spec is written here as plain data rather than built with Altair: importing Altair takes
seconds, and in a notebook that time blocks the kernel's event loop, delaying every scheduled
cell. :meth:`TimelineChart.to_altair` turns the spec into an Altair chart for those who want to
restyle it. (Altair 6's own repr would not do either: its default is HTML that loads Vega from
a CDN, which fails offline, and JupyterLab 4 does not render its v6 mime type.)

Times are drawn at their wall-clock position in one display zone (the timeline's zone by
default), so a chart of a Europe/Berlin cron trigger reads like a Berlin clock, across DST
changes too; the tooltip gives every fire time with its UTC offset.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any

import pandas as pd

from ._chart_bins import MAX_LANES, MAX_MARKS, bin_rows, describe_width, merge_lanes
from ._converters import as_timezone

__all__ = [
    "MAX_MARKS",
    "TimelineChart",
    "atimeline_chart",
    "timeline_chart",
    "VEGALITE_MIME",
    "STATUS_COLOURS",
]

VEGALITE_MIME = "application/vnd.vegalite.v5+json"
_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: Display metadata: draw as SVG (crisp, and its text can be found in the page).
EMBED_METADATA = {VEGALITE_MIME: {"embed_options": {"renderer": "svg"}}}
#: For a chart of binned fires (past :data:`~nbsched._chart_bins.MAX_MARKS`): canvas, which
#: draws many marks faster than SVG and keeps no DOM node per mark.
CANVAS_METADATA = {VEGALITE_MIME: {"embed_options": {"renderer": "canvas"}}}

#: Marker colour of each status: upcoming fires, paused schedules, and past runs by outcome.
STATUS_COLOURS = {
    "upcoming": "#4c78a8",
    "paused": "#bab0ac",
    "success": "#54a24b",
    "error": "#e45756",
    "missed_start_deadline": "#f58518",
    "cancelled": "#9d755d",
    "abandoned": "#b279a2",
    "deserialization_failed": "#72b7b2",
}


def _wall(times: pd.Series, zone: tzinfo) -> list[str]:
    # The wall-clock time in ``zone``, written as if it were UTC: with a "utc" scale the
    # browser then labels the axis in that zone, whatever the browser's own zone is.
    local = times.dt.tz_convert(zone).dt.tz_localize(None)
    walls: list[str] = (local.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z").tolist()
    return walls


def _label(times: pd.Series, zone: tzinfo) -> list[str]:
    labels: list[str] = (
        times.dt.tz_convert(zone).dt.strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)").tolist()
    )
    return labels


class TimelineChart:
    """A timeline chart; displays itself as a Vega-Lite chart in Jupyter front ends.

    :ivar spec: the Vega-Lite spec (schema v5, plain data)
    :ivar data: the rows drawn (``schedule_id``, ``status``, ``wall``, ``when``, ...; for a
        binned chart one row per mark, with ``count``)
    :ivar bin_width: the time bin of a chart of more than
        :data:`~nbsched._chart_bins.MAX_MARKS` fires (``None``: every fire is drawn)
    :ivar upcoming: upcoming fires drawn (paused ones included)
    :ivar past: past runs drawn
    :ivar lanes: lanes drawn (a schedule with only past runs has one too)
    """

    def __init__(
        self,
        spec: dict[str, Any],
        data: pd.DataFrame,
        summary: str,
        bin_width: pd.Timedelta | None = None,
        *,
        upcoming: int = 0,
        past: int = 0,
        lanes: int = 0,
    ) -> None:
        self.spec = spec
        self.data = data
        self.summary = summary
        self.bin_width = bin_width
        self.upcoming, self.past, self.lanes = upcoming, past, lanes

    def to_dict(self) -> dict[str, Any]:
        """The Vega-Lite spec (schema v5), as a copy."""
        import copy

        return copy.deepcopy(self.spec)

    def to_altair(self) -> Any:
        """The chart as an Altair ``LayerChart``, to restyle it with Altair's API."""
        import altair as alt

        return alt.LayerChart.from_dict(self.to_dict())

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # the spec itself, not a copy: a display serializes it at once (a deep copy of a big
        # spec took longer than building it)
        metadata = EMBED_METADATA if self.bin_width is None else CANVAS_METADATA
        return {VEGALITE_MIME: self.spec, "text/plain": self.summary}, metadata

    def __repr__(self) -> str:
        return self.summary


def _as_frame(data: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if isinstance(data, pd.DataFrame):
        return data, None
    from ._scheduler_reads import _is_scheduler
    from .timelines import past_runs, timeline

    frame = timeline(data)
    return frame, past_runs(data) if _is_scheduler(data) else None


def timeline_chart(
    data: Any,
    *,
    runs: pd.DataFrame | None = None,
    now: datetime | None = None,
    tz: str | tzinfo | None = None,
    title: str | None = None,
    width: int = 640,
) -> TimelineChart:
    """Draw a timeline: one lane per schedule, a marker per fire, a dashed red line for now.

    :param data: a :func:`nbsched.timeline` DataFrame, or anything :func:`nbsched.timeline`
        accepts (a scheduler's past runs are drawn too: from its store's run history, see
        :func:`nbsched.history`, or else those :func:`nbsched.timelines.track_runs` recorded)
    :param runs: past runs to draw, coloured by outcome: a DataFrame with ``schedule_id``,
        ``fire_time`` and ``outcome`` (a :class:`~nbsched.JobOutcome` name)
    :param now: where to draw the "now" line (default: the current time); it is left out when
        it lies far outside the drawn fire times
    :param tz: the zone whose wall clock the time axis shows (default: the data's zone)
    :param title: the chart title
    :param width: width in pixels
    :return: a :class:`TimelineChart`
    :raises ValueError: ``data`` lacks the ``schedule_id`` or ``fire_time`` column
    """
    frame, found_runs = _as_frame(data)
    if runs is None:
        runs = found_runs
    for name in ("schedule_id", "fire_time"):
        if name not in frame.columns:
            raise ValueError(
                f"data: the DataFrame has no {name!r} column (columns: "
                f"{list(frame.columns)}); pass what nbsched.timeline() returns"
            )
    if not isinstance(frame["fire_time"].dtype, pd.DatetimeTZDtype):
        raise ValueError("data: the 'fire_time' column must hold tz-aware datetimes")
    if tz is not None:
        zone = as_timezone(tz, argument="tz")
    else:
        zone = frame["fire_time"].dt.tz or timezone.utc

    upcoming = pd.DataFrame(
        {
            "schedule_id": frame["schedule_id"].astype(str),
            "status": [
                "paused" if p else "upcoming" for p in frame.get("paused", [False] * len(frame))
            ],
            "trigger": frame["trigger"].astype(str) if "trigger" in frame else "",
            "fire_time": frame["fire_time"].dt.tz_convert("UTC"),
        }
    )
    parts = [upcoming]
    if runs is not None and len(runs):
        parts.append(
            pd.DataFrame(
                {
                    "schedule_id": runs["schedule_id"].astype(str),
                    "status": runs["outcome"].astype(str),
                    "trigger": "",
                    "fire_time": pd.to_datetime(runs["fire_time"], utc=True),
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else upcoming
    rows = rows.sort_values("fire_time", kind="stable", ignore_index=True)
    fires = int((rows["status"].isin(["upcoming", "paused"])).sum())
    total = len(rows)
    schedules = rows["schedule_id"].nunique()
    rows, merged = merge_lanes(rows)
    binned = bin_rows(rows)
    rows = binned.rows
    rows["wall"] = _wall(rows["fire_time"], zone)
    rows["when"] = _label(rows["fire_time"], zone)
    if binned.width is not None:
        rows["when"] = (
            rows["count"].astype(str)
            + " from "
            + rows["when"]
            + " to "
            + pd.Series(_label(rows["last"], zone), index=rows.index)
        )
        rows = rows.drop(columns=["last"])
    lanes = list(dict.fromkeys(rows["schedule_id"]))
    statuses = [s for s in STATUS_COLOURS if s in set(rows["status"])]
    statuses += sorted(set(rows["status"]) - set(statuses))
    colours = [STATUS_COLOURS.get(s, "#888888") for s in statuses]

    records = rows.drop(columns=["fire_time"]).to_dict(orient="records")
    zone_name = str(zone)
    x = {
        "field": "wall",
        "type": "temporal",
        "title": f"time ({zone_name})",
        "scale": {"type": "utc"},
        "axis": {
            "format": _time_format(rows["fire_time"]),
            "labelOverlap": "greedy",
            "labelSeparation": 6,
        },
    }
    points = {
        "data": {"values": records},
        "mark": {"type": "point", "filled": True, "size": 90, "opacity": 0.9},
        "encoding": {
            "x": x,
            "y": {"field": "schedule_id", "type": "nominal", "title": None, "sort": lanes},
            "color": {
                "field": "status",
                "type": "nominal",
                "title": "status",
                "scale": {"domain": statuses or ["upcoming"], "range": colours or ["#4c78a8"]},
            },
            "tooltip": [
                {"field": "schedule_id", "type": "nominal", "title": "schedule"},
                {
                    "field": "when",
                    "type": "nominal",
                    "title": "fire time" if binned.width is None else "fires",
                },
                {"field": "status", "type": "nominal"},
                {"field": "trigger", "type": "nominal"},
            ],
        },
    }
    layers: list[dict[str, Any]] = []
    now_utc = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    if _now_in_view(now_utc, rows["fire_time"]):
        now_series = pd.Series([pd.Timestamp(now_utc)])
        now_record = {"wall": _wall(now_series, zone)[0], "when": _label(now_series, zone)[0]}
        layers.append(
            {
                "data": {"values": [now_record]},
                "mark": {
                    "type": "rule",
                    "color": "#d62728",
                    "strokeDash": [5, 4],
                    "strokeWidth": 2,
                },
                "encoding": {
                    "x": x,
                    "tooltip": [{"field": "when", "type": "nominal", "title": "now"}],
                },
            }
        )
    layers.append(points)
    spec: dict[str, Any] = {
        "$schema": _SCHEMA,
        "width": width,
        "height": max(60, 34 * max(1, len(lanes))),
        "layer": layers,
    }
    notes = []
    if merged:
        notes.append(
            f"{schedules:,} schedules: the first {MAX_LANES - 1} in a lane each, the other "
            f"{merged:,} together in the last"
        )
    if binned.width is not None:
        notes.append(
            f"{total:,} fires and runs, counted per {describe_width(binned.width)} in "
            f"{len(rows):,} marks (hover one for its count)"
        )
    binned_note = "; ".join(notes)
    if notes:
        # one line per note; Vega draws no subtitle under an empty title: with no title, the
        # notes are the title
        spec["title"] = (
            {"text": title, "subtitle": notes}
            if title
            else {"text": notes, "fontSize": 12, "fontWeight": "normal", "anchor": "start"}
        )
    elif title:
        spec["title"] = title
    summary = (
        f"<nbsched timeline chart: {fires} upcoming fire(s), {total - fires} past run(s), "
        f"{len(lanes)} lane(s), times in {zone_name}{'; ' + binned_note if binned_note else ''}>"
    )
    return TimelineChart(
        spec, rows, summary, binned.width, upcoming=fires, past=total - fires, lanes=len(lanes)
    )


async def atimeline_chart(
    data: Any,
    *,
    runs: pd.DataFrame | None = None,
    now: datetime | None = None,
    tz: str | tzinfo | None = None,
    title: str | None = None,
    width: int = 640,
) -> TimelineChart:
    """Like :func:`timeline_chart`, awaiting an :class:`~nbsched.AsyncScheduler`'s schedules
    and its store's run history: works with every store (on PostgreSQL the past runs are
    every scheduler's). In a notebook cell: ``await nbsched.atimeline_chart(scheduler)``."""
    from ._scheduler_reads import _is_scheduler
    from .timelines import apast_runs, atimeline

    if _is_scheduler(data):
        if runs is None:
            runs = await apast_runs(data)
        data = await atimeline(data)
    return timeline_chart(data, runs=runs, now=now, tz=tz, title=title, width=width)


def _time_format(times: pd.Series) -> str:
    """An axis label format that suits the time span drawn (d3 time format)."""
    span = times.max() - times.min() if len(times) else pd.Timedelta(0)
    if span < pd.Timedelta(hours=1):
        return "%H:%M:%S"
    if span < pd.Timedelta(days=2):
        return "%a %H:%M"
    if span < pd.Timedelta(days=90):
        return "%b %d %H:%M"
    return "%Y-%m-%d"


def _now_in_view(now: datetime, times: pd.Series) -> bool:
    if not len(times):
        return True
    first, last = times.min(), times.max()
    margin = max(last - first, pd.Timedelta(minutes=1))
    return bool(first - margin <= now <= last + margin)
