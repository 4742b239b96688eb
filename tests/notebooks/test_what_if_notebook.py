"""notebooks/04-what-if.ipynb, executed by a real kernel: the three questions get the answers
worked out by hand in the notebook's text, and the charts draw them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_notebooks_execute import VEGALITE, cell, data_outputs, execute, stdout

pytestmark = pytest.mark.slow


def lanes_and_running(executed: Any, tag: str) -> tuple[dict[str, Any], dict[str, Any]]:
    (bundle,) = data_outputs(cell(executed, tag))
    spec = bundle[VEGALITE]
    assert spec["$schema"].endswith("/v5.json")
    lanes, running = spec["vconcat"]
    return lanes, running


def values(view: dict[str, Any], mark: str) -> list[dict[str, Any]]:
    (layer,) = [each for each in view["layer"] if each["mark"]["type"] == mark]
    return layer["data"]["values"]


def test_what_if(tmp_path: Path) -> None:
    executed, _ = execute(tmp_path, "04-what-if.ipynb")

    # down from 10:00 to 11:00
    assert stdout(cell(executed, "lost-late")) == (
        "dashboard: lost 6: 10:00 (coalesced), 10:10 (coalesced), 10:20 (coalesced), "
        "10:30 (coalesced), 10:40 (coalesced), 10:50 (coalesced)\n"
        "crm-sync: lost 3: 10:00 (missed), 10:15 (missed), 10:30 (missed)\n"
        "crm-sync: 10:45 ran at 11:00, 15 min late\n"
        "backup: lost 1: 11:00 (coalesced)\n"
        "backup: 10:00 ran at 11:00, 60 min late\n"
    )
    lanes, running = lanes_and_running(executed, "downtime-chart")
    assert values(lanes, "rect") == [
        {"from": "2027-03-01T10:00:00.000Z", "to": "2027-03-01T11:00:00.000Z"}
    ]
    marks = values(lanes, "point")
    assert sorted({m["outcome"] for m in marks}) == ["coalesced", "missed"]
    assert len(marks) == 10
    assert len(values(lanes, "bar")) == 23
    # at 11:00 the dashboard, two crm-sync runs (10:45 late, 11:00) and the backup start
    steps = {r["time"]: r["running"] for r in values(running, "line")}
    assert steps["2027-03-01T11:00:00.000Z"] == 4

    # a 15-minute job every 10 minutes, one at a time: 5 minutes later each run
    queue = stdout(cell(executed, "queue")).splitlines()
    assert len(queue) == 12
    assert queue[0] == "09:00 -> ran 09:00-09:15, 0 min late"
    assert queue[1] == "09:10 -> ran 09:15-09:30, 5 min late"
    assert queue[-1] == "10:50 -> ran 11:45-12:00, 55 min late"
    lanes, running = lanes_and_running(executed, "queue-chart")
    line = values(running, "line")
    assert [r["running"] for r in line] == [1] * 12 + [0]  # one at a time, back to back
    assert line[-1]["time"] == "2027-03-01T12:00:00.000Z"
    grace = stdout(cell(executed, "queue-grace")).splitlines()
    assert grace[:4] == [
        "09:00 -> ran at 09:00",
        "09:10 -> missed",
        "09:20 -> ran at 09:20",
        "09:30 -> missed",
    ]
    assert len(grace) == 12 and grace[-1] == "10:50 -> missed"
    assert [line.endswith("missed") for line in grace] == [False, True] * 6

    # three nightly jobs over a week: two overlaps a night, three on Sunday
    overlaps = stdout(cell(executed, "nightly-overlaps")).splitlines()
    weekdays = ["Mon 01", "Tue 02", "Wed 03", "Thu 04", "Fri 05", "Sat 06"]
    expected = []
    for day in weekdays:
        expected += [
            f"{day} backup and reindex overlap 02:30-02:45",
            f"{day} reindex and report overlap 03:00-03:10",
        ]
    expected += [
        "Sun 07 backup and reindex overlap 02:30-03:10",
        "Sun 07 backup and report overlap 03:00-03:15",
        "Sun 07 reindex and report overlap 03:00-03:10",
    ]
    assert overlaps == expected
    lanes, running = lanes_and_running(executed, "nightly-chart")
    bars = values(lanes, "bar")
    assert [(b["schedule_id"], b["start_wall"][11:16], b["end_wall"][11:16]) for b in bars] == [
        ("backup", "02:00", "02:45"),
        ("reindex", "02:30", "03:10"),
        ("report", "03:00", "03:20"),
    ]
    assert max(r["running"] for r in values(running, "line")) == 2
