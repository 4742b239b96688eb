"""PostgreSQL store throughput: nbsched's PostgreSQLDataStore (psycopg 3) against APScheduler 4's
SQLAlchemyDataStore (SQLAlchemy + asyncpg) on the same server, measured in the same run.

Two figures per scheduler, each in a fresh database created for the run and dropped after:

* adds/s: ``add_schedule`` calls per second (N interval schedules, one call each);
* jobs/s: N schedules all due at once (date triggers in the past), from starting the
  scheduler until N jobs have been released (run and recorded).

Both schedulers use their in-process event broker, and APScheduler 4 runs without its default
limit of one running job per task (so that both may run the N jobs concurrently). nbsched is
also measured with its PostgreSQL event broker (LISTEN/NOTIFY), which a multi-host setup uses.
Run::

    .venv/bin/python benchmarks/dispatch_postgresql.py [N] [--dsn postgresql://...]

``--dsn`` (default: ``NBSCHED_TEST_POSTGRES`` or ``postgresql://postgres@127.0.0.1:5432/test``)
is a database from which fresh ones may be created. It prints a table with the ratios;
:func:`run` returns the figures for benchmarks/dispatch.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

N_DEFAULT = 1000
DEFAULT_DSN = os.environ.get("NBSCHED_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PEER = "APScheduler 4 SQLAlchemy+asyncpg"


async def noop() -> None:
    pass


@contextmanager
def fresh_database(maintenance_dsn: str) -> Iterator[str]:
    """Create an empty database, yield its DSN (libpq form), drop it afterwards."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"nbsched_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(maintenance_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(maintenance_dsn)
    params["dbname"] = name
    try:
        yield make_conninfo("", **params)
    finally:
        with psycopg.connect(maintenance_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlalchemy_url(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    user = params.get("user", "postgres")
    password = f":{params['password']}" if params.get("password") else ""
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql+asyncpg://{user}{password}@{host}:{port}/{params['dbname']}"


async def _time_adds(scheduler: Any, n: int, trigger: Callable[[], Any]) -> float:
    started = time.perf_counter()
    for i in range(n):
        await scheduler.add_schedule(noop, trigger(), id=f"s{i}")
    return n / (time.perf_counter() - started)


async def _time_jobs(scheduler: Any, n: int, released: type, start: Callable[[], Any]) -> float:
    done = asyncio.Event()
    count = 0

    def on_released(event: Any) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    scheduler.subscribe(on_released, {released})
    started = time.perf_counter()
    await start()
    await asyncio.wait_for(done.wait(), 600)
    return n / (time.perf_counter() - started)


async def _nbsched(n: int, dsn: str, with_broker: bool) -> dict[str, float]:
    from nbsched import AsyncScheduler
    from nbsched.datastores.postgresql import PostgreSQLDataStore
    from nbsched.eventbrokers.postgresql import PostgreSQLEventBroker
    from nbsched.events import JobReleased
    from nbsched.triggers.date import DateTrigger
    from nbsched.triggers.interval import IntervalTrigger

    def scheduler(schema: str) -> AsyncScheduler:
        broker = PostgreSQLEventBroker(dsn, channel=schema) if with_broker else None
        return AsyncScheduler(PostgreSQLDataStore(dsn, schema=schema), broker)

    figures: dict[str, float] = {}
    async with scheduler("adds") as s:
        figures["adds_per_s"] = await _time_adds(s, n, lambda: IntervalTrigger(hours=1))

    due = datetime.now(timezone.utc) - timedelta(seconds=1)
    async with scheduler("jobs") as s:
        for i in range(n):
            await s.add_schedule(noop, DateTrigger(due), id=f"s{i}")

        async def start() -> None:
            s.start_in_background()

        figures["jobs_per_s"] = await _time_jobs(s, n, JobReleased, start)
        await s.stop()
    return figures


async def _apscheduler4(n: int, dsn: str) -> dict[str, float]:
    from apscheduler import AsyncScheduler, JobReleased, TaskDefaults
    from apscheduler.datastores.sqlalchemy import SQLAlchemyDataStore
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    url = sqlalchemy_url(dsn)
    defaults = TaskDefaults(max_running_jobs=None)
    figures: dict[str, float] = {}
    store = SQLAlchemyDataStore(url, schema="adds")
    async with AsyncScheduler(store, task_defaults=defaults) as s:
        figures["adds_per_s"] = await _time_adds(s, n, lambda: IntervalTrigger(hours=1))

    due = datetime.now(timezone.utc) - timedelta(seconds=1)
    store = SQLAlchemyDataStore(url, schema="jobs")
    async with AsyncScheduler(store, task_defaults=defaults) as s:
        for i in range(n):
            await s.add_schedule(noop, DateTrigger(due), id=f"s{i}")
        figures["jobs_per_s"] = await _time_jobs(s, n, JobReleased, s.start_in_background)
        await s.stop()
    return figures


async def _create_schemas(dsn: str, *names: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for name in names:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')


def run(n: int = N_DEFAULT, dsn: str = DEFAULT_DSN) -> dict[str, dict[str, float]]:
    """Measure every peer; returns ``{peer: {"adds_per_s": ..., "jobs_per_s": ...}}``."""
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    peers: list[tuple[str, Callable[[str], Coroutine[Any, Any, dict[str, float]]]]] = [
        ("nbsched PostgreSQL (local broker)", lambda d: _nbsched(n, d, False)),
        ("nbsched PostgreSQL (PostgreSQL broker)", lambda d: _nbsched(n, d, True)),
        (PEER, lambda d: _apscheduler4(n, d)),
    ]
    results: dict[str, dict[str, float]] = {}
    for name, measure in peers:
        with fresh_database(dsn) as database:
            asyncio.run(_create_schemas(database, "adds", "jobs"))
            results[name] = asyncio.run(measure(database))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=N_DEFAULT, help="schedules")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="a database to create others from")
    options = parser.parse_args()
    results = run(options.n, options.dsn)
    peer = results[PEER]
    print(f"{options.n} schedules, one PostgreSQL server, a fresh database per scheduler")
    print(f"{'':40} {'adds/s':>10} {'x APS4':>7} {'jobs/s':>10} {'x APS4':>7}")
    for name, figures in results.items():
        print(
            f"{name:40} {figures['adds_per_s']:10.0f} "
            f"{figures['adds_per_s'] / peer['adds_per_s']:7.1f} "
            f"{figures['jobs_per_s']:10.0f} {figures['jobs_per_s'] / peer['jobs_per_s']:7.1f}"
        )


if __name__ == "__main__":
    main()
