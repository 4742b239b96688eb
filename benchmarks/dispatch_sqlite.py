"""SQLite store throughput: nbsched's SQLiteDataStore against APScheduler 4's SQLAlchemyDataStore
on SQLite (aiosqlite), measured in the same run.

Two figures per scheduler, each on a fresh file in a temporary directory:

* adds/s: ``add_schedule`` calls per second (N interval schedules, one call each);
* jobs/s: N schedules all due at once (date triggers in the past), from starting the
  scheduler until N jobs have been released (run and recorded).

nbsched is measured at both ``synchronous`` levels (NORMAL, the default, and FULL). Run::

    .venv/bin/python benchmarks/dispatch_sqlite.py [N]

It prints a table and the ratios; :func:`run` returns the figures for benchmarks/dispatch.py.

A backlog (after a restart, or many ``0 9 * * *`` crons) is many due schedules sharing one
fire time, which must cost no more per job than as many due at distinct times::

    .venv/bin/python benchmarks/dispatch_sqlite.py --backlog [N ...]   # default 10000 100000

N due date-trigger schedules (written in one transaction), all at one fire time and then at N
distinct fire times; CPU time of the process (the store's thread included) per job, from
starting the scheduler until N jobs have been released; median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import statistics
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


async def _backlog(n: int, path: Path, shared: bool) -> dict[str, float]:
    """Per-job CPU and wall time for ``n`` due schedules at one or at distinct fire times."""
    from nbsched import AsyncScheduler
    from nbsched.datastores.sqlite import _INSERT_SCHEDULE_IF_NEW, SQLiteDataStore
    from nbsched.events import JobReleased
    from nbsched.triggers.date import DateTrigger

    due = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    store = SQLiteDataStore(path)
    async with AsyncScheduler(store) as s:  # creates the file, the schema and the task
        await s.add_schedule(noop, DateTrigger(due), id="template")
        template = await s.get_schedule("template")
    rows = []
    for i in range(n):
        fire_time = due if shared else due + timedelta(milliseconds=i)
        schedule = template.copy(
            id=f"s{i:07d}", trigger=DateTrigger(fire_time), next_fire_time=fire_time
        )
        rows.append(store._codec.encode_schedule(schedule))
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM schedules")
        conn.executemany(_INSERT_SCHEDULE_IF_NEW, rows)
    conn.close()
    del rows

    async with AsyncScheduler(SQLiteDataStore(path)) as s:
        done = asyncio.Event()
        count = 0

        def on_released(event: Any) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set()

        s.subscribe(on_released, {JobReleased})
        cpu, wall = time.process_time(), time.perf_counter()
        s.start_in_background()
        await asyncio.wait_for(done.wait(), 3600)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_us_per_job": cpu / n * 1e6, "wall_us_per_job": wall / n * 1e6}


def backlog(sizes: list[int], repeats: int) -> None:
    print("due schedules | one fire time: CPU us/job | distinct fire times: CPU us/job | ratio")
    print("--------------|---------------------------|--------------------------------|------")
    for n in sizes:
        figures: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeats):
            for shared in (True, False):  # interleaved: a busy moment hits both
                with tempfile.TemporaryDirectory() as tmp:
                    result = asyncio.run(_backlog(n, Path(tmp) / "backlog.db", shared))
                figures[shared].append(result["cpu_us_per_job"])
        one, distinct = statistics.median(figures[True]), statistics.median(figures[False])
        print(f"{n:13,} | {one:25.1f} | {distinct:30.1f} | {one / distinct:5.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "n", nargs="*", type=int, help="schedules (default 1000; backlog: 10000 100000)"
    )
    parser.add_argument("--backlog", action="store_true", help="one fire time against many")
    parser.add_argument("--repeats", type=int, default=3, help="runs per backlog figure")
    args = parser.parse_args()
    if args.backlog:
        backlog(args.n or [10_000, 100_000], args.repeats)
        return
    n = args.n[0] if args.n else N_DEFAULT
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
