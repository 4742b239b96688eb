"""The quickstart in a real JupyterLab and a real browser (Debian's chromium via playwright).

Opens notebooks/01-quickstart.ipynb, runs the cells the way a user does (select, Ctrl+Enter),
and checks in the page what only a browser shows: the recurring cell's output updates in
place while another cell runs and keeps its own output, the dashboard's pause button stops
the runs, and the timeline chart is drawn by JupyterLab's built-in Vega renderer.
Screenshots go to test-artifacts/browser/ (docs/images/ holds the ones the README shows).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    TIMEOUT_MS,
    output_text,
    run_cell,
    wait_for_text,
    wait_idle,
)

pytestmark = pytest.mark.slow

TICK = re.compile(r"tick at (\d\d:\d\d:\d\d)")

# cell positions in 01-quickstart.ipynb (markdown cells count too)
LOAD, RECURRING, OTHER, DASHBOARD, TIMELINE = 1, 3, 5, 7, 9


def chart_texts(timeline: Any) -> list[str]:
    """The words the timeline chart's SVG shows (lane names, legend, axis labels)."""
    return timeline.locator(".nbsched-timeline .vega-embed svg.marks text").evaluate_all(
        "(elements) => elements.map((e) => e.textContent)"
    )


def test_quickstart_in_jupyterlab(lab: Any, page: Any, artifacts: Path) -> None:
    page.goto(lab.notebook_url("01-quickstart.ipynb"))
    wait_idle(page)  # the shown notebook's kernel (the workspace may restore hidden ones)
    # more room for the notebook: fold the file browser away
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()

    run_cell(page, LOAD)
    # the dashboard and the timeline first: both are live and show schedules as they come
    dashboard = run_cell(page, DASHBOARD)
    page.wait_for_selector(".nbsched-dashboard", timeout=TIMEOUT_MS)
    timeline = run_cell(page, TIMELINE)
    timeline.locator(".nbsched-timeline .vega-embed svg.marks").first.wait_for(timeout=TIMEOUT_MS)

    recurring = run_cell(page, RECURRING)
    first_tick = wait_for_text(recurring, TICK).group(1)

    other = run_cell(page, OTHER)
    other_text = output_text(other)
    assert other_text.strip() == "sum of the first ten squares: 285"

    # the recurring cell's output is replaced by the next run, in its own cell ...
    second_tick = wait_for_text(recurring, re.compile(rf"tick at (?!{first_tick})(\S+)")).group(1)
    assert second_tick > first_tick
    assert len(TICK.findall(output_text(recurring))) == 1
    # ... and nothing of it landed in the other cell
    assert output_text(other) == other_text

    # the timeline redrew itself: a lane for `clock`, its past runs and upcoming fires,
    # drawn by JupyterLab's built-in Vega renderer
    texts = chart_texts(timeline)
    assert {"clock", "success", "upcoming"} <= set(texts), texts
    box = timeline.locator(".nbsched-timeline .vega-embed").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 40
    assert "Javascript Error" not in output_text(timeline)
    # (`clock` keeps running until paused: the reader sees a live dashboard and timeline)
    page.screenshot(path=str(artifacts / "quickstart-running.png"))
    timeline.screenshot(path=str(artifacts / "timeline.png"))

    # pause from the dashboard's row of `clock`: the runs stop
    row = page.locator(".nbsched-dashboard .widget-hbox").filter(
        has=page.locator("code", has_text=re.compile(r"^clock$"))
    )
    row.get_by_role("button", name="pause").click()
    wait_for_text(recurring, re.compile(r"paused"))
    paused_output = output_text(recurring)
    found = re.search(r"(\d+) runs?", paused_output)
    assert found is not None, paused_output
    runs = int(found.group(1))
    time.sleep(5)  # two and a half intervals: a run would have replaced the tick
    assert output_text(recurring) == paused_output
    assert "paused" in output_text(dashboard)
    # the row's strip of its last outcomes, from the run history: one green glyph per run
    strip = row.locator(".nbsched-strip .nbsched-run-success")
    assert strip.count() == min(runs, 10), row.inner_html()
    assert "paused" in chart_texts(timeline)  # the chart redrew the lane as paused
    dashboard.scroll_into_view_if_needed()
    dashboard.screenshot(path=str(artifacts / "dashboard.png"))
    recurring.screenshot(path=str(artifacts / "recurring-cell.png"))
    timeline.screenshot(path=str(artifacts / "timeline-paused.png"))


def test_charts_render_in_notebook_7(lab: Any, page: Any, artifacts: Path) -> None:
    # Notebook 7 ships the same built-in Vega renderer as JupyterLab: no extension to install
    page.goto(f"{lab.url}/notebooks/02-visualise-triggers.ipynb?token={lab.token}")
    wait_idle(page)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

    charts = page.locator(".jp-Notebook .vega-embed svg.marks")
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Notebook .vega-embed svg.marks').length === 2",
        timeout=TIMEOUT_MS,
    )
    titles = charts.locator("text").evaluate_all(
        "(elements) => elements.map((e) => e.textContent)"
    )
    assert "Spring forward: 28 March 2027 (Europe/Berlin)" in titles
    assert "Fall back: 31 October 2027 (Europe/Berlin)" in titles
    assert "time (Europe/Berlin)" in titles
    charts.first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "notebook7-charts.png"))
