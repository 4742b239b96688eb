"""Where the CPU time of one ``add_schedule`` on the memory store goes (dispatch.py part f):
the scheduler's copy of the trigger and its first fire time, the rest of the scheduler's work
(measured with a store whose ``adopt_schedule`` does nothing), the memory store's work (the
difference) and garbage collection (the same adds with ``gc.disable()``).

Run: ``.venv/bin/python benchmarks/add_breakdown.py [--n N]``; medians of 3 runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from dispatch import _add_triggers, _memory_store, noop


async def _per_add(kind: str, n: int, mode: str, collect: bool) -> float:
    from nbsched import AsyncScheduler
    from nbsched._marshalling import clone_trigger
    from nbsched._schedulers._processing import first_fire_time

    triggers = _add_triggers(kind, n, datetime.now(timezone.utc) + timedelta(days=1))
    ids = [f"s{i}" for i in range(n)]
    async with AsyncScheduler(await _memory_store()) as scheduler:
        await scheduler.configure_task(noop)
        if mode == "scheduler":

            async def adopt_nothing(schedule: Any, conflict_policy: Any) -> None:
                pass

            scheduler._add_new_schedule = adopt_nothing
        gc.collect()
        if not collect:
            gc.disable()
        try:
            began = time.process_time()
            if mode == "copy":
                for trigger in triggers:
                    first_fire_time(clone_trigger(trigger))
            else:
                for schedule_id, trigger in zip(ids, triggers, strict=True):
                    await scheduler.add_schedule(noop, trigger, id=schedule_id)
            return (time.process_time() - began) / n * 1e6
        finally:
            gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="adds per run")
    n = parser.parse_args().n

    def median(kind: str, mode: str, collect: bool = True) -> float:
        return statistics.median(asyncio.run(_per_add(kind, n, mode, collect)) for _ in range(3))

    print(f"CPU us per add, {n:,} adds, median of 3 runs")
    print("| per add | interval | cron |")
    rows: dict[str, list[float]] = {}
    for kind in ("interval", "cron"):
        whole = median(kind, "add")
        copy = median(kind, "copy")
        without_gc = median(kind, "add", collect=False)
        scheduler_without_gc = median(kind, "scheduler", collect=False)
        parts = {
            "the whole add": whole,
            "scheduler: copy of the trigger + its first fire time": copy,
            "scheduler: the rest": scheduler_without_gc - copy,
            "memory store": without_gc - scheduler_without_gc,
            "garbage collection": whole - without_gc,
        }
        for name, value in parts.items():
            rows.setdefault(name, []).append(value)
    for name, values in rows.items():
        print(f"| {name} | {' | '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
