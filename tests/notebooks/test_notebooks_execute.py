"""The three notebooks under notebooks/, executed by a real kernel through nbclient.

Each test runs a notebook top to bottom in a fresh kernel (in a temporary copy of the
notebooks folder, so no store choice or file is shared with the user's) and checks what its
cells show, not just that they ran. Output that a scheduled cell produces later travels as
widget updates that nbclient does not keep (it only keeps messages of the cell it is running),
so the quickstart test asks the kernel itself, in one extra cell run after the notebook, what
the widgets hold.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
VEGALITE = "application/vnd.vegalite.v5+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def execute(
    tmp_path: Path, name: str, probe: Callable[[Any], str] | None = None
) -> tuple[Any, list[Any]]:
    """Run notebook ``name`` in a fresh kernel; then, in that kernel, the code that
    ``probe(executed_notebook)`` returns.

    Returns the executed notebook (without the probe cell) and the probe cell's outputs.
    """
    for source in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(source, tmp_path / source.name)
    notebook = nbformat.read(tmp_path / name, as_version=4)
    for each in notebook.cells:
        assert each.get("outputs", []) == [], f"{name} is committed with outputs; strip them"
    client = NotebookClient(
        notebook,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    probe_outputs: list[Any] = []
    with client.setup_kernel(env=_kernel_env()):
        for index, each in enumerate(notebook.cells):
            client.execute_cell(each, index)
        if probe is not None:
            probe_cell = nbformat.v4.new_code_cell(probe(notebook))
            notebook.cells.append(probe_cell)
            client.execute_cell(probe_cell, len(notebook.cells) - 1)
            notebook.cells.pop()
            probe_outputs = probe_cell.outputs
    return notebook, probe_outputs


def _kernel_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("NBSCHED_STORE", None)  # the quickstart uses the in-memory store
    return env


def cell(notebook: Any, tag: str) -> Any:
    tagged = [c for c in notebook.cells if tag in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged {tag!r}, found {len(tagged)}"
    return tagged[0]


def stdout(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")


def data_outputs(cell: Any) -> list[dict[str, Any]]:
    return [o.data for o in cell.outputs if o.output_type in ("display_data", "execute_result")]


def chart_rows(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The markers of a timeline chart's bundle (the rows of its point layer)."""
    spec = bundle[VEGALITE]
    assert spec["$schema"].endswith("/v5.json")
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")
    data = points.get("data", spec.get("data"))  # Altair hoists the data of a single layer
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


# --- 01 quickstart -----------------------------------------------------------------------------

QUICKSTART_PROBE = """
import asyncio, json
from ipywidgets.widgets.widget import _instances
from nbsched.notebook._state import current

holder = current()
for _ in range(100):  # `clock` keeps running (every 2 s): wait for a few of its runs
    stats = holder.tracker.stats.get("clock")
    if stats is not None and stats.runs >= 3:
        break
    await asyncio.sleep(0.2)
await holder.settle()
await asyncio.sleep(1.5)  # the timeline redraws at most once a second
clock = holder.outputs["clock"]
timeline = _instances[TIMELINE_MODEL_ID]
print(json.dumps({
    "clock_outputs": list(clock.output.outputs),
    "clock_status": clock.status.value,
    "timeline_outputs": list(timeline.output.outputs),
    "remaining": [s.id for s in await holder.scheduler.get_schedules()],
}))
await holder.scheduler.remove_schedule("clock")
"""


