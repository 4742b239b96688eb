"""Widget traffic of scheduled cells in a real kernel: messages and bytes per run stay flat.

Counted from iopub as a front end receives it: ``comm_open``, ``comm_msg`` and ``comm_close``
messages and the bytes of their JSON content. The cells fire every 100 ms or faster, so
hundreds of runs take seconds; what is asserted is a count per run or a ratio between the
first and the last window of runs, never a duration.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_kernel import KERNELS, Kernel

pytestmark = pytest.mark.slow

COMM_TYPES = ("comm_open", "comm_msg", "comm_close")


@pytest.fixture(params=list(KERNELS), ids=list(KERNELS))
def kernel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kernel]:
    python = KERNELS[request.param]
    if not python.exists():
        pytest.fail(f"{python} does not exist; `bash scripts/setup.sh` creates it", pytrace=False)
    started = Kernel(python, tmp_path)
    try:
        yield started
    finally:
        started.close()


def value_of(kernel: Kernel, expression: str) -> Any:
    """Evaluate ``expression`` in the kernel (a cell that prints its repr)."""
    msg_id = kernel.execute(f"print(repr({expression}))")
    text = "".join(text for parent, text in kernel.stream_texts() if parent == msg_id)
    return eval(text)  # noqa: S307 (the kernel's own repr of plain data)


def comm_traffic(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """Widget messages among ``messages`` and the bytes of their content."""
    found = [m for m in messages if m["msg_type"] in COMM_TYPES]
    return len(found), sum(len(json.dumps(m["content"])) for m in found)


def test_a_silent_scheduled_cell_sends_at_most_one_widget_message_per_run(
    kernel: Kernel,
) -> None:
    kernel.execute("%load_ext nbsched")
    kernel.execute("%%every 100ms --id quiet\n_quiet_runs = globals().get('_quiet_runs', 0) + 1")
    kernel.wait_for(
        lambda: value_of(kernel, "globals().get('_quiet_runs', 0)") >= 5,
        timeout=20,
        what="the first runs",
    )
    first = value_of(kernel, "_quiet_runs")
    start = len(kernel.messages)
    kernel.pump(3.0)
    runs = value_of(kernel, "_quiet_runs") - first
    count, size = comm_traffic(kernel.messages[start:])
    assert runs >= 10, runs
    assert count <= runs, f"{count} widget messages ({size} B) for {runs} runs"
