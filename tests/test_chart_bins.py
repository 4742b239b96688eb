"""Big timelines: past MAX_MARKS fires a chart counts them per time bin, on canvas."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from nbsched._chart import MAX_MARKS, VEGALITE_MIME, timeline_chart
from nbsched._chart_bins import MAX_LANES

START = datetime(2027, 1, 1, tzinfo=timezone.utc)


def frame_of(lanes: int, fires: int) -> pd.DataFrame:
    times = [pd.Timestamp(START) + pd.Timedelta(minutes=15 * n) for n in range(fires)]
    return pd.DataFrame(
        {
            "schedule_id": [f"s{lane:04d}" for lane in range(lanes) for _ in times],
            "fire_time": pd.DatetimeIndex(times * lanes),
            "trigger": "interval[0:15:00]",
            "paused": False,
            "n": list(range(1, fires + 1)) * lanes,
        }
    ).sort_values("fire_time", kind="stable", ignore_index=True)


def points(chart: object) -> list[dict[str, Any]]:
    spec = chart.spec  # type: ignore[attr-defined]
    layer = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")
    return layer["data"]["values"]


def test_100_000_fires_are_counted_per_bin_drawn_on_canvas_and_said_so() -> None:
    chart = timeline_chart(frame_of(100, 1_000), now=START)
    marks = points(chart)
    assert len(marks) <= MAX_MARKS
    # every fire is counted once, in its own lane
    assert sum(mark["count"] for mark in marks) == 100_000
    assert per_lane(marks) == {f"s{lane:04d}": 1_000 for lane in range(100)}
    data, metadata = chart._repr_mimebundle_()
    assert metadata[VEGALITE_MIME]["embed_options"]["renderer"] == "canvas"
    # said on the chart: as its title when it has none (Vega draws no subtitle under an empty
    # title), else under it
    (note,) = chart.spec["title"]["text"]
    assert note.startswith("100,000 fires and runs, counted per 1 day in")
    titled = timeline_chart(frame_of(100, 1_000), now=START, title="Every lane")
    assert titled.spec["title"] == {"text": "Every lane", "subtitle": [note]}
    assert "counted per 1 day" in data["text/plain"]
    assert marks[0]["when"].startswith("96 from 2027-01-01 00:00:00 UTC")
    assert len(json.dumps(chart.spec)) < 1_000_000  # was 17 MB


def per_lane(marks: list[dict[str, object]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for mark in marks:
        lane = str(mark["schedule_id"])
        counts[lane] = counts.get(lane, 0) + int(mark["count"])  # type: ignore[call-overload]
    return counts


def test_past_100_lanes_the_others_share_the_last_one_and_the_chart_says_so() -> None:
    chart = timeline_chart(frame_of(1_000, 100), now=START)
    marks = points(chart)
    assert len(marks) <= MAX_MARKS
    counts = per_lane(marks)
    # the first 99 lanes by time (here: by id, their fires tie) keep theirs; every fire counts
    assert len(counts) == MAX_LANES == chart.lanes
    assert counts.pop("+901 more") == 90_100
    assert counts == {f"s{lane:04d}": 100 for lane in range(99)}
    assert chart.spec["height"] == 34 * MAX_LANES  # was 34,000 px
    lanes_note, bins_note = chart.spec["title"]["text"]  # one line each
    assert lanes_note == (
        "1,000 schedules: the first 99 in a lane each, the other 901 together in the last"
    )
    assert bins_note.startswith("100,000 fires and runs, counted per")
    lanes = chart.spec["layer"][-1]["encoding"]["y"]["sort"]
    assert lanes[-1] == "+901 more" and len(lanes) == MAX_LANES


def test_a_small_chart_draws_every_fire_as_svg() -> None:
    chart = timeline_chart(frame_of(3, 10), now=START)
    assert len(points(chart)) == 30
    assert "count" not in points(chart)[0]
    assert chart.bin_width is None and "title" not in chart.spec
    _data, metadata = chart._repr_mimebundle_()
    assert metadata[VEGALITE_MIME]["embed_options"]["renderer"] == "svg"


def test_displaying_a_chart_does_not_copy_its_spec() -> None:
    chart = timeline_chart(frame_of(2, 5), now=START)
    data, _metadata = chart._repr_mimebundle_()
    assert data[VEGALITE_MIME] is chart.spec
    copied = chart.to_dict()  # the public copy, to change freely
    assert copied == chart.spec and copied is not chart.spec