def test_quickstart(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOKS / "01-quickstart.ipynb", as_version=4)
    assert "%load_ext nbsched" in cell(notebook, "load").source
    # a reader running it top to bottom finds `clock` still running under the dashboard and
    # the timeline (a --times 5 was over before the reader got there)
    assert cell(notebook, "recurring").source.startswith("%%every 2s --now --id clock")

    executed, probe = execute(tmp_path, "01-quickstart.ipynb", quickstart_probe)

    recurring = cell(executed, "recurring")
    (view,) = data_outputs(recurring)
    assert WIDGET_VIEW in view and view["text/plain"].startswith("VBox(")

    # the other cell shows its own output only; no tick of `clock` landed there
    other = cell(executed, "other")
    assert stdout(other) == "sum of the first ten squares: 285\n"
    assert data_outputs(other) == []

    (dashboard,) = data_outputs(cell(executed, "dashboard"))
    assert WIDGET_VIEW in dashboard and dashboard["text/plain"].startswith("Dashboard(")

    (frame,) = data_outputs(cell(executed, "timeline-frame"))
    times = re.findall(r"\d{4}-\d\d-\d\d (\d\d):(\d\d):00[+-]\d\d:\d\d", frame["text/plain"])
    assert len(times) == 5
    assert {minute for _hour, minute in times} <= {"00", "15", "30", "45"}
    assert all(9 <= int(hour) <= 17 for hour, _minute in times)

    # what the widgets hold while `clock` keeps running
    report = json.loads("".join(o.text for o in probe if o.output_type == "stream"))
    assert report["remaining"] == ["clock"]
    (clock_output,) = report["clock_outputs"]  # replaced on each run, not appended
    assert re.fullmatch(r"tick at \d\d:\d\d:\d\d\n", clock_output["text"])
    found = re.search(r" (\d+) runs", report["clock_status"])
    assert found is not None, report["clock_status"]
    runs = int(found.group(1))
    assert runs >= 3
    # `clock` fires every 2 s, more often than a quick cell's line is rewritten (every 5 s once
    # running): the line says how often it runs and shows no next fire time, which would be in
    # the past most of the time (the dashboard above counts down to it)
    assert "every 2 seconds" in report["clock_status"]
    assert " · next " not in report["clock_status"]
    (timeline_output,) = report["timeline_outputs"]
    rows = chart_rows(timeline_output["data"])
    # past runs (recorded since %load_ext, the first one included) and upcoming fires
    statuses = [r["status"] for r in rows if r["schedule_id"] == "clock"]
    assert statuses.count("success") >= runs - 1  # the run in progress may not be drawn yet
    assert "upcoming" in statuses


def quickstart_probe(notebook: Any) -> str:
    (timeline_view,) = data_outputs(cell(notebook, "timeline"))
    return QUICKSTART_PROBE.replace(
        "TIMELINE_MODEL_ID", repr(timeline_view[WIDGET_VIEW]["model_id"])
    )


# --- 02 visualise triggers ---------------------------------------------------------------------


def wall_clock_lines(cell: Any) -> dict[str, str]:
    lines = [line for line in stdout(cell).splitlines() if line.strip()]
    return {line[:24].strip(): " ".join(line[24:].split()) for line in lines}


