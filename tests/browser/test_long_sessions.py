"""A working day's session in a real browser, in JupyterLab and in Notebook 7.

The scenario of issue 12: keep the schedules in a file (``%sched store``), restart the kernel,
``%load_ext nbsched`` (the stored schedules come back under it), run the scheduled cell again,
save, then reload the page or close the tab and open the notebook again. Every widget of the
live kernel must render (none stays "Loading widget...") and the scheduled cell keeps
updating in place.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    LOADING,
    TIMEOUT_MS,
    cells,
    open_notebook,
    output_text,
    restart_kernel,
    run_cell,
    save,
    wait_for_text,
    wait_idle,
    write_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_kernels")]

FRONT_ENDS = ("lab", "notebook7")
LOAD, SCHEDULED, STORE, DASHBOARD = 0, 1, 2, 3
TICK = re.compile(r"tick (\d+)")


def write_session_notebook(root: Path, name: str, store: str) -> None:
    write_notebook(
        root / name,
        [
            "%load_ext nbsched",
            "%%every 1s --id live\nticks = globals().get('ticks', 0) + 1\nprint('tick', ticks)",
            f"%sched store {store}",
            "%sched",
        ],
    )


def assert_live_widgets_render(page: Any) -> None:
    """The cells run in the current kernel show their widgets, none "Loading widget..."."""
    load, scheduled, dashboard = (cells(page).nth(i) for i in (LOAD, SCHEDULED, DASHBOARD))
    dashboard.locator(".nbsched-dashboard").wait_for(timeout=TIMEOUT_MS)
    load.get_by_text("schedules are kept in").wait_for(timeout=TIMEOUT_MS)
    wait_for_text(scheduled, TICK)
    for cell in (load, scheduled, dashboard):
        assert LOADING not in output_text(cell), output_text(cell)


def assert_keeps_ticking(cell: Any) -> None:
    first = int(wait_for_text(cell, TICK).group(1))
    wait_for_text(cell, re.compile(rf"tick (?!{first}\b)\d+"))
    text = output_text(cell)
    assert len(TICK.findall(text)) == 1, f"the cell's output is not replaced in place: {text!r}"
    found = TICK.search(text)
    assert found is not None and int(found.group(1)) > first


def restart_and_restore(page: Any, file: Path) -> None:
    """Store, restart, %load_ext, re-run the scheduled cell, show a dashboard, save."""
    run_cell(page, LOAD)
    scheduled = run_cell(page, SCHEDULED)
    wait_for_text(scheduled, TICK)
    store = run_cell(page, STORE)
    wait_for_text(store, re.compile(r"store: \S+\.db"))
    restart_kernel(page)
    load = run_cell(page, LOAD)
    # the stored schedule comes back under %load_ext, and runs there
    wait_for_text(load, TICK)
    scheduled = run_cell(page, SCHEDULED)
    wait_for_text(scheduled, TICK)
    run_cell(page, DASHBOARD)
    save(page, file)


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_restart_restore_rerun_then_reload(
    lab: Any, page: Any, artifacts: Path, front_end: str
) -> None:
    name = f"session-reload-{front_end}.ipynb"
    write_session_notebook(lab.root, name, f"reload-{front_end}.db")
    open_notebook(page, lab.front_end_url(front_end, name))
    restart_and_restore(page, lab.root / name)

    page.reload()
    wait_idle(page)
    assert_live_widgets_render(page)
    assert_keeps_ticking(cells(page).nth(SCHEDULED))
    page.screenshot(path=str(artifacts / f"session-reload-{front_end}.png"), full_page=True)


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_restart_restore_rerun_then_close_and_reopen_the_tab(
    lab: Any, browser: Any, page: Any, artifacts: Path, front_end: str
) -> None:
    name = f"session-reopen-{front_end}.ipynb"
    url = lab.front_end_url(front_end, name)
    write_session_notebook(lab.root, name, f"reopen-{front_end}.db")
    open_notebook(page, url)
    restart_and_restore(page, lab.root / name)

    context = page.context
    page.close()
    time.sleep(3)  # the kernel keeps running with no front end connected
    page = context.new_page()
    try:
        open_notebook(page, url)
        assert_live_widgets_render(page)
        assert_keeps_ticking(cells(page).nth(SCHEDULED))
    finally:
        page.screenshot(path=str(artifacts / f"session-reopen-{front_end}.png"), full_page=True)


def write_two_cells(root: Path, name: str) -> None:
    write_notebook(
        root / name,
        [
            "%load_ext nbsched",
            "%%every 1s --id doomed\nprint('doomed ran')",
            "%%every 1s --id kept\nprint('kept ran')",
            "%sched",
        ],
    )


def dashboard_id_cell(page: Any, schedule_id: str) -> Any:
    row = page.locator(".nbsched-dashboard .nbsched-dashboard-row").filter(
        has=page.locator("code", has_text=re.compile(rf"^{schedule_id}$"))
    )
    return row.locator(".widget-html").first


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_a_deleted_cell_is_marked_not_shown_and_a_closed_tab_is_not(
    lab: Any, page: Any, artifacts: Path, front_end: str
) -> None:
    name = f"session-delete-{front_end}.ipynb"
    url = lab.front_end_url(front_end, name)
    write_two_cells(lab.root, name)
    open_notebook(page, url)
    for index in range(4):
        run_cell(page, index)
    wait_for_text(cells(page).nth(2), re.compile("kept ran"))
    doomed = dashboard_id_cell(page, "doomed")
    doomed.wait_for(timeout=TIMEOUT_MS)
    assert "cell not shown" not in doomed.inner_text()

    # delete the cell of `doomed` (command mode: d d)
    cells(page).nth(1).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.keyboard.press("d")
    page.wait_for_function(
        "() => document.querySelectorAll("
        "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length === 3"
    )
    page.wait_for_function(
        "(el) => el.innerText.includes('cell not shown')",
        arg=doomed.element_handle(),
        timeout=20_000,
    )
    assert "cell not shown" not in dashboard_id_cell(page, "kept").inner_text()
    page.screenshot(path=str(artifacts / f"session-deleted-cell-{front_end}.png"), full_page=True)

    # a closed tab is not a deleted cell
    save(page, lab.root / name)
    context = page.context
    page.close()
    time.sleep(8)  # longer than the grace period
    page = context.new_page()
    try:
        open_notebook(page, url)
        kept = dashboard_id_cell(page, "kept")
        kept.wait_for(timeout=TIMEOUT_MS)
        time.sleep(6)
        assert "cell not shown" not in kept.inner_text()
        assert "cell not shown" in dashboard_id_cell(page, "doomed").inner_text()
    finally:
        page.screenshot(path=str(artifacts / f"session-reopened-{front_end}.png"), full_page=True)
