"""A long notebook session: restarts, stores, re-run cells; no displayed container ever keeps
a closed widget (a front end that reloads the page cannot draw one, and then draws nothing)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from notebook_helpers import Notebook
from notebook_helpers import capture_display as _capture_display

from nbsched.notebook import load, unload_ipython_extension


def closed_widgets(root: widgets.Widget, path: str = "") -> list[str]:
    """Where under ``root`` (shown) a widget is closed: the front end cannot draw it."""
    found = []
    where = f"{path}/{type(root).__name__}"
    if root.comm is None:
        found.append(where)
    for child in getattr(root, "children", ()):
        found.extend(closed_widgets(child, where))
    return found


def displayed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    shown: list[Any] = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    return shown


async def restart(notebook: Notebook, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A new kernel: unload, load again (restoring from the recorded store); what it showed."""
    unload_ipython_extension(notebook.shell)
    await notebook.holder.scheduler.wait_until_stopped()
    shown = displayed(monkeypatch)
    notebook.holder = load(notebook.shell, clock=notebook.clock)
    await notebook.settle()
    return shown


@pytest.mark.anyio
async def test_rerunning_a_restored_cell_leaves_no_closed_widget_under_load_ext(
    notebook: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "%%every 10s --id live\nprint('tick')"
    notebook.cell(source, cell_id="c1")
    notebook.cell(f"%sched store {tmp_path / 'x.db'}", cell_id="c2")
    await notebook.settle()
    (load_box,) = await restart(notebook, monkeypatch)
    assert list(notebook.holder.outputs) == ["live"]
    restored_output = notebook.holder.outputs["live"]
    await notebook.advance(10)
    assert notebook.texts("live") == "tick\n"

    notebook.cell(source, cell_id="c1")  # run the scheduled cell again, as the README says
    await notebook.settle()
    assert notebook.holder.outputs["live"] is not restored_output
    assert closed_widgets(load_box) == []
    assert restored_output.widget not in load_box.children[1].children
    await notebook.advance(10)
    assert notebook.texts("live") == "tick\n"


@pytest.mark.anyio
async def test_a_cell_rerun_under_another_id_leaves_no_closed_widget_under_load_ext(
    notebook: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook.cell("%%every 10s --id first\nprint('tick')", cell_id="c1")
    notebook.cell(f"%sched store {tmp_path / 'x.db'}", cell_id="c2")
    await notebook.settle()
    (load_box,) = await restart(notebook, monkeypatch)
    notebook.cell("%%every 10s --id second\nprint('tick')", cell_id="c1")
    await notebook.settle()
    assert await notebook.schedule_ids() == ["second"]
    assert closed_widgets(load_box) == []


def plain(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", value))


@pytest.mark.anyio
async def test_times_carry_their_zone_and_a_cron_with_tz_shows_both(notebook: Notebook) -> None:
    # the kernel's zone is Europe/Berlin (the fixture); 09:00 in New York is 15:00 in Berlin
    notebook.cell('%%cron "0 9 * * *" --tz America/New_York --id nyc\nprint("ny")')
    notebook.cell("%%every 10s --id here\nprint('here')")
    board = notebook.holder.dashboard()
    await notebook.settle()
    await board.settle()
    status = plain(notebook.holder.outputs["nyc"].status.value)
    assert "next 15:00:00 CET (09:00:00 America/New_York)" in status, status
    assert plain(notebook.holder.outputs["here"].status.value).endswith("next 10:00:10 CET")
    assert board.rows["nyc"].text()["next fire"] == "15:00:00 CET (09:00:00 EST)"
    assert "title='(09:00:00 America/New_York)'" in board.rows["nyc"].cells["next fire"].value
    assert board.rows["here"].text()["next fire"] == "10:00:10 CET"
    listing = _capture_display(notebook, "%sched list")
    await notebook.settle()
    assert "15:00:00 CET (09:00:00 America/New_York)" in plain(listing.value)
    board.close()


@pytest.mark.anyio
async def test_one_run_count_rule_rerun_starts_again_and_a_store_switch_keeps_counting(
    notebook: Notebook, tmp_path: Path
) -> None:
    source = "%%every 10s --times 5 --id five\nprint('run')"
    notebook.cell(source, cell_id="c1")
    await notebook.advance(10)
    await notebook.advance(10)
    assert "2 runs" in plain(notebook.holder.outputs["five"].status.value)
    notebook.cell(source, cell_id="c1")  # a new definition: its runs count from zero
    await notebook.settle()
    board = notebook.holder.dashboard()
    await board.settle()
    assert " runs" not in plain(notebook.holder.outputs["five"].status.value)
    assert board.rows["five"].text()["runs"] == "0"
    await notebook.advance(10)
    assert "1 run ·" in plain(notebook.holder.outputs["five"].status.value)
    _capture_display(notebook, f"%sched store {tmp_path / 'x.db'}")  # the same schedules
    await notebook.settle()
    assert "1 run ·" in plain(notebook.holder.outputs["five"].status.value)
    board = notebook.holder.dashboard()
    await board.settle()
    assert board.rows["five"].text()["runs"] == "1"
    await notebook.advance(10)
    assert "2 runs" in plain(notebook.holder.outputs["five"].status.value)
    assert board.rows["five"].text()["runs"] == "2"
    board.close()


@pytest.mark.anyio
async def test_a_run_waiting_for_the_kernel_shows_queued_and_the_one_running_shows_running(
    notebook: Notebook,
) -> None:
    board = notebook.holder.dashboard()
    notebook.cell(
        "%%every 10s --id a\n"
        "from nbsched.notebook._state import current\n"
        "holder = current()\n"
        "for sid in ('a', 'b'):\n"
        "    print(sid, holder.outputs[sid].status.value)\n"
        "    print(sid, holder.dashboards[-1].rows[sid].cells['last run'].value)\n"
    )
    notebook.cell("%%every 10s --id b\npass")
    await notebook.settle()
    await board.settle()
    await notebook.advance(10)
    lines = plain(notebook.texts("a")).splitlines()
    assert "running" in lines[0] and "queued" not in lines[0], lines
    assert plain(lines[1]) == "a running…"
    assert "queued" in lines[2] and "running" not in lines[2], lines
    assert plain(lines[3]) == "b queued"
    status_b = plain(notebook.holder.outputs["b"].status.value)
    assert "queued" not in status_b and "✓ ok" in status_b
    board.close()


# --- cells no longer shown (ipywidgets' view counts, set here as a front end would) ---------


async def shown_twice_and_a_dashboard(notebook: Notebook) -> Any:
    notebook.cell("%%every 10s --id a\nprint('a')", cell_id="ca")
    notebook.cell("%%every 10s --id b\nprint('b')", cell_id="cb")
    board = notebook.holder.dashboard()
    await notebook.settle()
    await board.settle()
    for widget in (notebook.holder.outputs["a"].widget, notebook.holder.outputs["b"].widget):
        widget._view_count = 1  # the front end drew each once
    board._view_count = 1
    return board


@pytest.mark.anyio
async def test_a_deleted_cell_is_marked_not_shown_in_the_dashboard_and_the_list(
    notebook: Notebook,
) -> None:
    board = await shown_twice_and_a_dashboard(notebook)
    notebook.holder.outputs["a"].widget._view_count = 0  # cell a deleted in the front end
    await notebook.advance(2)
    assert "cell not shown" not in board.rows["a"].text()["id"]  # not yet: it may come back
    await notebook.advance(4)
    await board.settle()
    assert board.rows["a"].text()["id"] == "aprint('a')cell not shown"
    assert board.rows["b"].text()["id"] == "bprint('b')"  # the cell's first line
    listing = _capture_display(notebook, "%sched list")
    await notebook.settle()
    assert "a (cell not shown)" in plain(listing.value)
    assert "b (cell not shown)" not in plain(listing.value)
    # the schedule still runs (nothing is removed behind the user's back) until removed
    assert await notebook.schedule_ids() == ["a", "b"]
    board.rows["a"].remove_button.click()
    board.rows["a"].remove_button.click()  # the second click confirms (item 11)
    await board.settle()
    await notebook.settle()
    assert await notebook.schedule_ids() == ["b"]
    board.close()


@pytest.mark.anyio
async def test_the_event_log_marks_the_runs_of_a_cell_not_shown(notebook: Notebook) -> None:
    board = await shown_twice_and_a_dashboard(notebook)
    log = _capture_display(notebook, "%sched log")
    await notebook.advance(10)  # both run while both cells are shown
    notebook.holder.outputs["a"].widget._view_count = 0  # cell a deleted in the front end
    await notebook.advance(10)  # a is marked after 5 s; both run again
    await notebook.settle()

    def released(schedule_id: str) -> list[str]:
        return [
            plain(row)
            for row in log.shown_rows()  # newest first
            if "JobReleased" in row and f"schedule_id={schedule_id}" in row
        ]

    assert [row.endswith("cell not shown") for row in released("a")] == [True, False]
    assert [row.endswith("cell not shown") for row in released("b")] == [False, False]
    log.close()
    board.close()


@pytest.mark.anyio
async def test_a_cell_shown_again_loses_its_mark(notebook: Notebook) -> None:
    board = await shown_twice_and_a_dashboard(notebook)
    output = notebook.holder.outputs["a"].widget
    output._view_count = 0
    await notebook.advance(6)
    await board.settle()
    assert board.rows["a"].text()["id"].endswith("cell not shown")
    output._view_count = 1  # undo the delete
    await notebook.settle()
    await board.settle()
    assert "cell not shown" not in board.rows["a"].text()["id"]
    board.close()


@pytest.mark.anyio
async def test_a_notebook_closed_in_the_front_end_marks_no_cell(notebook: Notebook) -> None:
    board = await shown_twice_and_a_dashboard(notebook)
    # every view goes at once: the notebook was closed, its cells were not deleted
    for widget in (notebook.holder.outputs["a"].widget, notebook.holder.outputs["b"].widget):
        widget._view_count = 0
    board._view_count = 0
    await notebook.advance(30)
    assert notebook.holder.views.not_shown == set()


@pytest.mark.anyio
async def test_a_closed_tab_or_a_reload_marks_no_cell(notebook: Notebook) -> None:
    board = await shown_twice_and_a_dashboard(notebook)
    await notebook.advance(30)  # a closed tab takes no view away: nothing arrives
    for widget in (notebook.holder.outputs["a"].widget, notebook.holder.outputs["b"].widget):
        widget._view_count = 2  # a reload adds a view to the stale count
    board._view_count = 2
    await notebook.advance(30)
    assert notebook.holder.views.not_shown == set()
    # after a reload, deleting a cell takes one view away: still seen
    notebook.holder.outputs["a"].widget._view_count = 1
    await notebook.advance(6)
    assert notebook.holder.views.not_shown == {"a"}
    board.close()


@pytest.mark.anyio
async def test_an_older_dashboard_freezes_says_so_and_stops_counting(notebook: Notebook) -> None:
    notebook.cell("%%every 10s --id a\nprint('a')")
    boards = []
    for _ in range(4):  # one %sched after another
        boards.append(notebook.holder.dashboard())
        await notebook.settle()
        await boards[-1].settle()
    oldest = boards[0]
    assert "frozen" in oldest.status.value and "newer dashboard" in oldest.status.value
    assert oldest.rows["a"].text()["remaining"] == "—"  # no stale "in 10 s"
    await notebook.advance(3)
    assert oldest.rows["a"].text()["remaining"] == "—"
    assert boards[-1].rows["a"].text()["remaining"] == "in 7 s"
    for board in boards:
        board.close()


ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.anyio
async def test_a_scheduled_cells_traceback_names_the_cell_that_defined_it(
    notebook: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook.shell.execution_count = 7  # the cell runs as In[7]
    notebook.cell("%%every 10s --id flaky\nx = 1\n1 / 0")
    notebook.cell(f"%sched store {tmp_path / 'x.db'}")
    await notebook.advance(10)
    (error,) = notebook.outputs("flaky")
    traceback = ANSI.sub("", "\n".join(error["traceback"]))
    assert "Cell In[7], line 2" in traceback, traceback
    # restored in a new kernel, the defining cell's number is unknown: the schedule's id
    await restart(notebook, monkeypatch)
    await notebook.advance(10)
    (error,) = notebook.outputs("flaky")
    traceback = ANSI.sub("", "\n".join(error["traceback"]))
    assert "Cell In[flaky], line 2" in traceback, traceback
