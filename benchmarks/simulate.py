"""How fast nbsched.simulate() runs: simulated fire times per second of real time, beside the
same schedules run on the same engine driven by a bare FakeClock (the floor: what the
simulation adds is copying the schedules, recording each job and building the DataFrame).

(a) 100 schedules firing every minute for a day (144,000 fire times), runs taking no time
(b) the same with each run taking 30 s (every job sleeps on the fake clock)
(c) the same as (a) for a week (1,008,000 fire times); left out with --quick

Run: ``.venv/bin/python benchmarks/simulate.py [--quick] [--repeat N]``. Each figure is given
as wall-clock and CPU time of the process, with the load average: on a shared, busy machine
the wall-clock time stretches with the load, the CPU time much less.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2026, 6, 1, tzinfo=timezone.utc)
SCHEDULES = 100


def triggers() -> dict[str, Any]:
    from nbsched.triggers import IntervalTrigger

    return {f"s{i}": IntervalTrigger(minutes=1, start_time=START) for i in range(SCHEDULES)}


def run_simulate(span: timedelta, duration: timedelta) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, fire times)"""
    import nbsched

    started, cpu = time.perf_counter(), time.process_time()
    df = nbsched.simulate(triggers(), START, START + span, durations=duration or None)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert (df["outcome"] == "ran").all()
    return elapsed, cpu, len(df)


async def _bare(span: timedelta, duration: timedelta) -> int:
    """The same schedules added to an AsyncScheduler on a FakeClock, advanced over the span."""
    from nbsched import AsyncScheduler, FakeClock
    from nbsched.events import JobReleased

    clock = FakeClock(START)
    count = 0

    def on_released(event: object) -> None:
        nonlocal count
        count += 1

    async def job() -> None:
        if duration:
            await clock.sleep_until(clock.now() + duration)

    async with AsyncScheduler(clock=clock, lease_duration=3600) as scheduler:
        scheduler.subscribe(on_released, JobReleased)
        for name, trigger in triggers().items():
            # a task per schedule, as simulate() makes of a {name: trigger} dict
            await scheduler.configure_task(name, func=job)
            await scheduler.add_schedule(name, trigger, id=name)
        scheduler.start_in_background()
        await clock.set(START + span - timedelta(microseconds=1))
        for name in triggers():
            await scheduler.remove_schedule(name)
        await clock.advance(duration)
        await scheduler.stop()
    return count


def run_bare(span: timedelta, duration: timedelta) -> tuple[float, float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    count = asyncio.run(_bare(span, duration))
    return time.perf_counter() - started, time.process_time() - cpu, count


def measure(name: str, span: timedelta, duration: timedelta, repeat: int) -> None:
    simulated = [run_simulate(span, duration) for _ in range(repeat)]
    bare = [run_bare(span, duration) for _ in range(repeat)]
    fires = simulated[0][2]
    assert {n for *_, n in simulated} == {fires} and {n for *_, n in bare} == {fires}
    sim_wall, sim_cpu = (statistics.median(run[i] for run in simulated) for i in (0, 1))
    bare_wall, bare_cpu = (statistics.median(run[i] for run in bare) for i in (0, 1))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"| {name} | {fires:,} | {sim_wall:.2f} s / {sim_cpu:.2f} s "
        f"({fires / sim_cpu:,.0f} fires per CPU s) | {bare_wall:.2f} s / {bare_cpu:.2f} s | "
        f"{sim_cpu / bare_cpu:.2f}x | {load} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="(a) and (b) only, one run each")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (median)")
    options = parser.parse_args()
    repeat = options.repeat or (1 if options.quick else 3)
    import nbsched.simulation  # noqa: F401  (imports outside the timings)

    run_simulate(timedelta(minutes=10), timedelta(0))  # warm up
    print(f"{SCHEDULES} schedules firing every minute, median of {repeat} run(s)\n")
    print(
        "| case | fire times | simulate(), wall / CPU | bare engine on a FakeClock, wall / CPU "
        "| ratio (CPU) | load avg |"
    )
    print("|---|---|---|---|---|---|")
    measure("(a) one day, runs take no time", timedelta(days=1), timedelta(0), repeat)
    measure("(b) one day, runs take 30 s", timedelta(days=1), timedelta(seconds=30), repeat)
    if not options.quick:
        measure("(c) one week, runs take no time", timedelta(days=7), timedelta(0), 1)


if __name__ == "__main__":
    main()
