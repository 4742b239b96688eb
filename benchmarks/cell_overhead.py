"""What one run of a silent scheduled cell costs the kernel: CPU time and widget messages.

A real kernel (jupyter_client, this venv's ipykernel) loads nbsched and schedules a cell that
prints nothing (``%%every 100ms``). Over a window of ``--seconds`` we count the runs (from the
scheduler's ``JobReleased`` events, recorded in the kernel), the CPU time of the kernel
process (all its threads, from ``/proc/<pid>/task/*/schedstat``) and the iopub widget messages
(``comm_open/msg/close``) and the bytes of their content. The same window with no schedule
gives the idle kernel's CPU time, which is subtracted; a window with a schedule of a function
that does nothing (same interval, on the loop) gives the floor: what the scheduler itself costs
per run in this kernel, before any notebook machinery.

Run: ``.venv/bin/python benchmarks/cell_overhead.py [--seconds 10] [--interval 100ms]``
"""

from __future__ import annotations

import argparse
import ast
import json
import queue
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import psutil
from jupyter_client import KernelManager

from nbsched.notebook._durations import parse_duration

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
%load_ext nbsched
from nbsched.notebook import get_scheduler
from nbsched.events import JobReleased
_bench_released = []
get_scheduler().subscribe(lambda e: _bench_released.append(e.schedule_id), [JobReleased])
"""


class BenchKernel:
    """A kernel, the process it runs in, and the iopub messages it sent."""

    def __init__(self) -> None:
        self.manager = KernelManager()
        self.manager.kernel_cmd = [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ]
        self.manager.start_kernel(cwd=str(ROOT))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.process = psutil.Process(self.manager.provisioner.process.pid)  # type: ignore[union-attr]
        self.messages: list[dict[str, Any]] = []

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
            for m in self.messages[-50:]
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

    def cpu_seconds(self) -> float:
        """CPU time of every thread of the kernel process, in nanosecond resolution where
        Linux gives it (``schedstat``), else psutil's user + system time (10 ms ticks)."""
        total = 0
        try:
            for thread in self.process.threads():
                path = f"/proc/{self.process.pid}/task/{thread.id}/schedstat"
                with open(path) as stats:
                    total += int(stats.read().split()[0])
        except OSError:
            times = self.process.cpu_times()
            return times.user + times.system
        return total / 1e9

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
    cpu_before = kernel.cpu_seconds()
    mark = len(kernel.messages)
    kernel.pump(seconds)
    cpu = kernel.cpu_seconds() - cpu_before
    runs = kernel.evaluate("len(_bench_released)") - runs_before
    count, size = comm_messages(kernel.messages[mark:])
    return runs, cpu, count, size


def measure(seconds: float, interval: str) -> dict[str, float]:
    """Three windows in one kernel: idle; a schedule of a function that does nothing (the
    scheduler's own cost, the floor); then the silent cell instead."""
    kernel = BenchKernel()
    try:
        kernel.execute(SETUP)
        kernel.pump(1.0)
        _runs, idle_cpu, _count, _size = _window(kernel, seconds)

        every = parse_duration(interval).total_seconds()
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
        kernel.pump(2.0)  # the first runs: widgets opened, caches warm
        runs, cpu, count, size = _window(kernel, seconds)
    finally:
        kernel.close()
    return {
        "runs": runs,
        "idle_cpu_ms_per_s": idle_cpu / seconds * 1000,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each window")
    parser.add_argument("--interval", default="100ms", help="the cell's %%every interval")
    parser.add_argument("--repeat", type=int, default=3, help="kernels to measure (median)")
    args = parser.parse_args()
    results = [measure(args.seconds, args.interval) for _ in range(args.repeat)]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {_commit()}")
    print(f"silent cell, %%every {args.interval}, {args.seconds:g} s windows, ", end="")
    print(f"median of {args.repeat}")
    for key in results[0]:
        values = [r[key] for r in results]
        each = ", ".join(f"{v:.3f}" for v in values)
        print(f"  {key:20} {statistics.median(values):10.3f}   ({each})")


if __name__ == "__main__":
    main()
