"""Shared setup of benchmarks/triggers.py, and its APScheduler 3 worker.

APScheduler 3 and 4 are both the ``apscheduler`` package, so they cannot share a venv:
APScheduler 3 lives in ``.bench/aps3`` (``pip install --target .bench/aps3 'apscheduler<4'
tzlocal``, done by :func:`ensure_aps3` on first use) and is measured in a subprocess that puts
that directory first on ``sys.path``::

    python benchmarks/_peers.py CASE CALLS REPEATS   # prints {"us_per_call": ..., "first": [...]}
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
APS3_DIR = ROOT / ".bench" / "aps3"

ZONE_NAME = "Europe/Berlin"
ZONE = ZoneInfo(ZONE_NAME)
#: All cases start here; the */5 case crosses the 29 March DST change within its calls.
START = datetime(2026, 3, 1, tzinfo=ZONE)
#: The interval of the AndTrigger case starts on a Monday at 09:00.
AND_START = datetime(2026, 3, 2, 9, tzinfo=ZONE)
CALENDAR_START = START.date().replace(day=15)

#: How many fire times of each trigger are compared across libraries.
AGREE_COUNT = 200

Stepper = Callable[[], Any]


def measure(factory: Callable[[], Stepper], calls: int, repeats: int) -> float:
    """Median over ``repeats`` runs of the cost of one call, in microseconds of this process's
    CPU time (the machine is shared: wall-clock time would count other processes' work); each
    run uses a fresh trigger from ``factory`` and makes ``calls`` calls."""
    results = []
    for _ in range(repeats):
        step = factory()
        started = time.process_time()
        for _ in repeat(None, calls):
            step()
        results.append((time.process_time() - started) / calls * 1e6)
    return statistics.median(results)


def first_values(factory: Callable[[], Stepper], count: int = AGREE_COUNT) -> list[str | None]:
    """The first fire times as UTC ISO strings (to compare libraries)."""
    step = factory()
    values = []
    for _ in range(count):
        value = step()
        values.append(None if value is None else value.astimezone(timezone.utc).isoformat())
    return values


def ensure_aps3() -> None:
    """Install APScheduler 3 into ``.bench/aps3`` unless it is there."""
    if (APS3_DIR / "apscheduler").is_dir():
        return
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(APS3_DIR),
         "apscheduler<4", "tzlocal"],
        check=True,
    )  # fmt: skip


def aps3(case: str, calls: int, repeats: int, timeout: float) -> dict[str, Any] | str:
    """Measure APScheduler 3 on ``case`` in a subprocess; ``"hangs"`` if it takes longer than
    ``timeout`` seconds, ``"n/a"`` if APScheduler 3 can't express the case."""
    ensure_aps3()
    try:
        result = subprocess.run(
            [sys.executable, __file__, case, str(calls), str(repeats)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return "hangs"
    return json.loads(result.stdout)


# --- the worker (runs with APScheduler 3 first on sys.path) -----------------------------------


def _aps3_factories() -> dict[str, Callable[[], Stepper]]:
    from apscheduler.triggers.calendarinterval import CalendarIntervalTrigger
    from apscheduler.triggers.combining import AndTrigger, OrTrigger
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    def stepper(make: Callable[[], Any]) -> Callable[[], Stepper]:
        def factory() -> Stepper:
            trigger = make()
            previous: list[datetime | None] = [None]

            def step() -> datetime | None:
                last = previous[0]
                value = trigger.get_next_fire_time(last, last or START)
                previous[0] = value
                return value

            return step

        return factory

    def crontab(expr: str) -> Callable[[], Stepper]:
        return stepper(lambda: CronTrigger.from_crontab(expr, timezone=ZONE))

    return {
        "*/5 * * * *": crontab("*/5 * * * *"),
        "0 9-17 * * mon-fri": crontab("0 9-17 * * mon-fri"),
        "last day of month": stepper(
            lambda: CronTrigger(day="last", hour=0, minute=0, second=0, timezone=ZONE)
        ),
        "0 9 * * *": crontab("0 9 * * *"),
        "30 2 * * *": crontab("30 2 * * *"),
        "0 12 25 12 *": crontab("0 12 25 12 *"),
        "0 0 29 2 *": crontab("0 0 29 2 *"),
        "interval 10 s": stepper(lambda: IntervalTrigger(seconds=10, start_date=START)),
        "calendar monthly": stepper(
            lambda: CalendarIntervalTrigger(
                months=1, hour=9, start_date=CALENDAR_START, timezone=ZONE
            )
        ),
        "OrTrigger(cron, interval)": stepper(
            lambda: OrTrigger(
                [
                    CronTrigger.from_crontab("0 9-17 * * mon-fri", timezone=ZONE),
                    IntervalTrigger(hours=2, start_date=AND_START),
                ]
            )
        ),
        "AndTrigger(cron, interval)": stepper(
            lambda: AndTrigger(
                [
                    CronTrigger.from_crontab("0 9-17 * * mon-fri", timezone=ZONE),
                    IntervalTrigger(hours=2, start_date=AND_START),
                ]
            )
        ),
    }


def _worker(case: str, calls: int, repeats: int) -> None:
    sys.path.insert(0, str(APS3_DIR))
    import apscheduler

    assert apscheduler.__file__.startswith(str(APS3_DIR)), apscheduler.__file__
    factory = _aps3_factories().get(case)
    if factory is None:
        print(json.dumps("n/a"))
        return
    print(
        json.dumps(
            {"us_per_call": measure(factory, calls, repeats), "first": first_values(factory)}
        )
    )


if __name__ == "__main__":
    _worker(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
