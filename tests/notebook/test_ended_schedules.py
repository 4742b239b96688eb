"""Finished and removed schedules in a notebook: the dashboard, ``%sched list`` and the
timeline show them as such, never as "no schedules yet" (issue 12, item 7)."""

from __future__ import annotations

import html
import re

import pytest
from notebook_helpers import Notebook
from notebook_helpers import capture_display as _capture_display

from nbsched.widgets import Dashboard, Timeline

pytestmark = pytest.mark.anyio


def plain(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", value))


async def test_the_quickstart_read_top_to_bottom_shows_the_finished_cell(
    notebook: Notebook,
) -> None:
    # the cell's five runs are over before the reader reaches %sched
    notebook.cell("%%every 2s --times 5 --id clock\nprint('tick')", cell_id="c1")
    await notebook.settle()
    trigger = str((await notebook.holder.scheduler.get_schedule("clock")).trigger)
    await notebook.advance(2)
    for _ in range(4):
        await notebook.advance(2)
    assert await notebook.schedule_ids() == []

    board = _capture_display(notebook, "%sched")
    assert isinstance(board, Dashboard)
    await board.settle()
    assert board.rows == {}
    assert list(board.ended_rows) == ["clock"]
    text = board.ended_rows["clock"].text()
    # the trigger it had, not "—": the ended-schedule event carries no trigger
    assert (text["trigger"], text["next fire"], text["runs"]) == (trigger, "finished", "5")
    assert board.empty not in board.children

    listing = _capture_display(notebook, "%sched list")
    await notebook.settle()
    assert re.search(
        rf"clock\s+{re.escape(trigger)}\s+finished\s+5\s+success", plain(listing.value)
    ), listing.value

    chart = _capture_display(notebook, "%sched timeline")
    assert isinstance(chart, Timeline)
    await notebook.settle()
    assert chart.chart is not None and chart.chart.lanes == 1
    assert "0 upcoming fire(s) in 1 lane(s), 5 past run(s)" in chart.status.value
    board.close()
    chart.close()


async def test_a_removed_cell_schedule_shows_removed_next_to_a_live_one(
    notebook: Notebook,
) -> None:
    notebook.cell("%%every 10s --id stays\nprint(1)", cell_id="c1")
    notebook.cell("%%every 10s --id goes\nprint(2)", cell_id="c2")
    await notebook.advance(10)
    board = _capture_display(notebook, "%sched")
    await board.settle()
    assert list(board.rows) == ["goes", "stays"]

    _capture_display(notebook, "%sched remove goes")
    await notebook.settle()
    await board.settle()
    assert list(board.rows) == ["stays"]
    assert board.ended_rows["goes"].text()["next fire"] == "removed"
    assert board.ended_rows["goes"].text()["runs"] == "1"
    listing = _capture_display(notebook, "%sched list")
    await notebook.settle()
    trigger = board.ended_rows["goes"].text()["trigger"]
    assert trigger.startswith("every 10 seconds")
    assert re.search(
        rf"goes\s+{re.escape(trigger)}\s+removed\s+1\s+success", plain(listing.value)
    ), listing.value
    board.close()
