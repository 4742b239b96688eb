"""What one run of a silent scheduled cell costs the kernel: CPU time and widget messages.

A real kernel (jupyter_client, this venv's ipykernel) loads nbsched and schedules a cell that
prints nothing (``%%every 100ms``). Over a window of ``--seconds`` we count the runs (from the
scheduler's ``JobReleased`` events, recorded in the kernel), the CPU time of the kernel
process (all its threads, from ``/proc/<pid>/task/*/schedstat``) and the iopub widget messages
(``comm_open/msg/close``) and the bytes of their content. The same window with no schedule
gives the idle kernel's CPU time, which is subtracted; a window with a schedule of a function
that does nothing (same interval, on the loop) gives the floor: what the scheduler itself costs
per run in this kernel, before any notebook machinery; and a window with only a timer of the
kernel's event loop re-armed at the same interval gives what waking the kernel costs at all
(the tick), with no scheduler.

Run: ``.venv/bin/python benchmarks/cell_overhead.py [--seconds 10] [--interval 100ms]
[--against DIR]``; with ``--against`` another checkout's nbsched (``git worktree add DIR
COMMIT``) is measured in the same run, kernels alternating, since the machine's load moves
these figures by more than the changes being measured.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import queue
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import psutil
from jupyter_client import KernelManager

from nbsched.notebook._durations import parse_duration

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
%load_ext nbsched
from nbsched import _warmup
_warmup.wait(120)  # the chart modules' import in a thread: done before any window
from nbsched.notebook import get_scheduler
from nbsched.events import JobReleased
_bench_released = []
get_scheduler().subscribe(lambda e: _bench_released.append(e.schedule_id), [JobReleased])
"""


