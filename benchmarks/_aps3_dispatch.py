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


class _Tally:
    """As ``Tally`` in dispatch.py: wall and CPU time when the n-th job started and when the
    n-th was released (APScheduler 3's job-executed event)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.started = self.released = 0
        self.wall0 = self.cpu0 = 0.0
        self.at_start = self.at_release = (0.0, 0.0)
        self.done = asyncio.Event()

    def begin(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def _now(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall0, time.process_time() - self.cpu0

    def start(self) -> None:
        self.started += 1
        if self.started == self.n:
            self.at_start = self._now()

    def release(self, event: object = None) -> None:
        self.released += 1
        if self.released == self.n:
            self.at_release = self._now()
            self.done.set()


_TALLY = _Tally(0)


async def _counted_job() -> None:
    _TALLY.start()


async def dispatch(n: int) -> dict[str, float]:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    global _TALLY
    tally = _TALLY = _Tally(n)
    scheduler = AsyncIOScheduler(timezone=timezone.utc)
    scheduler.add_listener(tally.release, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    run_date = datetime.now(timezone.utc)
    for i in range(n):
        scheduler.add_job(
            _counted_job, "date", run_date=run_date, id=f"j{i}", misfire_grace_time=None
        )
    gc.collect()
    tally.begin()
    scheduler.start()
    await tally.done.wait()
    scheduler.shutdown(wait=False)
    return {
        "start_wall": n / tally.at_start[0],
        "start_cpu_us": tally.at_start[1] / n * 1e6,
        "release_wall": n / tally.at_release[0],
        "release_cpu_us": tally.at_release[1] / n * 1e6,
    }


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
