"""The notebook layer's ties to the kernel: the holder installed for the kernel, the scheduler
stopped at interpreter exit on the loop it ran on, and a cell run routed by the holder it is
handed (the cell task looks the kernel's holder up once, then passes it on)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from notebook_helpers import START

from nbsched import FakeClock, RunState
from nbsched.notebook._cell_output import CellOutput
from nbsched.notebook._cell_task import run_cell_in
from nbsched.notebook._current import current
from nbsched.notebook._kernel_hooks import _stop_at_exit, install, uninstall
from nbsched.notebook._state import NotebookScheduler


def test_at_exit_the_scheduler_stops_on_the_loop_it_ran_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    shell = InteractiveShell.instance()
    loop = asyncio.new_event_loop()
    try:

        async def start() -> NotebookScheduler:
            holder = NotebookScheduler(shell, clock=FakeClock(START))
            await holder.start()
            return holder

        holder = loop.run_until_complete(start())
        install(shell, holder)
        assert current() is holder
        # the kernel's loop has stopped running, as it has when atexit hooks run
        assert holder.scheduler.event_loop is loop
        assert holder.scheduler.state is RunState.started
        _stop_at_exit(holder)
        assert holder.scheduler.state is RunState.stopped
        uninstall(shell, holder)
        assert current() is None
    finally:
        loop.close()


class Host:
    """A stand-in for the kernel's holder: only what a cell run needs of it."""

    def __init__(self) -> None:
        self.outputs = {"job": CellOutput("job")}
        self.preparing: asyncio.Task[None] | None = None
        self.calls: list[tuple[str, str]] = []

    def cell_label(self, schedule_id: str) -> str:
        return schedule_id

    def run_started(self, schedule_id: str) -> None:
        self.calls.append(("started", schedule_id))

    def run_failed(self, schedule_id: str) -> None:
        self.calls.append(("failed", schedule_id))


def test_a_cell_run_goes_to_the_output_area_of_the_host_it_is_given() -> None:
    shell = InteractiveShell.instance()
    host = Host()
    assert run_cell_in(host, shell, source="print('routed')", schedule_id="job") is None
    assert host.calls == [("started", "job")]
    texts = [o.get("text") for o in host.outputs["job"].shown_outputs()]
    assert texts == ["routed\n"]
    with pytest.raises(ZeroDivisionError):
        run_cell_in(host, shell, source="1 / 0", schedule_id="job")
    assert host.calls[-1] == ("failed", "job")
    (error,) = [o for o in host.outputs["job"].shown_outputs() if o["output_type"] == "error"]
    assert error["ename"] == "ZeroDivisionError"
