"""APScheduler 3's part of benchmarks/dispatch.py, run in a subprocess.

APScheduler 3 and 4 are both the ``apscheduler`` package, so they cannot share a venv: the
parent process runs this file with ``.bench/aps3`` (``pip install --target .bench/aps3
'apscheduler<4' tzlocal``) first on ``sys.path``. Usage::

    python _aps3_dispatch.py dispatch N | lateness N_SCHEDULES PERIOD DURATION |
                             memory N KIND

It prints one JSON object on stdout.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone


async def _noop() -> None:
    pass


async def dispatch(n: int) -> dict[str, float]:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    done = asyncio.Event()
    count = 0

    def listener(event: object) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    run_date = datetime.now(timezone.utc)
    for i in range(n):
        scheduler.add_job(_noop, "date", run_date=run_date, id=f"j{i}", misfire_grace_time=None)
    started = time.perf_counter()
    scheduler.start()
    await done.wait()
    elapsed = time.perf_counter() - started
    scheduler.shutdown(wait=False)
    return {"jobs_per_s": n / elapsed, "seconds": elapsed}


async def lateness(n_schedules: int, period: float, duration: float) -> dict[str, list[float]]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    samples: list[float] = []
    base = time.time() + 0.5
    stop_at = base + duration

    async def job(start: float) -> None:
        now = time.time()
        if now < stop_at:
            fire = start + ((now - start) // period) * period
            samples.append(now - fire)

    for i in range(n_schedules):
        start = base + i * period / n_schedules
        scheduler.add_job(
            job,
            "interval",
            seconds=period,
            start_date=datetime.fromtimestamp(start, timezone.utc),
            args=[start],
            misfire_grace_time=None,
            coalesce=False,
        )
    scheduler.start()
    await asyncio.sleep(stop_at - time.time() + 0.2)
    scheduler.shutdown(wait=False)
    return {"samples": samples}


def memory(n: int, kind: str) -> dict[str, float]:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = BackgroundScheduler(timezone=timezone.utc)
    scheduler.start(paused=True)
    start = datetime.now(timezone.utc) + timedelta(days=1)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        if kind == "cron":
            trigger = CronTrigger(
                minute="*/5", hour="9-17", day_of_week="mon-fri", timezone=timezone.utc
            )
        else:
            trigger = IntervalTrigger(minutes=5, start_date=start, timezone=timezone.utc)
        scheduler.add_job(_sync_noop, trigger, id=f"j{i}")
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    scheduler.shutdown(wait=False)
    return {"bytes_per_schedule": (after - before) / n}


def _sync_noop() -> None:
    pass


def main(argv: list[str]) -> None:
    what = argv[0]
    if what == "dispatch":
        result: object = asyncio.run(dispatch(int(argv[1])))
    elif what == "lateness":
        result = asyncio.run(lateness(int(argv[1]), float(argv[2]), float(argv[3])))
    elif what == "memory":
        result = memory(int(argv[1]), argv[2])
    else:
        raise SystemExit(f"unknown measurement {what!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
