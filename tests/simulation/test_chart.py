"""simulation_chart(): lanes, run bars (stacked when runs of one schedule overlap), marks for
coalesced and missed fires, shaded downtime and the running-jobs line, as a valid spec."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

import nbsched
from nbsched import CoalescePolicy, Schedule
from nbsched.triggers import IntervalTrigger

UTC = timezone.utc
S = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
VEGALITE = "application/vnd.vegalite.v5+json"


def every_10(name: str, **policies: Any) -> Schedule:
    trigger = IntervalTrigger(minutes=10, start_time=S)
    return Schedule(id=name, task_id=name, trigger=trigger, **policies)


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    # down 09:55-10:25; "all" runs its three late fires at once after it, "latest" one
    return nbsched.simulate(
        [
            every_10("all", coalesce=CoalescePolicy.all),
            every_10("latest", misfire_grace_time=timedelta(minutes=2)),
        ],
        S,
        S + timedelta(hours=2),
        durations=timedelta(minutes=7),
        downtime=[(S + timedelta(minutes=55), S + timedelta(minutes=85))],
    )


def layer(view: dict[str, Any], mark: str) -> dict[str, Any]:
    (found,) = [each for each in view["layer"] if each["mark"]["type"] == mark]
    return found


def test_lanes_bars_marks_and_downtime(result: pd.DataFrame) -> None:
    chart = nbsched.simulation_chart(result, title="what if")
    lanes, running = chart.spec["vconcat"]
    bars = layer(lanes, "bar")
    assert bars["encoding"]["y"]["sort"] == ["all", "latest"]
    drawn = [
        (r["schedule_id"], r["start_wall"], r["end_wall"], r["outcome"])
        for r in bars["data"]["values"]
    ]
    assert ("all", "2026-06-01T09:50:00.000Z", "2026-06-01T09:55:00.000Z", "cancelled") in drawn
    late_runs = [d for d in drawn if d[0] == "all" and d[1] == "2026-06-01T10:25:00.000Z"]
    assert len(late_runs) == 3  # 10:00, 10:10 and 10:20, started together after the downtime
    assert len(drawn) == int(result["started_at"].notna().sum())

    marks = layer(lanes, "point")["data"]["values"]
    assert sorted((m["schedule_id"], m["fire_wall"], m["outcome"]) for m in marks) == [
        ("latest", "2026-06-01T10:00:00.000Z", "coalesced"),
        ("latest", "2026-06-01T10:10:00.000Z", "coalesced"),
        ("latest", "2026-06-01T10:20:00.000Z", "missed"),
    ]
    shade = layer(lanes, "rect")["data"]["values"]
    assert shade == [{"from": "2026-06-01T09:55:00.000Z", "to": "2026-06-01T10:25:00.000Z"}]
    assert layer(running, "rect")["data"]["values"] == shade
    assert chart.spec["title"] == "what if"


def test_overlapping_runs_of_one_schedule_are_stacked(result: pd.DataFrame) -> None:
    chart = nbsched.simulation_chart(result)
    bars = layer(chart.spec["vconcat"][0], "bar")
    assert bars["encoding"]["yOffset"]["field"] == "slot"
    late = [
        r["slot"] for r in bars["data"]["values"] if r["start_wall"].startswith("2026-06-01T10:25")
    ]
    assert sorted(late) == [0, 1, 2]
    # the 10:30 run starts while those three still run (until 10:32): a fourth row
    at_1030 = [
        r["slot"]
        for r in bars["data"]["values"]
        if r["schedule_id"] == "all" and r["start_wall"].startswith("2026-06-01T10:30")
    ]
    assert at_1030 == [3]
    # runs that follow each other in a lane share its first row
    assert {r["slot"] for r in bars["data"]["values"] if r["schedule_id"] == "latest"} == {0}


def test_concurrency_line(result: pd.DataFrame) -> None:
    chart = nbsched.simulation_chart(result)
    line = layer(chart.spec["vconcat"][1], "line")
    steps = {r["time"]: r["running"] for r in line["data"]["values"]}
    assert steps["2026-06-01T09:00:00.000Z"] == 2
    assert steps["2026-06-01T09:07:00.000Z"] == 0
    assert steps["2026-06-01T10:25:00.000Z"] == 3  # three of "all"; "latest" missed 10:20
    assert steps["2026-06-01T10:30:00.000Z"] == 5  # both 10:30 runs start before 10:32
    assert steps["2026-06-01T10:32:00.000Z"] == 2
    assert max(steps.values()) == 5
    assert "at most 5 at once" in repr(chart)


def test_the_spec_is_valid_vega_lite_and_displays(result: pd.DataFrame) -> None:
    chart = nbsched.simulation_chart(result[result["schedule_id"] == "all"], downtime=[])
    chart.to_altair().to_dict()  # validated against the Vega-Lite schema by Altair
    bundle, metadata = chart._repr_mimebundle_()
    assert bundle[VEGALITE]["$schema"].endswith("/v5.json")
    assert bundle["text/plain"].startswith("<nbsched simulation chart: ")
    marks = [each["mark"]["type"] for each in bundle[VEGALITE]["vconcat"][0]["layer"]]
    assert "rect" not in marks


def test_a_frame_that_is_not_a_simulation_is_refused() -> None:
    frame = nbsched.timeline({"a": IntervalTrigger(minutes=5, start_time=S)}, limit=3)
    with pytest.raises(ValueError, match=r"df: the DataFrame has no \['outcome'"):
        nbsched.simulation_chart(frame)
