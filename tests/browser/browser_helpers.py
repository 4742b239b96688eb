"""Helpers of the browser tests: drive JupyterLab or Notebook 7 the way a user does."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

TIMEOUT_MS = 60_000
IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
LOADING = "Loading widget..."


def cells(page: Any) -> Any:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")


def settle_dialogs(page: Any) -> None:
    """Accept a kernel dialog the front end may open ("Select Kernel", "Restart Kernel?");
    any other dialog fails the test with its text."""
    dialog = page.locator(".jp-Dialog")
    for _attempt in range(3):
        if not dialog.count():
            return
        text = dialog.first.inner_text()
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
    cell.scroll_into_view_if_needed()
    # after a kernel restart the counts start again, so "[1]:" may be what the prompt showed
    # before: watch for the "[*]:" the prompt shows once the run is queued instead
    prompt.evaluate(
        """(el) => {
            el.dataset.nbschedQueued = '';
            new MutationObserver(() => {
                if (el.textContent.includes('*')) el.dataset.nbschedQueued = 'yes';
            }).observe(el, {childList: true, subtree: true, characterData: true});
        }"""
    )
    for _attempt in range(3):
        # A key press right after the page settles can be lost (focus not yet in the
        # notebook): retry until the run is queued; a queued cell is never run twice.
        settle_dialogs(page)
        try:
            prompt.click(timeout=5_000)
        except PlaywrightTimeoutError:
            continue  # a dialog came up in between
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
    page.wait_for_selector(f".jp-NotebookPanel {IDLE}, {IDLE}", timeout=TIMEOUT_MS)
    settle_dialogs(page)


def restart_kernel(page: Any) -> None:
    """Kernel > Restart Kernel…, accept, and wait until the new kernel is idle."""
    menu(page, "Kernel", "Restart Kernel…")
    page.locator(".jp-Dialog").wait_for(timeout=10_000)
    settle_dialogs(page)
    page.wait_for_timeout(1_000)  # the indicator goes through "restarting" first
    wait_idle(page)


def save(page: Any) -> None:
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=TIMEOUT_MS)


def live_widget_texts(cell: Any) -> list[str]:
    """The text of each widget output of ``cell`` (what the widget manager rendered)."""
    return cell.locator(".jp-OutputArea-output").evaluate_all(
        "(elements) => elements.map((e) => e.innerText)"
    )