class BenchKernel:
    """A kernel, the process it runs in, and the iopub messages it sent."""

    def __init__(self, root: Path = ROOT) -> None:
        self.manager = KernelManager()
        self.manager.kernel_cmd = [  # type: ignore[attr-defined]  # a traitlet, untyped
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ]
        # the kernel's working directory comes first on its sys.path: nbsched from ``root``
        self.manager.start_kernel(cwd=str(root))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.process = psutil.Process(self.manager.provisioner.process.pid)  # type: ignore[union-attr]
        self.messages: list[dict[str, Any]] = []
        self._seen: dict[int, int] = {}
        self._window_start: dict[int, int] = {}
        self._window_start_ticks = 0.0

    def execute(self, code: str, expression: str | None = None) -> Any:
        """Run ``code`` as a cell (with a ``cellId``, as JupyterLab sends), keep every iopub
        message until the kernel is idle again; return ``expression``'s value (JSON)."""
        expressions = {"value": expression} if expression else {}
        request = self.client.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "allow_stdin": False,
                "user_expressions": expressions,
                "stop_on_error": True,
            },
            metadata={"cellId": str(uuid4())},
        )
        mark = len(self.messages)  # not the last n: a busy kernel's later messages bury idle
        self.client.shell_channel.send(request)
        msg_id = request["header"]["msg_id"]
        while True:
            reply = self.client.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"cell failed: {reply['content']}")
        while not any(
            m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
            and m["parent_header"].get("msg_id") == msg_id
            for m in self.messages[mark:]
        ):
            self.pump(0.05)
        if expression is None:
            return None
        return ast.literal_eval(
            reply["content"]["user_expressions"]["value"]["data"]["text/plain"]
        )

    def evaluate(self, expression: str) -> Any:
        return self.execute("", expression)

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                self.messages.append(self.client.get_iopub_msg(timeout=min(left, 0.1)))
            except queue.Empty:
                pass
            self._sample()

    def thread_cpu(self) -> dict[int, int]:
        """Nanoseconds of CPU each live thread of the kernel process has used
        (``/proc/<pid>/task/<tid>/schedstat``; empty where Linux does not give it)."""
        found = {}
        try:
            tids = os.listdir(f"/proc/{self.process.pid}/task")
        except OSError:
            return {}
        for tid in tids:
            try:
                with open(f"/proc/{self.process.pid}/task/{tid}/schedstat") as stats:
                    found[int(tid)] = int(stats.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # the thread ended just now
        return found

    def cpu_seconds(self) -> float:
        """CPU time of the kernel process since the window began (:meth:`start_window`):
        every thread's, those that ended meanwhile included up to their last sample (the
        threads are sampled on every :meth:`pump` step). A plain sum over the live threads
        drops an ended thread's whole CPU time and made windows negative; psutil's process
        times count in 10 ms ticks, too coarse for a fraction of a millisecond a run."""
        self._sample()
        if not self._seen:  # no schedstat: the process's user + system time
            times = self.process.cpu_times()
            return times.user + times.system - self._window_start_ticks
        return sum(now - self._window_start.get(tid, 0) for tid, now in self._seen.items()) / 1e9

    def start_window(self) -> None:
        self._seen = self.thread_cpu()
        self._window_start = dict(self._seen)
        times = self.process.cpu_times()
        self._window_start_ticks = times.user + times.system

    def _sample(self) -> None:
        for tid, now in self.thread_cpu().items():
            if now >= self._seen.get(tid, 0):
                self._seen[tid] = now

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def comm_messages(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """How many widget messages (comm_open/msg/close) and their content bytes."""
    count = size = 0
    for message in messages:
        if message["msg_type"] in ("comm_open", "comm_msg", "comm_close"):
            count += 1
            size += len(json.dumps(message["content"]))
    return count, size


def _window(kernel: BenchKernel, seconds: float) -> tuple[int, float, int, int]:
    """Runs, kernel CPU seconds, widget messages and their bytes over ``seconds``."""
    runs_before = kernel.evaluate("len(_bench_released)")
    kernel.start_window()
    mark = len(kernel.messages)
    kernel.pump(seconds)
    cpu = kernel.cpu_seconds()
    runs = kernel.evaluate("len(_bench_released)") - runs_before
    count, size = comm_messages(kernel.messages[mark:])
    return runs, cpu, count, size


def _wait_for_runs(kernel: BenchKernel, runs: int, deadline: float) -> None:
    """Pump iopub until the cell (id ``quiet``) has run ``runs`` times (or ``deadline``)."""
    while kernel.evaluate("_bench_released.count('quiet')") < runs and time.monotonic() < deadline:
        kernel.pump(0.2)


TICK = """
import asyncio
_bench_ticks = []
def _bench_tick():
    global _bench_tick_handle
    _bench_ticks.append(None)
    _bench_tick_handle = asyncio.get_running_loop().call_later({every}, _bench_tick)
_bench_tick_handle = asyncio.get_running_loop().call_later({every}, _bench_tick)
"""


def measure(seconds: float, interval: str, root: Path = ROOT) -> dict[str, float]:
    """Four windows in one kernel: idle; a bare timer of the event loop (the tick); a
    schedule of a function that does nothing (the scheduler's own cost, the floor); then the
    silent cell instead."""
    kernel = BenchKernel(root)
    try:
        kernel.execute(SETUP)
        kernel.pump(1.0)
        _runs, idle_cpu, _count, _size = _window(kernel, seconds)

        every = parse_duration(interval).total_seconds()
        kernel.execute(TICK.format(every=every))
        kernel.pump(1.0)
        ticks_before = kernel.evaluate("len(_bench_ticks)")
        kernel.start_window()
        kernel.pump(seconds)
        tick_cpu = kernel.cpu_seconds()
        ticks = kernel.evaluate("len(_bench_ticks)") - ticks_before
        kernel.execute("_bench_tick_handle.cancel()")

        kernel.execute(
            "from nbsched.triggers import IntervalTrigger\n"
            "def _bench_noop(): pass\n"
            "await get_scheduler().add_schedule(\n"
            f"    _bench_noop, IntervalTrigger(seconds={every}), id='noop', job_executor='loop'\n"
            ")"
        )
        kernel.pump(1.0)
        floor_runs, floor_cpu, _count, _size = _window(kernel, seconds)
        kernel.execute("await get_scheduler().remove_schedule('noop')")

        kernel.execute(f"%%every {interval} --id quiet\n_quiet = 1")
        # the first two runs before the window (widgets opened, the first run's changes of
        # state written, caches warm): a window of a long interval must not count them
        _wait_for_runs(kernel, 2, deadline=time.monotonic() + 3 * every + 10)
        kernel.pump(min(2.0, every / 2))
        runs, cpu, count, size = _window(kernel, seconds)
    finally:
        kernel.close()
    return {
        "runs": runs,
        "idle_cpu_ms_per_s": idle_cpu / seconds * 1000,
        "tick_cpu_ms_per_run": (tick_cpu - idle_cpu) / max(ticks, 1) * 1000,
        "floor_cpu_ms_per_run": (floor_cpu - idle_cpu) / floor_runs * 1000,
        "cpu_ms_per_run": (cpu - idle_cpu) / runs * 1000,
        "messages_per_run": count / runs,
        "bytes_per_run": size / runs,
    }


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"


@contextmanager
def nbsched_from(path: str | None) -> Iterator[Path]:
    """Within the block, kernels started import nbsched from ``path`` (a checkout's root;
    ``None``: this one), which it yields; ``PYTHONPATH`` is restored after."""
    root = ROOT if path is None else Path(path).resolve()
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(root)
    try:
        yield root
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def report_medians(
    title: str, results: list[dict[str, float]], digits: int = 3
) -> dict[str, float]:
    """Print ``title``, then each figure's median over ``results`` with every value; return
    the medians."""
    print(title)
    medians = {}
    for key in results[0]:
        values = [r[key] for r in results]
        each = ", ".join(f"{v:.{digits}f}" for v in values)
        medians[key] = statistics.median(values)
        print(f"  {key:20} {medians[key]:10.{digits}f}   ({each})")
    return medians


def _measure_with(path: str | None, seconds: float, interval: str) -> dict[str, float]:
    """:func:`measure` with the kernel importing nbsched from ``path``."""
    with nbsched_from(path) as root:
        return measure(seconds, interval, root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each window")
    parser.add_argument("--interval", default="100ms", help="the cell's %%every interval")
    parser.add_argument("--repeat", type=int, default=3, help="kernels to measure (median)")
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="another checkout (e.g. a `git worktree` of an older commit): its nbsched is "
        "measured in the same run, kernels alternating, and the ratio printed",
    )
    args = parser.parse_args()
    mine: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for _ in range(args.repeat):
        if args.against:
            theirs.append(_measure_with(args.against, args.seconds, args.interval))
        mine.append(_measure_with(None, args.seconds, args.interval))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {_commit()}")
    print(f"silent cell, %%every {args.interval}, {args.seconds:g} s windows, ", end="")
    print(f"median of {args.repeat}")
    now = report_medians("this checkout", mine)
    if args.against:
        before = report_medians(f"against {args.against}", theirs)
        ratio = now["cpu_ms_per_run"] / before["cpu_ms_per_run"]
        print(f"cpu_ms_per_run, this checkout / against: {ratio:.2f}")


if __name__ == "__main__":
    main()
