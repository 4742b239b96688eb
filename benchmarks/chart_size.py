"""How big a timeline chart's Vega-Lite spec gets, and how long it takes to build, by the
number of fires drawn: what sets :data:`nbsched._chart.MAX_MARKS`, the number of marks above
which a chart draws its fires aggregated (one mark per lane and time bin, on canvas).

Lanes of 100 fires each (every 15 minutes), 10 to 1,000 lanes: 1,000 to 100,000 fires. For
each size: the spec's JSON size, the build time of ``timeline_chart`` (median of
``--repeat``), how many marks it draws, and whether it aggregated.

Run: ``.venv/bin/python benchmarks/chart_size.py [--repeat 3] [--lanes 10,100,1000]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from nbsched._chart import MAX_MARKS, timeline_chart

ROOT = Path(__file__).resolve().parent.parent
FIRES_PER_LANE = 100


def frame_of(lanes: int) -> pd.DataFrame:
    """``lanes`` schedules of 100 fires each, every 15 minutes, as nbsched.timeline() gives."""
    start = pd.Timestamp(datetime(2027, 1, 1, tzinfo=timezone.utc))
    times = [start + pd.Timedelta(minutes=15 * n) for n in range(FIRES_PER_LANE)]
    rows = {
        "schedule_id": [f"schedule-{lane:04d}" for lane in range(lanes) for _ in times],
        "fire_time": pd.DatetimeIndex(times * lanes),
        "trigger": "interval[0:15:00]",
        "paused": False,
        "n": list(range(1, FIRES_PER_LANE + 1)) * lanes,
    }
    return pd.DataFrame(rows).sort_values("fire_time", kind="stable", ignore_index=True)


def measure(lanes: int, repeat: int) -> dict[str, float]:
    frame = frame_of(lanes)
    now = datetime(2027, 1, 1, tzinfo=timezone.utc)
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        chart = timeline_chart(frame, now=now)
        data, metadata = chart._repr_mimebundle_()
        seconds.append(time.perf_counter() - started)
    spec = json.dumps(chart.spec)
    points = next(layer for layer in chart.spec["layer"] if layer["mark"]["type"] == "point")
    renderer = metadata["application/vnd.vegalite.v5+json"]["embed_options"]["renderer"]
    return {
        "fires": len(frame),
        "marks": len(points["data"]["values"]),
        "spec_kb": len(spec) / 1000,
        "build_ms": statistics.median(seconds) * 1000,
        "renderer": renderer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lanes", default="10,20,50,100,200,500,1000")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, ", end="")
    print(f"MAX_MARKS = {MAX_MARKS:,}, median of {args.repeat}")
    print(f"| {'fires':>7} | {'marks':>6} | {'spec':>9} | {'build':>8} | renderer |")
    print("|--------:|-------:|----------:|---------:|----------|")
    for lanes in (int(n) for n in args.lanes.split(",")):
        r = measure(lanes, args.repeat)
        print(
            f"| {r['fires']:>7,} | {r['marks']:>6,} | {r['spec_kb']:>6,.0f} kB | "
            f"{r['build_ms']:>5,.0f} ms | {r['renderer']:8} |"
        )


if __name__ == "__main__":
    main()
