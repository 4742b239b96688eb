"""What the run history costs per run: the same workload with the default retention and with
``history_retention=0`` (no history), on the memory and the SQLite store.

The workload: 10 interval schedules firing every second, run on a ``FakeClock`` for
``SECONDS`` seconds (10 x SECONDS runs, so every schedule goes past the 100 runs it keeps and
pruning is part of the cost). The figure is CPU time of the whole process (every thread,
the SQLite store's worker threads included) per run, the best of ``--repeats`` runs. Run::

    .venv/bin/python benchmarks/history.py [--seconds 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
SCHEDULES = 10


def noop() -> None:
    pass


def _store(kind: str, retention: int | None, directory: Path) -> Any:
    from nbsched.datastores.memory import MemoryDataStore
    from nbsched.datastores.sqlite import SQLiteDataStore

    options: dict[str, Any] = {} if retention is None else {"history_retention": retention}
    if kind == "memory":
        return MemoryDataStore(**options)
    return SQLiteDataStore(directory / f"history-{retention}.db", **options)


async def _cpu_per_run(kind: str, retention: int | None, seconds: int) -> tuple[float, int]:
    from nbsched import AsyncScheduler, FakeClock
    from nbsched.triggers.interval import IntervalTrigger

    with tempfile.TemporaryDirectory() as directory:
        clock = FakeClock(START)
        store = _store(kind, retention, Path(directory))
        async with AsyncScheduler(store, clock=clock) as scheduler:
            for i in range(SCHEDULES):
                await scheduler.add_schedule(
                    noop,
                    IntervalTrigger(seconds=1, start_time=START + timedelta(seconds=1)),
                    id=f"s{i}",
                    job_executor="loop",
                )
            scheduler.start_in_background()
            await clock.settle()
            started = time.process_time()
            for _ in range(seconds):
                await clock.advance(1)
            cpu = time.process_time() - started
            kept = len(await scheduler.data_store.get_run_history())
    return cpu / (SCHEDULES * seconds), kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    print(f"{SCHEDULES} schedules x {options.seconds} s = {SCHEDULES * options.seconds} runs")
    print(f"{'store':8} {'history':22} {'CPU us/run':>10} {'records kept':>13}")
    for kind in ("memory", "sqlite"):
        figures = {}
        for label, retention in (("none (retention 0)", 0), ("default (100, 30 d)", None)):
            results = [
                asyncio.run(_cpu_per_run(kind, retention, options.seconds))
                for _ in range(options.repeats)
            ]
            best = min(cpu for cpu, _ in results)
            figures[label] = best
            print(f"{kind:8} {label:22} {best * 1e6:10.1f} {results[0][1]:13d}")
        off, on = figures.values()
        print(f"{kind:8} history costs {(on - off) * 1e6:.1f} us/run ({on / off:.2f}x)")


if __name__ == "__main__":
    main()
