"""One run tracker per scheduler: the status lines and dashboards count its runs, timeline
charts draw its recent runs, and it outlives a store switch that had to be rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_helpers import Notebook, capture_display

from nbsched.timelines import track_runs

pytestmark = pytest.mark.anyio


async def test_the_status_line_and_the_charts_read_one_tracker(notebook: Notebook) -> None:
    notebook.cell("%%every 10s --id tick\nprint('tick')")
    await notebook.settle()
    await notebook.advance(10)
    await notebook.advance(10)
    holder = notebook.holder
    assert holder.tracker is track_runs(holder.scheduler)
    assert holder.tracker.stats["tick"].runs == 2
    frame = holder.tracker.frame()
    assert list(frame["schedule_id"]) == ["tick", "tick"]
    assert list(frame["outcome"]) == ["success", "success"]
    assert "2 runs" in holder.outputs["tick"].status.value


async def test_a_failed_store_switch_keeps_counting_on_the_same_tracker(
    notebook: Notebook, tmp_path: Path
) -> None:
    notebook.cell("%%every 10s --id stays\nprint('still here')")
    await notebook.settle()
    await notebook.advance(10)
    holder = notebook.holder
    tracker, scheduler = holder.tracker, holder.scheduler
    box = capture_display(notebook, f"%sched store {tmp_path / 'missing-dir' / 'x.db'}")
    await notebook.settle()
    assert "could not switch the store" in box.children[0].value  # type: ignore[attr-defined]
    assert holder.scheduler is scheduler  # back on the old scheduler...
    assert holder.tracker is tracker  # ...and its tracker, still counting
    await notebook.advance(10)
    assert tracker is not None and tracker.stats["stays"].runs == 2
    assert list(tracker.frame()["schedule_id"]) == ["stays", "stays"]
    assert "2 runs" in holder.outputs["stays"].status.value
