"""Waiting does not look like running (issue 12, item 9), in JupyterLab and Notebook 7.

Three scheduled cells of 2 s each fall due together (a plain cell kept the kernel busy past
their fire time): only one can run at a time, so the dashboard and the cells' status lines
show one "running…" and the others "queued", and the front end's kernel indicator says the
kernel is busy while the scheduled cell runs. The screenshot goes to test-artifacts/browser/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    cells,
    open_notebook,
    run_cell,
    write_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_kernels")]

FRONT_ENDS = ("lab", "notebook7")
IDS = ("q-a", "q-b", "q-c")
DASHBOARD, FIRST, BLOCKER = 1, 2, 5
SOURCES = [
    "%load_ext nbsched",
    "%sched",
    *(
        f"%%every 3s --id {name} --times 2\nimport time\ntime.sleep(2)\nprint('{name} ran')"
        for name in IDS
    ),
    "import time\ntime.sleep(4)  # the three fall due meanwhile",
]

# In the page: which of the three cells' status lines and dashboard rows say "running…" and
# which "queued", and what the kernel indicator says.
STATE = """([first, count]) => {
    const all = Array.from(document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'));
    const lines = all.slice(first, first + count).map(
        (cell) => cell.querySelector('.jp-Cell-outputArea').innerText);
    const board = all[1].querySelectorAll('.nbsched-dashboard-row .nbsched-col-last-run');
    const indicator = Array.from(document.querySelectorAll('.jp-Notebook-ExecutionIndicator'))
        .find((el) => el.offsetParent !== null);
    const tally = (texts) => ({
        running: texts.filter((t) => t.includes('running…')).length,
        queued: texts.filter((t) => t.includes('queued')).length,
    });
    return {
        lines: tally(lines),
        board: tally(Array.from(board).map((el) => el.innerText)),
        kernel: indicator ? indicator.dataset.status : null,
    };
}"""


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_one_runs_the_others_are_queued_and_the_kernel_shows_busy(
    lab: Any, page: Any, artifacts: Path, front_end: str
) -> None:
    name = f"queued-{front_end}.ipynb"
    write_notebook(lab.root / name, SOURCES)
    open_notebook(page, lab.front_end_url(front_end, name))
    for index in range(len(SOURCES)):
        run_cell(page, index)
    # the moment the first of the three runs, the other two wait for the kernel: the page shows
    # it (the dashboard's row is sent a moment before the cell's status line)
    args = [FIRST, len(IDS)]
    try:
        page.wait_for_function(
            f"""(args) => {{
                const state = ({STATE})(args);
                return state.board.running === 1 && state.board.queued === 2
                    && state.lines.running === 1 && state.lines.queued === 2
                    && state.kernel === 'busy';
            }}""",
            arg=args,
            timeout=20_000,
        )
    finally:
        state = page.evaluate(STATE, args)
        cells(page).nth(DASHBOARD).scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # the kernel indicator's circle fills in
        page.screenshot(path=str(artifacts / f"queued-running-{front_end}.png"))
    assert state["board"] == {"running": 1, "queued": 2}, state
    assert state["lines"] == {"running": 1, "queued": 2}, state
    assert state["kernel"] == "busy", state
    # and all of them run in turn
    for index in range(FIRST, FIRST + len(IDS)):
        # in the cell's output, not its source (which holds the same words)
        output = cells(page).nth(index).locator(".jp-OutputArea")
        output.get_by_text(f"{IDS[index - FIRST]} ran").first.wait_for(timeout=30_000)
