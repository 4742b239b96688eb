"""The quickstart run top to bottom, cell after cell, in JupyterLab and Notebook 7: the
reader reaches a populated dashboard and timeline that keep updating (issue 12, item 7)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import TIMEOUT_MS, cells, run_cell, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_kernels")]

DASHBOARD, TIMELINE = 7, 9
CODE_CELLS = (1, 3, 5, 7, 9, 10)


def url(lab: Any, front_end: str) -> str:
    if front_end == "lab":
        return (
            f"{lab.url}/lab/workspaces/first-impression/tree/01-quickstart.ipynb?token={lab.token}"
        )
    return f"{lab.url}/notebooks/01-quickstart.ipynb?token={lab.token}"


def runs_of_clock(page: Any) -> int:
    row = page.locator(".nbsched-dashboard .nbsched-dashboard-row").filter(
        has=page.locator("code", has_text=re.compile(r"^clock$"))
    )
    return int(row.first.locator(".widget-html").nth(4).inner_text())


@pytest.mark.parametrize("front_end", ["lab", "notebook7"])
def test_the_quickstart_run_top_to_bottom_shows_a_live_dashboard_and_timeline(
    lab: Any, page: Any, artifacts: Path, front_end: str
) -> None:
    page.goto(url(lab, front_end))
    wait_idle(page)
    if front_end == "lab":  # more room for the notebook: fold the file browser away
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
    for index in CODE_CELLS:  # top to bottom, as a reader does
        run_cell(page, index)
    dashboard, timeline = cells(page).nth(DASHBOARD), cells(page).nth(TIMELINE)
    dashboard.locator(".nbsched-dashboard-row").first.wait_for(timeout=TIMEOUT_MS)
    timeline.locator(".nbsched-timeline .vega-embed svg.marks").first.wait_for(timeout=TIMEOUT_MS)
    assert "no schedules" not in dashboard.inner_text()
    first = runs_of_clock(page)
    deadline = time.monotonic() + 30
    while runs_of_clock(page) <= first + 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert runs_of_clock(page) > first + 1, "the dashboard does not update"
    summary = timeline.locator(".nbsched-timeline-status").inner_text()
    found = re.search(r"(\d+) upcoming fire\(s\) in (\d+)", summary)
    assert found is not None, summary
    upcoming, lanes = map(int, found.groups())
    assert upcoming > 0 and lanes == 1, summary
    dashboard.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"quickstart-first-impression-{front_end}.png"))
