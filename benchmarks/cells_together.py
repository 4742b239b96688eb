"""How late scheduled cells start when many are due in the same second.

A real kernel (jupyter_client, as ``cell_overhead.py``) loads nbsched and, within one whole
second, schedules ``--cells`` cells (``%%every --interval``): ``%%every`` counts from a whole
second, so they are all due at the same instants. Each run appends its start lateness (the time
it starts minus ``nbsched.current_job.get().scheduled_fire_time``) to a list in the kernel,
read back after ``--rounds`` rounds. Cells run on the kernel's main thread one after another, so
the k-th cell of a round waits for the k-1 before it: ``per_cell_ms`` is the slope, the spread of
a round divided by the cells after its first.

Run: ``.venv/bin/python benchmarks/cells_together.py [--cells 50] [--rounds 3] [--repeat 1]
[--against DIR]``; with ``--against`` another checkout's nbsched is measured in the same run,
kernels alternating.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

from cell_overhead import ROOT, BenchKernel, _commit, nbsched_from, report_medians

from nbsched.notebook._durations import parse_duration

SETUP = """
%load_ext nbsched
from nbsched import _warmup
_warmup.wait(120)  # the chart modules' import in a thread: done before any round
import time as _bench_time
import nbsched as _bench_nbsched
_bench_late = []
"""

CELL = (
    "_bench_job = _bench_nbsched.current_job.get()\n"
    "_bench_late.append((_bench_job.scheduled_fire_time.timestamp(),\n"
    "    _bench_time.time() - _bench_job.scheduled_fire_time.timestamp()))\n"
)

# All the cells scheduled from one cell, started just after a whole second so that they are all
# made within that second. Without a cellId, as nbclient runs a notebook, each is a schedule of
# its own (under one cell id, each would replace the one before).
SCHEDULE = """
get_ipython().kernel.get_parent().get('metadata', {{}}).pop('cellId', None)
while _bench_time.time() % 1 > 0.05:
    _bench_time.sleep(0.01)
for _bench_i in range({cells}):
    _bench_line = f'{interval} --times {rounds} --id together{{_bench_i}}'
    get_ipython().run_cell_magic('every', _bench_line, {cell!r})
_bench_made = _bench_time.time() % 1
"""


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (``share`` in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure(cells: int, rounds: int, interval: str, root: Path = ROOT) -> dict[str, float]:
    """Lateness of every run of ``cells`` cells due together, over ``rounds`` rounds."""
    every = parse_duration(interval).total_seconds()
    kernel = BenchKernel(root)
    try:
        kernel.execute(SETUP)
        kernel.execute(SCHEDULE.format(cells=cells, interval=interval, rounds=rounds, cell=CELL))
        made = kernel.evaluate("_bench_made")
        if made > 0.9:  # a slow machine: the last ones may be due a second later
            raise RuntimeError(f"the cells were not all made within one second ({made:.3f})")
        kernel.pump(every * (rounds + 1) + 1)
        deadline = time.monotonic() + 30
        while kernel.evaluate("len(_bench_late)") < cells * rounds:
            if time.monotonic() > deadline:
                raise RuntimeError("the rounds did not all run")
            kernel.pump(1)
        runs: list[tuple[float, float]] = kernel.evaluate("_bench_late")
    finally:
        kernel.close()
    by_round: dict[float, list[float]] = defaultdict(list)
    for fire, late in runs:
        by_round[round(fire, 3)].append(late)
    complete = [lates for lates in by_round.values() if len(lates) == cells][:rounds]
    if len(complete) < rounds:
        raise RuntimeError(f"the cells were not due together: {sorted(by_round)}")
    lates = [late for lates in complete for late in lates]
    return {
        "first_ms": statistics.median(min(r) for r in complete) * 1000,
        "p50_ms": percentile(lates, 0.5) * 1000,
        "p99_ms": percentile(lates, 0.99) * 1000,
        "max_ms": max(lates) * 1000,
        "per_cell_ms": statistics.median((max(r) - min(r)) / (cells - 1) for r in complete) * 1000,
    }


def _measure_with(path: str | None, cells: int, rounds: int, interval: str) -> dict[str, float]:
    """:func:`measure` with the kernel importing nbsched from ``path``."""
    with nbsched_from(path) as root:
        return measure(cells, rounds, interval, root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=50, help="cells due together")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per kernel")
    parser.add_argument("--interval", default="3s", help="the cells' %%every interval")
    parser.add_argument("--repeat", type=int, default=1, help="kernels to measure (median)")
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="another checkout (e.g. a `git worktree` of an older commit): its nbsched is "
        "measured in the same run, kernels alternating",
    )
    args = parser.parse_args()
    mine: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for _ in range(args.repeat):
        if args.against:
            theirs.append(_measure_with(args.against, args.cells, args.rounds, args.interval))
        mine.append(_measure_with(None, args.cells, args.rounds, args.interval))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {_commit()}, ", end="")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.cells} cells, %%every {args.interval}, {args.rounds} rounds, ", end="")
    print(f"median of {args.repeat} kernels")
    now = report_medians("this checkout", mine, digits=2)
    if args.against:
        before = report_medians(f"against {args.against}", theirs, digits=2)
        ratio = now["p99_ms"] / before["p99_ms"]
        print(f"p99_ms, this checkout / against: {ratio:.2f}")


if __name__ == "__main__":
    main()
