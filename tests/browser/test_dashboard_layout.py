"""The dashboard reads well at 800 and 1,400 px wide, in JupyterLab and Notebook 7 (issue 12,
item 11): each row's trigger is one line (cut with an ellipsis, the whole text in its tooltip),
the schedule id and the cell's first line under it are one line each, and the buttons sit on
their row's line, on the page without scrolling sideways. Measured from the elements' boxes in
the page; screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    TIMEOUT_MS,
    cells,
    open_notebook,
    run_cell,
    write_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_kernels")]

FRONT_ENDS = ("lab", "notebook7")
WIDTHS = (800, 1400)
SCHEDULES = ("clock", "report", "long-running-report-of-the-sales-team")
CELLS = [
    "%load_ext nbsched",
    "%%every 2s --id clock --times 500\nfrom datetime import datetime\nprint(datetime.now())",
    '%%cron "0 9 * * mon-fri" --tz America/New_York --id report\n'
    "# a first line long enough to be cut: the weekly numbers of every team, in one table\n"
    "print('report')",
    "%%every 1h --id long-running-report-of-the-sales-team --until '2099-12-31 18:00'\n"
    "print('sales')",
    "%sched",
]
DASHBOARD = len(CELLS) - 1


# What the test measures, per row: line boxes of the id, of the note under it and of the
# trigger; whether the trigger's text is cut and what its tooltip says; the buttons' vertical
# centres against the trigger's and their right edge against the table's visible right edge.
MEASURE = """(row) => {
    const box = (el) => el.getBoundingClientRect();
    const lines = (el) => {  // how many lines of text the element takes
        const range = document.createRange();
        range.selectNodeContents(el);
        const tops = new Set(Array.from(range.getClientRects())
            .filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        return tops.size;
    };
    const cells = row.querySelectorAll(':scope > .widget-html');
    const id = cells[0].querySelector('code');
    const note = cells[0].querySelector('small');
    const trigger = cells[1].querySelector('.widget-html-content');
    const table = row.parentElement;
    const t = box(trigger);
    const actions = box(row.querySelector('.widget-button').parentElement);
    const buttons = Array.from(row.querySelectorAll('button'))
        .filter((b) => b.offsetParent !== null)
        .map((b) => {
            const r = box(b);
            return {name: b.innerText, centre: (r.top + r.bottom) / 2, right: r.right};
        });
    return {
        id: id.innerText,
        idLines: lines(id),
        noteLines: note ? lines(note) : 0,
        triggerLines: lines(trigger),
        triggerCut: trigger.scrollWidth > trigger.clientWidth,
        triggerTitle: trigger.querySelector('[title]').getAttribute('title'),
        triggerText: trigger.innerText,
        triggerCentre: (t.top + t.bottom) / 2,
        buttons: buttons,
        actionsRight: actions.right,
        visibleRight: box(table).left + table.clientWidth,
    };
}"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_the_dashboard_reads_well_at_800_and_1400_px(
    lab: Any, browser: Any, artifacts: Path, front_end: str, width: int
) -> None:
    name = f"layout-{front_end}-{width}.ipynb"
    write_notebook(lab.root / name, CELLS)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        open_notebook(page, lab.front_end_url(front_end, name))
        if front_end == "lab":  # fold the file browser away, as the other tests do
            tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
            if tab.count():
                tab.click()
        for index in range(len(CELLS)):
            run_cell(page, index)
        dashboard = cells(page).nth(DASHBOARD)
        rows = dashboard.locator(".nbsched-dashboard-row")
        page.wait_for_function(
            "(el) => el.querySelectorAll('.nbsched-dashboard-row').length === 3",
            arg=dashboard.element_handle(),
            timeout=TIMEOUT_MS,
        )
        page.wait_for_function(  # the first run of `clock` is counted
            "(el) => /✓/.test(el.innerText)", arg=dashboard.element_handle(), timeout=TIMEOUT_MS
        )
        dashboard.scroll_into_view_if_needed()
        dashboard.screenshot(path=str(artifacts / f"dashboard-{front_end}-{width}.png"))
        measured = [rows.nth(i).evaluate(MEASURE) for i in range(rows.count())]
    finally:
        context.close()
    print(measured)
    assert [row["id"] for row in measured] == sorted(SCHEDULES)
    for row in measured:
        assert row["idLines"] == 1, row
        assert row["noteLines"] == 1, row
        assert row["triggerLines"] == 1, row
        # the whole trigger is in the tooltip (the cell shows what fits, ending in "…")
        assert row["triggerTitle"].startswith(row["triggerText"]), row
        names = [button["name"] for button in row["buttons"]]
        assert names == ["pause", "run now", "remove"], row
        for button in row["buttons"]:
            assert abs(button["centre"] - row["triggerCentre"]) < 6, (button, row)
            # in their own column (not over the next one), and on the page without scrolling
            assert button["right"] <= row["actionsRight"] + 0.5, (button, row)
            assert button["right"] <= row["visibleRight"] + 0.5, (button, row)
