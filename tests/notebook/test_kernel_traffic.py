"""Widget traffic of scheduled cells in a real kernel: messages and bytes per run stay flat.

Counted from iopub as a front end receives it: ``comm_open``, ``comm_msg`` and ``comm_close``
messages and the bytes of their JSON content. The cells fire every 100 ms (the shortest
interval a cell may have), so 300 runs take half a minute; what is asserted is a count per
run or a ratio between the first and the last window of runs, never a duration.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from kernel_helpers import Kernel

pytestmark = pytest.mark.slow

COMM_TYPES = ("comm_open", "comm_msg", "comm_close")


def value_of(kernel: Kernel, expression: str) -> Any:
    """Evaluate ``expression`` in the kernel (a cell that prints its repr)."""
    msg_id = kernel.execute(f"print(repr({expression}))")
    text = "".join(text for parent, text in kernel.stream_texts() if parent == msg_id)
    return eval(text)  # the kernel's own repr of plain data


def comm_traffic(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """Widget messages among ``messages`` and the bytes of their content."""
    found = [m for m in messages if m["msg_type"] in COMM_TYPES]
    return len(found), sum(len(json.dumps(m["content"])) for m in found)


@pytest.mark.parametrize(
    ("interval", "seconds", "at_least"), [("100ms", 4.0, 12), ("1s", 8.0, 6)], ids=str
)
def test_a_silent_scheduled_cell_sends_its_routine_status_every_few_seconds_not_every_run(
    kernel: Kernel, interval: str, seconds: float, at_least: int
) -> None:
    # each run moves the status line's count on; for a quick cell that is a routine change,
    # written at most every ROUTINE_INTERVAL (it was once a run at 1 s: 1 message a run, and
    # before that "queued" and the outcome half a second later, 1.5), once the first
    # rewrites after its first outcome (FIRST_ROUTINE_INTERVAL, then twice that) are done
    from nbsched.notebook._cell_output import FIRST_ROUTINE_INTERVAL, ROUTINE_INTERVAL

    kernel.execute("%load_ext nbsched")
    kernel.execute(
        f"%%every {interval} --id quiet\n_quiet_runs = globals().get('_quiet_runs', 0) + 1"
    )
    kernel.wait_for(
        lambda: value_of(kernel, "globals().get('_quiet_runs', 0)") >= 3,
        timeout=20,
        what="the first runs",
    )
    kernel.pump(3 * FIRST_ROUTINE_INTERVAL)
    first = value_of(kernel, "_quiet_runs")
    start = len(kernel.messages)
    kernel.pump(seconds)
    runs = value_of(kernel, "_quiet_runs") - first
    count, size = comm_traffic(kernel.messages[start:])
    assert runs >= at_least, runs
    # (+1: the window's edge may fall between a run and its status message)
    assert count <= seconds / ROUTINE_INTERVAL + 1, (
        f"{count} widget messages ({size} B) for {runs} runs in {seconds} s"
    )


def run_markers(messages: list[dict[str, Any]]) -> dict[int, int]:
    """Message index at which each run's output ``run N`` first reached an Output widget."""
    found: dict[int, int] = {}
    for index, m in enumerate(messages):
        if m["msg_type"] not in ("comm_msg", "comm_open"):
            continue
        state = m["content"]["data"].get("state", {})
        for output in state.get("outputs") or ():
            for line in output.get("text", "").splitlines():
                if line.startswith("run "):
                    found.setdefault(int(line.split()[1]), index)
    return found


def redraw_times(messages: list[dict[str, Any]], comm_id: str) -> list[float]:
    """Kernel-side times (header dates) of the updates of an Output widget's outputs."""
    return [
        m["header"]["date"].timestamp()
        for m in messages
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == comm_id
        and "outputs" in m["content"]["data"].get("state", {})
    ]


def test_300_append_runs_with_a_log_and_a_timeline_open_cost_the_same_per_run(
    kernel: Kernel,
) -> None:
    kernel.execute("%load_ext nbsched")
    kernel.execute("%sched log")
    timeline = kernel.execute("%sched timeline")
    kernel.execute(
        "%%every 100ms --append --times 300 --id chatty\n"
        "_chatty = globals().get('_chatty', 0) + 1\n"
        "print('run', _chatty)"
    )
    kernel.wait_for(lambda: 300 in run_markers(kernel.messages), timeout=120, what="300 runs")
    kernel.pump(1.5)  # the last coalesced updates
    markers = run_markers(kernel.messages)

    def per_run(first: int, last: int) -> tuple[float, float]:
        count, size = comm_traffic(kernel.messages[markers[first] : markers[last]])
        return count / (last - first), size / (last - first)

    # runs 1-30 open the kept runs' output areas; from then on each run should cost the same
    early_count, early_bytes = per_run(40, 90)
    late_count, late_bytes = per_run(250, 300)
    summary = (
        f"per run: early {early_count:.1f} messages, {early_bytes:.0f} B; "
        f"late {late_count:.1f} messages, {late_bytes:.0f} B"
    )
    assert late_bytes <= 1.25 * early_bytes, summary
    assert late_count <= 1.25 * early_count, summary
    # the kept runs bound what a run sends: its own output, not the history
    assert late_bytes < 5000, summary

    # the live chart redraws at most once a second
    (chart_output,) = kernel.widgets_opened_by(timeline, "OutputModel")
    times = redraw_times(kernel.messages, chart_output)
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert len(times) >= 2, times
    assert min(gaps) >= 0.95, gaps
