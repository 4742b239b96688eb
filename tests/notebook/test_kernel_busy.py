"""A kernel running a scheduled cell says it is busy (issue 12, item 9), in a real kernel.

A scheduled run happens between the requests the kernel handles, so ipykernel publishes no
``status`` for it and the front ends' kernel indicator says "Idle" while the kernel is
blocked. nbsched publishes ``busy`` and ``idle`` around a run that may block (the first run of
a cell, and every run of a cell whose last run took 50 ms or more), with no parent header, so
that no client mistakes it for the end of its own request; not around the runs of a quick
cell, nor during a cell's ``await`` (the kernel is busy with that cell already).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from kernel_helpers import Kernel

pytestmark = pytest.mark.slow


def unparented_statuses(messages: list[dict[str, Any]]) -> list[str]:
    return [
        m["content"]["execution_state"]
        for m in messages
        if m["msg_type"] == "status" and not m["parent_header"]
    ]


def runs_seen(kernel: Kernel, name: str) -> int:
    """How many runs of the cell that prints ``<name> run <n>`` showed their output."""
    shown = set()
    for m in kernel.messages:
        if m["msg_type"] == "comm_msg":
            outputs = str(m["content"]["data"].get("state", {}).get("outputs", ""))
            shown.update(re.findall(rf"{name} run (\d+)", outputs))
    return len(shown)


def cell(name: str, interval: str, times: int, seconds: float) -> str:
    return (
        f"%%every {interval} --id {name} --times {times}\nimport time\ntime.sleep({seconds})\n"
        f"_{name} = globals().get('_{name}', 0) + 1\nprint('{name} run', _{name})"
    )


def test_a_slow_scheduled_run_shows_the_kernel_busy_a_quick_one_does_not(kernel: Kernel) -> None:
    kernel.execute("%load_ext nbsched")
    before = len(kernel.messages)
    kernel.execute(cell("slow", "1s", 2, 0.3))
    kernel.wait_for(lambda: runs_seen(kernel, "slow") >= 2, timeout=15, what="2 slow runs")
    kernel.pump(0.5)
    # every run of a slow cell: busy before it, idle after it
    slow = kernel.messages[before:]
    assert unparented_statuses(slow) == ["busy", "idle"] * 2
    busy = next(
        i for i, m in enumerate(slow) if m["msg_type"] == "status" and not m["parent_header"]
    )
    first_output = next(
        i
        for i, m in enumerate(slow)
        if m["msg_type"] == "comm_msg" and "slow run" in str(m["content"]["data"])
    )
    assert busy < first_output

    before = len(kernel.messages)
    kernel.execute(cell("quick", "0.5s", 4, 0))
    kernel.wait_for(lambda: runs_seen(kernel, "quick") >= 4, timeout=15, what="4 quick runs")
    kernel.pump(0.5)
    # only the first run (how long it takes is not known yet)
    assert unparented_statuses(kernel.messages[before:]) == ["busy", "idle"]


def test_no_busy_of_its_own_during_a_cells_await(kernel: Kernel) -> None:
    kernel.execute("%load_ext nbsched")
    before = len(kernel.messages)
    kernel.execute(cell("during", "0.5s", 2, 0.1))
    awaiting = kernel.execute("import asyncio\nawait asyncio.sleep(3)", timeout=30)
    assert runs_seen(kernel, "during") >= 2  # both ran while the cell awaited
    # the kernel said busy for the awaiting cell and idle once it was done; nothing between
    start = kernel.index_of_status(awaiting, "busy")
    end = kernel.index_of_status(awaiting, "idle")
    assert unparented_statuses(kernel.messages[start:end]) == []
    assert unparented_statuses(kernel.messages[before:start]) == []
