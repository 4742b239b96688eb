"""A chart of a simulation: one lane per schedule, each run a bar from its start to its end,
coalesced and missed fire times marked, downtime shaded, and below it how many runs go on at
once.

Like the timeline chart (:mod:`nbsched._chart`), it is a plain Vega-Lite v5 spec shown
through Jupyter's built-in renderer; times are drawn at their wall-clock position in the
result's zone.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import pandas as pd

from .._chart import (
    _SCHEMA,
    STATUS_COLOURS,
    TimelineChart,
    _label,
    _time_format,
    _wall,
)
from .._converters import as_timezone

__all__ = ["SimulationChart", "simulation_chart", "OUTCOME_COLOURS"]

#: Colour of each outcome of a fire time.
OUTCOME_COLOURS = {
    "ran": STATUS_COLOURS["success"],
    "cancelled": STATUS_COLOURS["cancelled"],
    "coalesced": "#79706e",
    "missed": STATUS_COLOURS["missed_start_deadline"],
}
_MARKED = ("coalesced", "missed")
_SHAPES = {"coalesced": "cross", "missed": "triangle-down"}
_DOWNTIME_COLOUR = "#9e9e9e"


class SimulationChart(TimelineChart):
    """A simulation chart; displays itself as a Vega-Lite chart in Jupyter front ends.

    :ivar spec: the Vega-Lite spec (schema v5, plain data)
    :ivar data: the runs drawn as bars (``schedule_id``, ``outcome``, ``slot``: the row a run
        takes within its lane when runs of one schedule overlap)
    :ivar concurrency: how many runs go on at each change (``time``, ``running``)
    """

    def __init__(
        self, spec: dict[str, Any], data: pd.DataFrame, concurrency: pd.DataFrame, summary: str
    ) -> None:
        super().__init__(spec, data, summary)
        self.concurrency = concurrency

    def to_altair(self) -> Any:
        """The chart as an Altair ``VConcatChart``, to restyle it with Altair's API."""
        import altair as alt

        return alt.VConcatChart.from_dict(self.to_dict())


def _slots(runs: pd.DataFrame) -> list[int]:
    """For each run, the lowest row of its lane free when it starts (overlapping runs of one
    schedule are drawn one above the other)."""
    slots = [0] * len(runs)
    ends: dict[str, list[pd.Timestamp]] = {}
    order = runs.sort_values("started_at", kind="stable").index
    position = {label: i for i, label in enumerate(runs.index)}
    for label in order:
        row = runs.loc[label]
        lane = ends.setdefault(row["schedule_id"], [])
        for slot, end in enumerate(lane):
            if end <= row["started_at"]:
                lane[slot] = row["finished_at"]
                break
        else:
            slot = len(lane)
            lane.append(row["finished_at"])
        slots[position[label]] = slot
    return slots


def concurrency(df: pd.DataFrame) -> pd.DataFrame:
    """How many runs go on at once: ``time`` and ``running`` from that time on (a run that
    ends when another starts is not counted twice)."""
    runs = df.dropna(subset=["started_at", "finished_at"])
    changes = pd.concat(
        [
            pd.DataFrame({"time": runs["finished_at"], "change": -1}),
            pd.DataFrame({"time": runs["started_at"], "change": 1}),
        ],
        ignore_index=True,
    ).sort_values(["time", "change"], kind="stable")
    changes["running"] = changes["change"].cumsum()
    return changes.groupby("time", sort=True)["running"].last().reset_index()


def _labels(times: pd.Series, zone: tzinfo) -> list[str]:
    """Readable times with their UTC offset; empty where there is none (NaT)."""
    present = times.notna()
    labels = [""] * len(times)
    if present.any():
        for index, text in zip(
            present.to_numpy().nonzero()[0], _label(times[present], zone), strict=True
        ):
            labels[index] = text
    return labels


def _walls(instants: list[datetime], zone: tzinfo) -> list[str]:
    return _wall(pd.Series(pd.to_datetime(instants, utc=True)), zone) if instants else []


