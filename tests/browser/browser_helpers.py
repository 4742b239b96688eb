"""Helpers of the browser tests: drive JupyterLab or Notebook 7 the way a user does."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

TIMEOUT_MS = 60_000
IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
LOADING = "Loading widget..."


def cells(page: Any) -> Any:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")


def write_notebook(path: Path, sources: list[str]) -> None:
    """Write a notebook of code cells ``sources`` for the python3 kernel at ``path``."""
    import nbformat

    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(book, path)


def open_notebook(page: Any, url: str) -> None:
    """Go to ``url`` and wait until its kernel is idle and its first cell shown."""
    page.goto(url)
    wait_idle(page)
    cells(page).first.wait_for(timeout=TIMEOUT_MS)


def settle_dialogs(page: Any) -> None:
    """Accept a kernel dialog the front end may open ("Select Kernel", "Restart Kernel?");
    any other dialog fails the test with its text."""
    dialog = page.locator(".jp-Dialog")
    for _attempt in range(3):
        if not dialog.count():
            return
        text = dialog.first.inner_text()
        if text.startswith("Directory not found"):
            # the file browser's listing request failed (seen on a loaded machine right after a
            # kernel restart in Notebook 7): a front-end hiccup that has nothing to do with the
            # notebook under test; close it and go on
            print(f"closed dialog: {text!r}")
            dialog.first.locator(".jp-Dialog-button").first.click()
            dialog.first.wait_for(state="detached", timeout=10_000)
            continue
        if "kernel" not in text.lower():
            raise AssertionError(f"unexpected dialog: {text!r}")
        print(f"accepted dialog: {text!r}")
        dialog.first.locator(".jp-Dialog-button.jp-mod-accept").click()
        dialog.first.wait_for(state="detached", timeout=10_000)
    raise AssertionError(f"the front end keeps opening dialogs: {dialog.first.inner_text()!r}")


def run_cell(page: Any, index: int) -> Any:
    """Select cell ``index`` and run it with Ctrl+Enter; wait until it has run."""
    cell = cells(page).nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    for _attempt in range(3):
        try:  # right after a kernel restart the front end may draw the cell again
            cell.scroll_into_view_if_needed(timeout=10_000)
            break
        except PlaywrightError:
            page.wait_for_timeout(500)
    # after a kernel restart the counts start again, so "[1]:" may be what the prompt showed
    # before: watch for the "[*]:" the prompt shows once the run is queued instead
    watch = """(el) => {
        if (el.dataset.nbschedQueued !== undefined) return;
        el.dataset.nbschedQueued = '';
        new MutationObserver(() => {
            if (el.textContent.includes('*')) el.dataset.nbschedQueued = 'yes';
        }).observe(el, {childList: true, subtree: true, characterData: true});
    }"""
    prompt.evaluate("(el) => { delete el.dataset.nbschedQueued; }")
    for _attempt in range(3):
        # A key press right after the page settles can be lost (focus not yet in the
        # notebook): retry until the run is queued; a queued cell is never run twice.
        settle_dialogs(page)
        try:
            prompt.evaluate(watch)
            prompt.click(timeout=5_000)
        except PlaywrightError:
            continue  # a dialog came up in between, or the cell was drawn again
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(
                "(el) => el.dataset.nbschedQueued === 'yes'",
                arg=prompt.element_handle(),
                timeout=5_000,
            )
            break
        except PlaywrightTimeoutError:
            continue
    else:
        raise AssertionError(f"cell {index} did not start running: {cell.inner_text()!r}")
    page.wait_for_function(
        "(el) => /\\[\\d+\\]:/.test(el.textContent)", arg=prompt.element_handle(),
        timeout=TIMEOUT_MS,
    )  # fmt: skip
    return cell


def output_text(cell: Any) -> str:
    return cell.locator(".jp-Cell-outputArea").inner_text()


def wait_for_text(cell: Any, pattern: re.Pattern[str], timeout: float = 30) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = pattern.search(output_text(cell))
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{pattern.pattern!r} did not appear; the output is {output_text(cell)!r}"
            )
        time.sleep(0.1)


def menu(page: Any, top: str, item: str) -> None:
    """Click ``item`` in the menu bar's ``top`` menu (both front ends share Lumino's menus)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


def wait_idle(page: Any) -> None:
    """Wait until the shown notebook's kernel is idle (JupyterLab may keep others open)."""
    page.wait_for_function(
        """(selector) => Array.from(document.querySelectorAll(selector)).some(
            (el) => el.offsetParent !== null)""",
        arg=IDLE,
        timeout=TIMEOUT_MS,
    )
    settle_dialogs(page)


def shut_down_kernels(lab: Any) -> None:
    """Delete every session of the server (its kernel stops): no test leaves schedules
    ticking in a kernel for the next one."""
    import json
    import urllib.request

    def call(method: str, path: str) -> Any:
        request = urllib.request.Request(f"{lab.url}{path}?token={lab.token}", method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    for session in call("GET", "/api/sessions"):
        call("DELETE", f"/api/sessions/{session['id']}")


def restart_kernel(page: Any) -> None:
    """Kernel > Restart Kernel…, accept, and wait until the new kernel is idle."""
    # the execution indicator leaves "idle" while the kernel restarts; note that it did
    page.evaluate(
        """() => {
            window.nbschedRestarted = false;
            new MutationObserver((changes) => {
                if (changes.some((c) => c.target.dataset.status !== 'idle')) {
                    window.nbschedRestarted = true;
                }
            }).observe(document.body, {
                attributes: true, attributeFilter: ['data-status'], subtree: true,
            });
        }"""
    )
    menu(page, "Kernel", "Restart Kernel…")
    page.locator(".jp-Dialog").wait_for(timeout=10_000)
    settle_dialogs(page)
    page.wait_for_function("() => window.nbschedRestarted", timeout=TIMEOUT_MS)
    wait_idle(page)


def save(page: Any, file: Path) -> None:
    """Save the notebook (Ctrl+S) and wait until ``file`` on disk changed."""
    before = file.stat().st_mtime_ns
    for _attempt in range(3):
        cells(page).first.locator(".jp-InputPrompt").click()
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if file.stat().st_mtime_ns != before:
                return
            time.sleep(0.2)
    raise AssertionError(f"{file.name} was not saved")


def live_widget_texts(cell: Any) -> list[str]:
    """The text of each widget output of ``cell`` (what the widget manager rendered)."""
    return cell.locator(".jp-OutputArea-output").evaluate_all(
        "(elements) => elements.map((e) => e.innerText)"
    )
