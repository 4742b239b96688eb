"""nbsched's own imports do not delay scheduled cells (a real kernel, real time).

The first chart needs pandas, whose import takes about a second of the kernel's thread; done
there, it would hold up every scheduled cell for that long. The lateness is what the scheduler
reports for each run (``JobReleased.started_at - scheduled_start``), read in the kernel; it
is compared with the lateness of the runs just before the chart, since on a busy machine runs
start late now and then whatever the kernel does; when too many are late, the measurement is
made once more in a new kernel (a hold-up of nbsched's making happens again, a stall of a
loaded machine most likely not). Which thread loaded pandas is read from an audit hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kernel_helpers import Kernel

pytestmark = pytest.mark.slow

#: The most a scheduled cell may start late because of nbsched's own imports.
MAX_LATENESS = 0.050


def printed(kernel: Kernel, code: str) -> Any:
    msg_id = kernel.execute(code)
    text = "".join(text for parent, text in kernel.stream_texts() if parent == msg_id)
    return eval(text)  # the kernel's repr of plain data


def opened(kernel: Kernel, model_name: str) -> list[str]:
    """Every widget of that model the kernel opened, from any cell or from the loop."""
    return [
        m["content"]["comm_id"]
        for m in kernel.messages
        if m["msg_type"] == "comm_open"
        and m["content"]["data"]["state"].get("_model_name") == model_name
    ]


AUDIT_IMPORTS = """
import sys, threading
_imported_on = []

def _note_import(event, args):
    if event == "import" and str(args[0]).split(".")[0] in ("pandas", "numpy"):
        _imported_on.append((args[0], threading.current_thread() is threading.main_thread()))

sys.addaudithook(_note_import)
"""


def first_chart(kernel: Kernel) -> tuple[list[float], list[float], list[tuple[str, bool]]]:
    """Run a cell every 100 ms, then draw the first chart: the lateness of the runs before
    it (a 3 s window), of those from the chart's cell until 1.5 s after it was drawn, and
    which modules of pandas and numpy were imported on which thread."""
    kernel.execute(AUDIT_IMPORTS)  # which thread loads pandas (and numpy) from now on
    kernel.execute("%load_ext nbsched")
    kernel.execute(
        "from nbsched.events import JobReleased\n"
        "from nbsched.notebook import get_scheduler\n"
        "_lateness = []\n"
        "get_scheduler().subscribe(lambda e: _lateness.append(\n"
        "    (e.started_at - e.scheduled_start).total_seconds()), [JobReleased])"
    )
    # every 100 ms (the shortest interval), and with --times each fire runs even when it
    # fell due while the kernel was held up (no merging): a hold-up of 150 ms or more makes
    # some run start at least 50 ms late
    kernel.execute("%%every 100ms --times 1000 --id pulse\n_pulse = 1")
    kernel.pump(1.0)  # the first run comes on the next whole second
    printed(kernel, "_lateness.clear()\nprint([])")
    kernel.pump(3.0)  # the cell runs on its own: how late runs start on this machine anyway
    before = printed(kernel, "print(_lateness); _lateness.clear()")
    timeline = kernel.execute("%sched timeline")
    kernel.wait_for(
        lambda: any(
            "application/vnd.vegalite.v5+json" in str(kernel.updates(comm, "outputs"))
            for comm in opened(kernel, "OutputModel")
        ),
        timeout=60,
        what="the timeline chart",
    )
    assert kernel.index_of_status(timeline, "idle")
    kernel.pump(1.5)
    during = printed(kernel, "print(_lateness)")
    imported_on = printed(kernel, "print(_imported_on)")
    return before, during, imported_on


def held_up(before: list[float], during: list[float]) -> list[float]:
    """The runs around the first chart that started more than 50 ms later than the worst
    run before it. A hold-up of the kernel's thread makes every fire it covers late (--times:
    none merged): 1.4-1.9 s of them before the import moved to a thread. Drawing the chart
    takes the kernel's thread for a moment, and a loaded machine stalls it now and then."""
    return [lateness for lateness in during if lateness >= MAX_LATENESS + max(before)]


#: Runs around the first chart allowed to be late (see :func:`held_up`).
ALLOWED_LATE_RUNS = 2


def test_the_first_timeline_does_not_delay_a_scheduled_cell(
    kernel: Kernel, tmp_path: Path
) -> None:
    before, during, imported_on = first_chart(kernel)

    # pandas was loaded, and never on the kernel's thread (where the scheduled cells run)
    assert any(name == "pandas" for name, _on_main in imported_on), imported_on
    assert [name for name, on_main in imported_on if on_main] == []
    # and the runs while the first chart was made started about as late as before it
    assert len(before) >= 20 and len(during) >= 5, (before, during)
    if len(held_up(before, during)) > ALLOWED_LATE_RUNS:
        # a loaded machine can stall the kernel just then; a hold-up of nbsched's making
        # happens again in a new kernel, a stall of the machine's most likely not
        second = Kernel(kernel.python, tmp_path)
        try:
            before, during, _imported_on = first_chart(second)
        finally:
            second.close()
    assert len(held_up(before, during)) <= ALLOWED_LATE_RUNS, (before, during)
