"""Helpers of the notebook tests (pytest puts this folder on sys.path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from nbsched import FakeClock
from nbsched.notebook._state import NotebookScheduler

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


class FakeKernel:
    """Stands in for ipykernel's kernel: the execute request being handled (its cellId)."""

    def __init__(self) -> None:
        self.cell_id: str | None = None

    def get_parent(self) -> dict[str, Any]:
        return {"metadata": {"cellId": self.cell_id}} if self.cell_id else {}


@dataclass
class Notebook:
    shell: InteractiveShell
    holder: NotebookScheduler
    clock: FakeClock
    kernel: FakeKernel

    def cell(self, source: str, *, cell_id: str | None = None) -> Any:
        """Run a cell as if sent by a front end with ``cellId`` (None: no cell id)."""
        self.kernel.cell_id = cell_id
        return self.shell.run_cell(source, store_history=False)

    async def settle(self) -> None:
        await self.holder.settle()
        await self.clock.settle()
        await self.holder.settle()

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)
        await self.settle()

    def outputs(self, schedule_id: str) -> tuple[dict[str, Any], ...]:
        return self.holder.outputs[schedule_id].shown_outputs()

    def texts(self, schedule_id: str) -> str:
        return "".join(o.get("text", "") for o in self.outputs(schedule_id))

    async def schedule_ids(self) -> list[str]:
        return sorted(s.id for s in await self.holder.scheduler.get_schedules())


def capture_display(notebook: Notebook, line: str) -> object:
    """Run a line magic and return the widget it displayed."""
    shown: list[object] = []
    publisher = notebook.shell.display_pub
    formatter = notebook.shell.display_formatter
    assert formatter is not None
    original = formatter.format

    def format_and_keep(obj: object, *args: object, **kwargs: object) -> object:
        shown.append(obj)
        return original(obj, *args, **kwargs)

    formatter.format = format_and_keep  # type: ignore[method-assign]
    try:
        result = notebook.shell.run_cell(line, store_history=False)
    finally:
        formatter.format = original  # type: ignore[method-assign]
    assert result.success, result.error_in_exec
    assert publisher is notebook.shell.display_pub
    assert shown, f"{line!r} displayed nothing"
    return shown[-1]