def _minutes(value: Any) -> str:
    if pd.isna(value):
        return ""
    return f"{value / pd.Timedelta(minutes=1):.1f} min"


def simulation_chart(
    df: pd.DataFrame,
    *,
    downtime: list[tuple[datetime, datetime]] | None = None,
    tz: str | tzinfo | None = None,
    title: str | None = None,
    width: int = 640,
) -> SimulationChart:
    """Draw what :func:`nbsched.simulate` returned.

    One lane per schedule: each run is a bar from its start to its end (runs of one schedule
    that overlap are drawn one above the other, and a tick marks each start, so runs that
    take no time show too); coalesced and missed fire times are marked at their fire time;
    downtime is shaded. Below, a step line shows how many runs go on at once.

    :param df: a :func:`nbsched.simulate` DataFrame (filtered rows are fine)
    :param downtime: the intervals to shade (default: ``df.attrs["downtime"]``)
    :param tz: the zone whose wall clock the time axis shows (default: the result's zone)
    :param title: the chart title
    :param width: width in pixels
    :return: a :class:`SimulationChart`
    :raises ValueError: ``df`` lacks a column of :func:`nbsched.simulate`'s result
    """
    needed = ["schedule_id", "fire_time", "outcome", "started_at", "finished_at", "lateness"]
    missing = [name for name in needed if name not in df.columns]
    if missing:
        raise ValueError(
            f"df: the DataFrame has no {missing} column(s) (columns: {list(df.columns)}); "
            f"pass what nbsched.simulate() returns"
        )
    if not isinstance(df["fire_time"].dtype, pd.DatetimeTZDtype):
        raise ValueError("df: the 'fire_time' column must hold tz-aware datetimes")
    zone = as_timezone(tz, argument="tz") if tz is not None else df["fire_time"].dt.tz
    if downtime is None:
        downtime = df.attrs.get("downtime", [])
    lanes = list(dict.fromkeys(df.sort_values("fire_time", kind="stable")["schedule_id"]))

    runs = df[df["started_at"].notna()].copy()
    runs["slot"] = _slots(runs) if len(runs) else []
    marks = df[df["outcome"].isin(_MARKED)]
    running = concurrency(df)

    span = [t for pair in downtime for t in pair]
    span += [df.attrs[key] for key in ("start", "end") if key in df.attrs]
    times = pd.concat(
        [
            df["fire_time"].dt.tz_convert("UTC"),
            runs["finished_at"].dt.tz_convert("UTC"),
            pd.Series(pd.to_datetime(span, utc=True)),
        ]
    ).dropna()
    domain = _walls([times.min(), times.max()], zone) if len(times) else None
    x: dict[str, Any] = {
        "type": "temporal",
        "title": f"time ({zone})",
        "scale": {"type": "utc", **({"domain": domain} if domain else {})},
        "axis": {"format": _time_format(times), "labelOverlap": "greedy"},
    }
    outcomes = [o for o in OUTCOME_COLOURS if o in set(df["outcome"])] or ["ran"]
    colour = {
        "field": "outcome",
        "type": "nominal",
        "title": "outcome",
        "scale": {"domain": outcomes, "range": [OUTCOME_COLOURS[o] for o in outcomes]},
    }
    y = {"field": "schedule_id", "type": "nominal", "title": None, "sort": lanes}
    tooltip = [
        {"field": "schedule_id", "type": "nominal", "title": "schedule"},
        {"field": "fire", "type": "nominal", "title": "fire time"},
        {"field": "outcome", "type": "nominal"},
        {"field": "started", "type": "nominal"},
        {"field": "finished", "type": "nominal"},
        {"field": "late", "type": "nominal", "title": "lateness"},
    ]

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = pd.DataFrame(
            {
                "schedule_id": frame["schedule_id"].astype(str),
                "outcome": frame["outcome"].astype(str),
                "fire_wall": _wall(frame["fire_time"], zone),
                "start_wall": _wall(frame["started_at"].fillna(frame["fire_time"]), zone),
                "end_wall": _wall(frame["finished_at"].fillna(frame["fire_time"]), zone),
                "fire": _label(frame["fire_time"], zone),
                "started": _labels(frame["started_at"], zone),
                "finished": _labels(frame["finished_at"], zone),
                "late": [_minutes(v) for v in frame["lateness"]],
                "slot": frame["slot"] if "slot" in frame else 0,
            }
        ).to_dict(orient="records")
        return rows

    shade = {
        "data": {
            "values": [
                {"from": begin, "to": until}
                for begin, until in zip(
                    _walls([b for b, _ in downtime], zone),
                    _walls([u for _, u in downtime], zone),
                    strict=True,
                )
            ]
        },
        "mark": {"type": "rect", "color": _DOWNTIME_COLOUR, "opacity": 0.18},
        "encoding": {"x": {"field": "from", **x}, "x2": {"field": "to"}},
    }
    stacked = bool(len(runs)) and int(runs["slot"].max()) > 0
    offset = {"yOffset": {"field": "slot", "type": "ordinal", "title": None}} if stacked else {}
    lane_layers: list[dict[str, Any]] = []
    if downtime:
        lane_layers.append(shade)
    lane_layers += [
        {
            "data": {"values": records(runs)},
            "mark": {"type": "bar", "opacity": 0.75, "cornerRadius": 2},
            "encoding": {
                "x": {"field": "start_wall", **x},
                "x2": {"field": "end_wall"},
                "y": y,
                **offset,
                "color": colour,
                "tooltip": tooltip,
            },
        },
        {
            "data": {"values": records(runs)},
            "mark": {"type": "tick", "thickness": 2},
            "encoding": {
                "x": {"field": "start_wall", **x},
                "y": y,
                **offset,
                "color": colour,
                "tooltip": tooltip,
            },
        },
        {
            "data": {"values": records(marks)},
            "mark": {"type": "point", "filled": True, "size": 70, "opacity": 0.95},
            "encoding": {
                "x": {"field": "fire_wall", **x},
                "y": y,
                "color": colour,
                "shape": {
                    "field": "outcome",
                    "type": "nominal",
                    "title": "not run",
                    "scale": {
                        "domain": list(_SHAPES),
                        "range": list(_SHAPES.values()),
                    },
                },
                "tooltip": tooltip,
            },
        },
    ]
    concurrency_layers: list[dict[str, Any]] = [shade] if downtime else []
    concurrency_layers.append(
        {
            "data": {
                "values": [
                    {"time": wall, "running": int(count)}
                    for wall, count in zip(
                        _wall(running["time"], zone), running["running"], strict=True
                    )
                ]
            },
            "mark": {"type": "line", "interpolate": "step-after", "color": "#4c78a8"},
            "encoding": {
                "x": {"field": "time", **x},
                "y": {
                    "field": "running",
                    "type": "quantitative",
                    "title": "running",
                    "axis": {"tickMinStep": 1},
                },
            },
        }
    )
    spec: dict[str, Any] = {
        "$schema": _SCHEMA,
        "vconcat": [
            {
                "width": width,
                "height": max(60, 34 * max(1, len(lanes))),
                "layer": lane_layers,
            },
            {"width": width, "height": 70, "layer": concurrency_layers},
        ],
    }
    if title:
        spec["title"] = title
    counts = df["outcome"].value_counts()
    summary = (
        f"<nbsched simulation chart: {int(counts.get('ran', 0))} run(s), "
        f"{int(counts.get('coalesced', 0))} coalesced, {int(counts.get('missed', 0))} missed, "
        f"{int(counts.get('cancelled', 0))} cancelled, at most "
        f"{int(running['running'].max()) if len(running) else 0} at once, {len(lanes)} "
        f"lane(s), times in {zone}>"
    )
    return SimulationChart(spec, runs, running, summary)
