"""Two real kernels sharing one PostgreSQL database (``%sched store postgresql://...``).

Kernel A schedules a cell; kernel B, started on the same database through ``$NBSCHED_STORE``,
lists it, shows the runs it takes itself, and pauses it, which stops the runs in A too. Every
fire runs exactly once, in whichever kernel takes it. Real time, about ten seconds; newest
ipykernel only (test_kernel.py covers the routing on both ends of the ipykernel range).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernel_helpers import Kernel

pytestmark = pytest.mark.slow


@pytest.fixture
def two_kernels(tmp_path: Path) -> Iterator[tuple[Kernel, Kernel]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Kernel(Path(sys.executable), tmp_path / "a")
    try:
        second = Kernel(Path(sys.executable), tmp_path / "b")
        try:
            yield first, second
        finally:
            second.close()
    finally:
        first.close()


def printed(kernel: Kernel, code: str) -> str:
    msg_id = kernel.execute(code)
    return "".join(text for parent, text in kernel.stream_texts() if parent == msg_id).strip()


def answer_of(kernel: Kernel, msg_id: str, starts_with: str, what: str) -> str:
    """Wait for the one-line answer a ``%sched`` command shows when it is done."""
    (line,) = kernel.widgets_opened_by(msg_id, "HTMLModel")
    kernel.wait_for(
        lambda: any(str(v).startswith(starts_with) for _i, v in kernel.updates(line, "value")),
        timeout=15,
        what=what,
    )
    return str(kernel.updates(line, "value")[-1][1])


def runs(kernel: Kernel, comm_id: str) -> list[str]:
    """The runs shown so far in an ``--append`` cell's output area (one stream each)."""
    return ["".join(o.get("text", "") for o in run) for run in kernel.kept_runs(comm_id)]


def test_two_kernels_share_schedules_and_each_fire_runs_once(
    two_kernels: tuple[Kernel, Kernel], shared_dsn: str
) -> None:
    a, b = two_kernels
    a.execute("%load_ext nbsched")
    switched = a.execute(f"%sched store {shared_dsn}")
    answer_of(a, switched, "store: PostgreSQL", "A's switch to PostgreSQL")
    # A records every job any kernel ran (its broker hears B's over LISTEN/NOTIFY)
    a.execute(
        "from nbsched.events import JobReleased\n"
        "from nbsched.notebook import get_scheduler\n"
        "_released = []\n"
        "_sub = get_scheduler().subscribe(lambda e: _released.append("
        "(e.schedule_id, e.scheduled_start.isoformat(), e.scheduler_id)), [JobReleased])"
    )
    scheduled = a.execute(
        "%%every 1s --id shared --append\nimport os\nprint('ran in', os.getpid())"
    )
    (a_output,) = a.widgets_opened_by(scheduled, "OutputModel")
    a_pid, a_identity = printed(
        a,
        "import os\nfrom nbsched.notebook import get_scheduler\n"
        "print(os.getpid(), get_scheduler().identity)",
    ).split()
    assert a_identity.endswith(f"-{a_pid}-kernel")

    # B: the same database through $NBSCHED_STORE; A's cell comes back in B's %load_ext cell
    b.execute(f"import os\nos.environ['NBSCHED_STORE'] = {shared_dsn!r}")
    loaded = b.execute("%load_ext nbsched")
    b.wait_for(
        lambda: bool(b.widgets_opened_by(loaded, "OutputModel")), timeout=15, what="B's area"
    )
    (b_output,) = b.widgets_opened_by(loaded, "OutputModel")
    b_pid, b_identity = printed(
        b,
        "import os\nfrom nbsched.notebook import get_scheduler\n"
        "print(os.getpid(), get_scheduler().identity)",
    ).split()
    listed = b.execute("%sched list")
    table = answer_of(b, listed, "<table>", "B's %sched list")
    assert "<td>shared</td>" in table

    # both kernels take fires for a few seconds
    a.pump(3.0)
    b.pump(0.1)
    assert runs(a, a_output) or runs(b, b_output), "no runs at all"

    paused = b.execute("%sched pause shared")
    answer_of(b, paused, "paused", "B's pause")
    a.pump(0.5)  # a job taken just before the pause may still finish
    b.pump(0.5)
    a_before, b_before = runs(a, a_output), runs(b, b_output)
    a.pump(2.5)
    b.pump(1.0)  # an --append run is several widget messages: read all of B's
    a_runs, b_runs = runs(a, a_output), runs(b, b_output)
    assert (a_runs, b_runs) == (a_before, b_before), "runs went on after B's pause"

    # each kernel's runs happened in that kernel, each fire exactly once across both
    assert set(a_runs) <= {f"ran in {a_pid}\n"}, a_runs
    assert set(b_runs) <= {f"ran in {b_pid}\n"}, b_runs
    released = ast.literal_eval(printed(a, "print(_released)"))
    fires = [fire for schedule_id, fire, _who in released if schedule_id == "shared"]
    assert fires and len(fires) == len(set(fires)), released
    by = {who for _schedule_id, _fire, who in released}
    assert by <= {a_identity, b_identity}, by
    assert len(fires) == len(a_runs) + len(b_runs), (released, a_runs, b_runs)