def test_visualise_triggers(tmp_path: Path) -> None:
    executed, _ = execute(tmp_path, "02-visualise-triggers.ipynb")

    (table,) = data_outputs(cell(executed, "spring-table"))
    assert "2027-03-28 00:00:00+01:00" in table["text/plain"]
    assert "2027-03-28 03:00:00+02:00" in table["text/plain"]

    # documented DST choices of each trigger, on the night the clocks spring forward
    assert wall_clock_lines(cell(executed, "spring-wall-clock")) == {
        "and: */20 min & 30 min": "00:00+0100 01:00+0100 03:00+0200 04:00+0200 05:00+0200",
        "interval 1h": "00:00+0100 01:00+0100 03:00+0200 04:00+0200 05:00+0200",
        "or: 01:15 | 02:45": "01:15+0100 03:00+0200",
        "cron 30 1-3 * * *": "01:30+0100 03:00+0200 03:30+0200",
        "calendar daily 02:30": "03:00+0200",
    }
    # ... and when they fall back: the interval trigger fires at 02:00 twice, the wall-clock
    # triggers fire 02:30 once
    assert wall_clock_lines(cell(executed, "autumn-wall-clock")) == {
        "and: */20 min & 30 min": (
            "00:00+0200 01:00+0200 02:00+0200 02:00+0100 03:00+0100 04:00+0100 05:00+0100"
        ),
        "interval 1h": (
            "00:00+0200 01:00+0200 02:00+0200 02:00+0100 03:00+0100 04:00+0100 05:00+0100"
        ),
        "or: 01:15 | 02:45": "01:15+0200 02:45+0200",
        "cron 30 1-3 * * *": "01:30+0200 02:30+0200 03:30+0100",
        "calendar daily 02:30": "02:30+0200",
    }

    for tag, fires in (("spring-chart", 16), ("autumn-chart", 20)):  # the lanes' fires above
        (bundle,) = data_outputs(cell(executed, tag))
        rows = chart_rows(bundle)
        assert len(rows) == fires
        assert {r["schedule_id"] for r in rows} == {
            "and: */20 min & 30 min",
            "interval 1h",
            "or: 01:15 | 02:45",
            "cron 30 1-3 * * *",
            "calendar daily 02:30",
        }
        assert "Europe/Berlin" in bundle["text/plain"]

    (weekdays,) = data_outputs(cell(executed, "weekday-utc"))
    assert re.findall(r"2027-03-\d\d 08:00:00\+00:00", weekdays["text/plain"]) == [
        f"2027-03-{day} 08:00:00+00:00" for day in (22, 23, 24, 25, 26)
    ]


# --- 03 custom trigger -------------------------------------------------------------------------


def test_custom_trigger(tmp_path: Path) -> None:
    executed, _ = execute(tmp_path, "03-custom-trigger.ipynb")

    (report,) = data_outputs(cell(executed, "check-good"))
    assert report["text/plain"].startswith("contract holds for ")  # sentences, not a repr
    assert (
        "7 fire times from 2027-01-01 09:00+00:00 to 2027-01-01 09:00:31+00:00"
        in (report["text/plain"])
    )
    assert "✔ contract holds" in report["text/html"]

    assert stdout(cell(executed, "check-broken")) == (
        "rule broken: fire times must strictly increase (at call 2): next() returned "
        "2027-01-01 09:00+00:00 after 2027-01-01 09:00+00:00\n"
    )

    status, table, chart = data_outputs(cell(executed, "preview-good"))
    assert status["text/plain"].startswith("PASS check_trigger passed")
    assert "✔" in status["text/html"]
    gaps = re.findall(r" (\d+ s)$", table["text/plain"], re.MULTILINE)
    assert gaps == ["1 s", "2 s", "4 s", "8 s", "8 s", "8 s"]
    # n=10 for a trigger of 7 fires: the preview says why it shows 7
    assert "only 7 fire times, not the 10 asked for" in status["text/plain"]
    assert [r["when"][11:19] for r in chart_rows(chart)] == [
        "09:00:00",
        "09:00:01",
        "09:00:03",
        "09:00:07",
        "09:00:15",
        "09:00:23",
        "09:00:31",
    ]

    (untouched,) = data_outputs(cell(executed, "untouched"))
    assert untouched["text/plain"] == "True"

    (broken,) = data_outputs(cell(executed, "preview-broken"))
    assert broken["text/plain"].startswith(
        "FAIL rule broken: fire times must strictly increase (at call 2)"
    )
    assert "✘" in broken["text/html"]

    # scheduled on a real AsyncScheduler: four runs, due 0.5 s, 1 s and 2 s apart, none early
    runs = re.findall(
        r"run (\d): due (\d\d):(\d\d):(\d\d\.\d{3}) started (-?\d+\.\d{3}) s later",
        stdout(cell(executed, "scheduled")),
    )
    assert [int(r[0]) for r in runs] == [1, 2, 3, 4]
    due = [int(h) * 3600 + int(m) * 60 + float(s) for _n, h, m, s, _late in runs]
    assert [round((b - a) % 86400, 3) for a, b in itertools.pairwise(due)] == [0.5, 1.0, 2.0]
    assert all(0 <= float(late) < 5 for *_rest, late in runs)
