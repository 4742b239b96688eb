"""SQLite store throughput: nbsched's SQLiteDataStore against APScheduler 4's SQLAlchemyDataStore
on SQLite (aiosqlite), measured in the same run.

Two figures per scheduler, each on a fresh file in a temporary directory:

* adds/s: ``add_schedule`` calls per second (N interval schedules, one call each);
* jobs/s: N schedules all due at once (date triggers in the past), from starting the
  scheduler until N jobs have been released (run and recorded).

nbsched is measured at both ``synchronous`` levels (NORMAL, the default, and FULL). Run::

    .venv/bin/python benchmarks/dispatch_sqlite.py [N]

It prints a table and the ratios; :func:`run` returns the figures for benchmarks/dispatch.py.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

N_DEFAULT = 1000


async def noop() -> None:
    pass


async def _nbsched(n: int, path: Path, synchronous: str) -> dict[str, float]:
    from nbsched import AsyncScheduler
    from nbsched.datastores.sqlite import SQLiteDataStore
    from nbsched.events import JobReleased
    from nbsched.triggers.date import DateTrigger
    from nbsched.triggers.interval import IntervalTrigger

    figures: dict[str, float] = {}
    async with AsyncScheduler(SQLiteDataStore(path / "adds.db", synchronous=synchronous)) as s:
        started = time.perf_counter()
        for i in range(n):
            await s.add_schedule(noop, IntervalTrigger(hours=1), id=f"s{i}")
        figures["adds_per_s"] = n / (time.perf_counter() - started)

    due = datetime.now(timezone.utc) - timedelta(seconds=1)
    store = SQLiteDataStore(path / "jobs.db", synchronous=synchronous)
    async with AsyncScheduler(store) as s:
        for i in range(n):
            await s.add_schedule(noop, DateTrigger(due), id=f"s{i}")
        done = asyncio.Event()
        count = 0

        def on_released(event: Any) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set()

        s.subscribe(on_released, {JobReleased})
        started = time.perf_counter()
        s.start_in_background()
        await asyncio.wait_for(done.wait(), 600)
        figures["jobs_per_s"] = n / (time.perf_counter() - started)
    return figures


async def _apscheduler4(n: int, path: Path) -> dict[str, float]:
    from apscheduler import AsyncScheduler, JobReleased
    from apscheduler.datastores.sqlalchemy import SQLAlchemyDataStore
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    figures: dict[str, float] = {}
    store = SQLAlchemyDataStore(f"sqlite+aiosqlite:///{path / 'aps4_adds.db'}")
    async with AsyncScheduler(store) as s:
        started = time.perf_counter()
        for i in range(n):
            await s.add_schedule(noop, IntervalTrigger(hours=1), id=f"s{i}")
        figures["adds_per_s"] = n / (time.perf_counter() - started)

    due = datetime.now(timezone.utc) - timedelta(seconds=1)
    store = SQLAlchemyDataStore(f"sqlite+aiosqlite:///{path / 'aps4_jobs.db'}")
    async with AsyncScheduler(store) as s:
        for i in range(n):
            await s.add_schedule(noop, DateTrigger(due), id=f"s{i}")
        done = asyncio.Event()
        count = 0

        def on_released(event: Any) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set()

        s.subscribe(on_released, {JobReleased})
        started = time.perf_counter()
        await s.start_in_background()
        await asyncio.wait_for(done.wait(), 600)
        figures["jobs_per_s"] = n / (time.perf_counter() - started)
    return figures


def run(n: int = N_DEFAULT) -> dict[str, dict[str, float]]:
    """Measure every peer; returns ``{peer: {"adds_per_s": ..., "jobs_per_s": ...}}``."""
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, factory in (
            ("nbsched SQLite (synchronous=NORMAL)", lambda p: _nbsched(n, p, "NORMAL")),
            ("nbsched SQLite (synchronous=FULL)", lambda p: _nbsched(n, p, "FULL")),
            ("APScheduler 4 SQLAlchemy+aiosqlite", lambda p: _apscheduler4(n, p)),
        ):
            path = Path(tmp) / name.split()[0] / name.split("=")[-1].strip(")")
            path.mkdir(parents=True)
            results[name] = asyncio.run(factory(path))
    return results


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_DEFAULT
    results = run(n)
    peer = results["APScheduler 4 SQLAlchemy+aiosqlite"]
    print(f"{n} schedules, SQLite file in a temporary directory")
    print(f"{'':40} {'adds/s':>10} {'x APS4':>7} {'jobs/s':>10} {'x APS4':>7}")
    for name, figures in results.items():
        print(
            f"{name:40} {figures['adds_per_s']:10.0f} "
            f"{figures['adds_per_s'] / peer['adds_per_s']:7.1f} "
            f"{figures['jobs_per_s']:10.0f} {figures['jobs_per_s'] / peer['jobs_per_s']:7.1f}"
        )


if __name__ == "__main__":
    main()
