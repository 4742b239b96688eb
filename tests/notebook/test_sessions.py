"""A long notebook session: restarts, stores, re-run cells; no displayed container ever keeps
a closed widget (a front end that reloads the page cannot draw one, and then draws nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from notebook_helpers import Notebook

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
