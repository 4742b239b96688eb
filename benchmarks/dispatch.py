"""How fast nbsched dispatches jobs, how late they start and how much a schedule costs, beside
APScheduler 4 (same venv) and APScheduler 3 (a subprocess, see _aps3_dispatch.py), measured
in the same run.

(a) 10,000 schedules due at once, a trivial async job that counts itself when it starts; each
peer is counted twice in one run, when its last job started and when its last job was
released (its release event): CPU time per job (``time.process_time``, since the machine is
shared) and wall-clock jobs/s, beside the floor (bare asyncio: a dict and a heap of due
schedules, one task per job); APScheduler 4 with its default of one running job per task,
and with no limit
(b) 20 interval schedules every 100 ms for 10 s: lateness p50 / p99, beside a bare
``loop.call_at`` doing the same (the floor)
(c) memory per schedule for 100,000 schedules (tracemalloc), cron and interval
(d) persistent stores, 1,000 schedules: schedules added per second and jobs run per second
for 1,000 due schedules, nbsched's SQLite and PostgreSQL stores beside APScheduler 4's
SQLAlchemy store on the same database engine (dispatch_sqlite.py, dispatch_postgresql.py)
(e) CPU time per job at 10,000, 100,000 and 1,000,000 due schedules, beside the floor of (a)
(f) CPU time per add on the memory store (interval and cron triggers, built beforehand; see
:data:`ADD_KINDS`), beside the floor of a dict insert and a heap push

Run: ``.venv/bin/python benchmarks/dispatch.py [--quick] [--repeat N]``. APScheduler 3 is
installed on first use into ``.bench/aps3``. To add a data store, add an async factory to
:data:`STORES`; every measurement of nbsched runs once per store.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APS3_DIR = ROOT / ".bench" / "aps3"

# --- nbsched stores: name -> async factory returning an unstarted store --------------------


async def _memory_store() -> Any:
    from nbsched.datastores.memory import MemoryDataStore

    return MemoryDataStore()


STORES: dict[str, Callable[[], Awaitable[Any]]] = {
    "memory": _memory_store,
}


async def noop() -> None:
    pass


def _cron_trigger_nbsched() -> Any:
    from nbsched.triggers.cron import CronTrigger

    return CronTrigger(minute="*/5", hour="9-17", day_of_week="mon-fri", timezone="UTC")


# --- (a) dispatch throughput ---------------------------------------------------------------


class Tally:
    """Counts the jobs of one dispatch run as they start (the job itself counts) and as they
    are released (the scheduler's release event counts), and notes the wall and CPU time
    (``time.process_time``: the machine is shared) when each count reaches ``n``."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.started = self.released = 0
        self.wall0 = self.cpu0 = 0.0
        self.at_start: tuple[float, float] | None = None
        self.at_release: tuple[float, float] | None = None
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

    def figures(self) -> dict[str, float]:
        assert self.at_start is not None and self.at_release is not None
        return {
            "start_wall": self.n / self.at_start[0],
            "start_cpu_us": self.at_start[1] / self.n * 1e6,
            "release_wall": self.n / self.at_release[0],
            "release_cpu_us": self.at_release[1] / self.n * 1e6,
        }


_TALLY: Tally | None = None


async def counted_job() -> None:
    """The job of the dispatch runs: counts itself as started (module level: APScheduler 4
    refuses nested functions)."""
    assert _TALLY is not None
    _TALLY.start()


async def nbsched_dispatch(
    store_factory: Callable[[], Awaitable[Any]], n: int
) -> dict[str, float]:
    from nbsched import AsyncScheduler
    from nbsched.events import JobReleased
    from nbsched.triggers.date import DateTrigger

    global _TALLY
    tally = _TALLY = Tally(n)
    async with AsyncScheduler(await store_factory()) as scheduler:
        scheduler.subscribe(tally.release, JobReleased)
        past = datetime.now(timezone.utc) - timedelta(seconds=1)
        for i in range(n):
            await scheduler.add_schedule(counted_job, DateTrigger(past), id=f"s{i}")
        gc.collect()
        tally.begin()
        scheduler.start_in_background()
        await tally.done.wait()
        await scheduler.stop()
    return tally.figures()


async def aps4_dispatch(n: int, max_running_jobs: int | None) -> dict[str, float]:
    from apscheduler import AsyncScheduler, JobReleased, TaskDefaults
    from apscheduler.triggers.date import DateTrigger

    global _TALLY
    tally = _TALLY = Tally(n)
    # add_schedule(func) configures the task from the scheduler's task defaults each time, so
    # the limit is set there (APScheduler 4's default is max_running_jobs=1)
    defaults = TaskDefaults(max_running_jobs=max_running_jobs)
    async with AsyncScheduler(task_defaults=defaults) as scheduler:
        scheduler.subscribe(tally.release, {JobReleased})
        past = datetime.now(timezone.utc) - timedelta(seconds=1)
        for i in range(n):
            await scheduler.add_schedule(counted_job, DateTrigger(past), id=f"s{i}")
        gc.collect()
        tally.begin()
        await scheduler.start_in_background()
        await tally.done.wait()
        await scheduler.stop()
    return tally.figures()


async def floor_dispatch(n: int) -> dict[str, float]:
    """What any scheduler must do, bare: schedules in a dict with their due times in a heap;
    pop every due one, start one task per job, count the release when the task is done."""
    global _TALLY
    tally = _TALLY = Tally(n)
    loop = asyncio.get_running_loop()
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    schedules: dict[str, tuple[Callable[[], Coroutine[Any, Any, None]], datetime]] = {}
    heap: list[tuple[datetime, str]] = []
    for i in range(n):
        schedules[f"s{i}"] = (counted_job, past)
        heapq.heappush(heap, (past, f"s{i}"))
    gc.collect()
    tally.begin()
    now = datetime.now(timezone.utc)
    while heap and heap[0][0] <= now:
        _, schedule_id = heapq.heappop(heap)
        func, _ = schedules.pop(schedule_id)
        loop.create_task(func()).add_done_callback(tally.release)
    await tally.done.wait()
    return tally.figures()


# --- (b) lateness --------------------------------------------------------------------------


def _lateness_of(now: float, start: float, period: float) -> float:
    fire = start + ((now - start) // period) * period
    return now - fire


# the job of the lateness runs (module level: APScheduler 4 refuses nested functions)
_LATENESS: dict[str, Any] = {}


async def job(start: float) -> None:
    now = time.time()
    if now < _LATENESS["stop_at"]:
        _LATENESS["samples"].append(_lateness_of(now, start, _LATENESS["period"]))


async def floor_lateness(n_schedules: int, period: float, duration: float) -> list[float]:
    """The same timing done with bare ``loop.call_at``: what any scheduler can hope for."""
    loop = asyncio.get_running_loop()
    samples: list[float] = []
    base = time.time() + 0.5
    stop_at = base + duration

    def fire(start: float, k: int) -> None:
        now = time.time()
        if now >= stop_at:
            return
        samples.append(_lateness_of(now, start, period))
        schedule(start, k + 1)

    def schedule(start: float, k: int) -> None:
        target = start + k * period
        loop.call_at(loop.time() + (target - time.time()), fire, start, k)

    for i in range(n_schedules):
        schedule(base + i * period / n_schedules, 0)
    await asyncio.sleep(stop_at - time.time() + 0.2)
    return samples


async def nbsched_lateness(
    store_factory: Callable[[], Awaitable[Any]], n_schedules: int, period: float, duration: float
) -> list[float]:
    from nbsched import AsyncScheduler
    from nbsched.triggers.interval import IntervalTrigger

    samples = _LATENESS["samples"] = []
    base = time.time() + 0.5
    stop_at = _LATENESS["stop_at"] = base + duration
    _LATENESS["period"] = period

    async with AsyncScheduler(await store_factory()) as scheduler:
        for i in range(n_schedules):
            start = base + i * period / n_schedules
            await scheduler.add_schedule(
                job,
                IntervalTrigger(
                    seconds=period, start_time=datetime.fromtimestamp(start, timezone.utc)
                ),
                args=[start],
                coalesce="all",
            )
        scheduler.start_in_background()
        await asyncio.sleep(stop_at - time.time() + 0.2)
        await scheduler.stop()
    return samples


async def aps4_lateness(n_schedules: int, period: float, duration: float) -> list[float]:
    from apscheduler import AsyncScheduler, CoalescePolicy, TaskDefaults
    from apscheduler.triggers.interval import IntervalTrigger

    samples = _LATENESS["samples"] = []
    base = time.time() + 0.5
    stop_at = _LATENESS["stop_at"] = base + duration
    _LATENESS["period"] = period

    async with AsyncScheduler(task_defaults=TaskDefaults(max_running_jobs=None)) as scheduler:
        for i in range(n_schedules):
            start = base + i * period / n_schedules
            await scheduler.add_schedule(
                job,
                IntervalTrigger(
                    seconds=period, start_time=datetime.fromtimestamp(start, timezone.utc)
                ),
                args=[start],
                coalesce=CoalescePolicy.all,
            )
        await scheduler.start_in_background()
        await asyncio.sleep(stop_at - time.time() + 0.2)
        await scheduler.stop()
    return samples


# --- (c) memory per schedule ---------------------------------------------------------------


async def _measure(add_all: Callable[[], Awaitable[None]], n: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await add_all()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / n


async def nbsched_memory(store_factory: Callable[[], Awaitable[Any]], n: int, kind: str) -> float:
    from nbsched import AsyncScheduler
    from nbsched.triggers.interval import IntervalTrigger

    start = datetime.now(timezone.utc) + timedelta(days=1)
    async with AsyncScheduler(await store_factory()) as scheduler:
        await scheduler.configure_task(noop)

        async def add_all() -> None:
            for i in range(n):
                if kind == "cron":
                    trigger = _cron_trigger_nbsched()
                else:
                    trigger = IntervalTrigger(minutes=5, start_time=start)
                await scheduler.add_schedule(noop, trigger, id=f"s{i}")

        return await _measure(add_all, n)


async def aps4_memory(n: int, kind: str) -> float:
    from apscheduler import AsyncScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    start = datetime.now(timezone.utc) + timedelta(days=1)
    async with AsyncScheduler() as scheduler:
        await scheduler.configure_task(noop)

        async def add_all() -> None:
            for i in range(n):
                if kind == "cron":
                    trigger: Any = CronTrigger(
                        minute="*/5", hour="9-17", day_of_week="mon-fri", timezone="UTC"
                    )
                else:
                    trigger = IntervalTrigger(minutes=5, start_time=start)
                await scheduler.add_schedule(noop, trigger, id=f"s{i}")

        return await _measure(add_all, n)


# --- (e) per-job cost as the number of due schedules grows ----------------------------------


def scaling(sizes: list[int]) -> list[tuple[str, str, str]]:
    """nbsched against the floor of (a) at each size, CPU time per job counted at release: the
    cost should stay flat (linear in the number of schedules) and within 3x the floor."""
    rows = []
    print(f"(e) per-job CPU time at {', '.join(f'{n:,}' for n in sizes)} due schedules")
    for n in sizes:
        floor = asyncio.run(floor_dispatch(n))
        ours = asyncio.run(nbsched_dispatch(_memory_store, n))
        rows.append(
            (
                f"{n:,} due: nbsched / floor",
                f"{ours['release_cpu_us']:.1f} / {floor['release_cpu_us']:.1f} us CPU per job",
                f"{ours['release_cpu_us'] / floor['release_cpu_us']:.1f}x floor",
            )
        )
        gc.collect()
    return rows


# --- (f) the cost of an add -----------------------------------------------------------------


def _interval_trigger_nbsched(start: datetime) -> Any:
    from nbsched.triggers.interval import IntervalTrigger

    return IntervalTrigger(minutes=5, start_time=start)


#: the triggers of (f): built alike, as a loop adding many schedules builds them (cron: from
#: "now"); cron in a zone with DST; cron with starts 7 minutes apart, so that no trigger can
#: take its first fire time from the search made for the one before (as for an add now and
#: then): one starting on a day an earlier search found takes it from that day's times of day
#: (``CronSpec.recent_day``), the others search; and a day and 7 minutes apart, so that every
#: trigger searches on its own
ADD_KINDS = (
    "interval",
    "cron",
    "cron, Europe/Berlin",
    "cron, starts apart",
    "cron, starts a day apart",
)


def _add_triggers(kind: str, n: int, start: datetime) -> list[Any]:
    from nbsched.triggers.cron import CronTrigger

    if kind == "interval":
        return [_interval_trigger_nbsched(start) for _ in range(n)]
    if kind == "cron":
        return [_cron_trigger_nbsched() for _ in range(n)]
    fields = {"minute": "*/5", "hour": "9-17", "day_of_week": "mon-fri"}
    if kind == "cron, Europe/Berlin":
        return [CronTrigger(**fields, timezone="Europe/Berlin") for _ in range(n)]
    now = datetime.now(timezone.utc)
    # a day and 7 minutes apart: no trigger starts on a day an earlier search found, so each
    # pays for a first-fire search of its own (as a trigger unlike any other does)
    step = timedelta(days=1, minutes=7) if kind.endswith("a day apart") else timedelta(minutes=7)
    return [CronTrigger(**fields, timezone="UTC", start_time=now + i * step) for i in range(n)]


async def nbsched_adds(n: int, kind: str) -> dict[str, float]:
    """CPU time per ``add_schedule`` on the memory store, the trigger built beforehand (its
    cost is in triggers.py), beside the floor: a dict insert and a heap push per schedule."""
    from nbsched import AsyncScheduler

    start = datetime.now(timezone.utc) + timedelta(days=1)
    triggers = _add_triggers(kind, n, start)
    ids = [f"s{i}" for i in range(n)]
    async with AsyncScheduler(await _memory_store()) as scheduler:
        await scheduler.configure_task(noop)
        gc.collect()
        began = time.process_time()
        for schedule_id, trigger in zip(ids, triggers, strict=True):
            await scheduler.add_schedule(noop, trigger, id=schedule_id)
        ours = (time.process_time() - began) / n * 1e6
    # the floor on the heap nbsched started from: 100,000 schedules left alive would make its
    # garbage collections traverse them too
    del scheduler
    schedules: dict[str, tuple[Any, datetime]] = {}
    heap: list[tuple[datetime, str]] = []
    gc.collect()
    began = time.process_time()
    for schedule_id, trigger in zip(ids, triggers, strict=True):
        schedules[schedule_id] = (trigger, start)
        heapq.heappush(heap, (start, schedule_id))
    floor = (time.process_time() - began) / n * 1e6
    return {"ours": ours, "floor": floor}


def part_f(n: int, repeat: int) -> list[tuple[str, str, str]]:
    print(f"(f) {n:,} adds on the memory store, {repeat} run(s)")
    rows = []
    for kind in ADD_KINDS:
        runs = [asyncio.run(nbsched_adds(n, kind)) for _ in range(repeat)]
        ours = statistics.median(r["ours"] for r in runs)
        floor = statistics.median(r["floor"] for r in runs)
        rows.append(
            (
                f"add, {kind}: nbsched / floor (dict + heap)",
                f"{ours:.1f} / {floor:.2f} us CPU per add",
                f"{ours / floor:.1f}x floor",
            )
        )
    return rows


# --- APScheduler 3, in a subprocess --------------------------------------------------------


def _ensure_aps3() -> None:
    if (APS3_DIR / "apscheduler").is_dir():
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--target",
            str(APS3_DIR),
            "apscheduler<4",
            "tzlocal",
        ],
        check=True,
    )


def aps3(*args: object) -> Any:
    _ensure_aps3()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(APS3_DIR), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    output = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_aps3_dispatch.py")), *map(str, args)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


# --- the report ----------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one run each")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (median)")
    parser.add_argument(
        "--only",
        choices=["a", "b", "c", "d", "e", "f"],
        action="append",
        help="run only these parts",
    )
    options = parser.parse_args()
    quick = options.quick
    repeat = options.repeat or (1 if quick else 3)
    n_dispatch = 2_000 if quick else 10_000
    n_dispatch_aps4_limited = 1_000 if quick else 10_000
    lateness_duration = 3.0 if quick else 10.0
    n_memory = 10_000 if quick else 100_000

    def median_of(make: Callable[[], Any]) -> float:
        return statistics.median(make() for _ in range(repeat))

    rows: list[tuple[str, str, str]] = []
    parts = set(options.only or ["a", "b", "c", "d", "e", "f"])
    if "a" in parts:
        rows.extend(part_a(n_dispatch, n_dispatch_aps4_limited, median_of, repeat))
    if "b" in parts:
        rows.extend(part_b(lateness_duration, repeat))
    if "c" in parts:
        rows.extend(part_c(n_memory))
    if "d" in parts:
        rows.extend(part_d(300 if quick else 1_000))
    if "e" in parts:
        rows.extend(scaling([10_000, 50_000] if quick else [10_000, 100_000, 1_000_000]))
    if "f" in parts:
        rows.extend(part_f(10_000 if quick else 100_000, repeat))
    print_table(rows)


def part_a(
    n_dispatch: int, n_dispatch_aps4_limited: int, median_of: Callable[..., float], repeat: int
) -> list[tuple[str, str, str]]:
    """Each peer counted twice in one run: when its n-th job started and when its n-th job was
    released; CPU time per job (the ratios) and wall-clock jobs/s (which move with the load)."""
    print(f"(a) {n_dispatch:,} schedules due at once, trivial async job, {repeat} run(s)")
    runners: dict[str, Callable[[], dict[str, float]]] = {
        "floor: bare asyncio, dict + heap, one task per job": lambda: asyncio.run(
            floor_dispatch(n_dispatch)
        ),
    }
    for name, factory in STORES.items():
        runners[f"nbsched ({name} store)"] = lambda f=factory: asyncio.run(  # type: ignore[misc]
            nbsched_dispatch(f, n_dispatch)
        )
    runners["APScheduler 4, no per-task limit"] = lambda: asyncio.run(
        aps4_dispatch(n_dispatch, None)
    )
    runners[f"APScheduler 4, default 1 job/task ({n_dispatch_aps4_limited:,})"] = lambda: (
        asyncio.run(aps4_dispatch(n_dispatch_aps4_limited, 1))
    )
    runners["APScheduler 3 AsyncIOScheduler"] = lambda: aps3("dispatch", n_dispatch)
    # rounds interleave the peers so that a burst of load on the machine hits all of them
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    for _ in range(repeat):
        for name, run in runners.items():
            runs[name].append(run())
    figures = {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for name, results in runs.items()
    }
    ours = figures["nbsched (memory store)"]
    rows: list[tuple[str, str, str]] = []
    for name, f in figures.items():
        if name.startswith("floor"):
            ratio = (
                f"nbsched/floor {ours['start_cpu_us'] / f['start_cpu_us']:.1f}x / "
                f"{ours['release_cpu_us'] / f['release_cpu_us']:.1f}x"
            )
        elif name.startswith("nbsched"):
            ratio = ""
        else:
            ratio = (
                f"nbsched is {f['start_cpu_us'] / ours['start_cpu_us']:.2f}x / "
                f"{f['release_cpu_us'] / ours['release_cpu_us']:.2f}x"
            )
        rows.append(
            (
                name,
                f"start {f['start_cpu_us']:.1f} us CPU ({f['start_wall']:,.0f}/s), "
                f"release {f['release_cpu_us']:.1f} us CPU ({f['release_wall']:,.0f}/s)",
                ratio,
            )
        )
    return rows


def part_b(lateness_duration: float, repeat: int) -> list[tuple[str, str, str]]:
    print(
        f"(b) 20 interval schedules every 100 ms for {lateness_duration:g} s, {repeat} round(s) "
        f"of every peer in turn"
    )
    runners: dict[str, Callable[[], list[float]]] = {
        "bare loop.call_at (floor)": lambda: asyncio.run(
            floor_lateness(20, 0.1, lateness_duration)
        ),
    }
    for name, factory in STORES.items():
        runners[f"nbsched ({name} store)"] = lambda f=factory: asyncio.run(  # type: ignore[misc]
            nbsched_lateness(f, 20, 0.1, lateness_duration)
        )
    runners["APScheduler 4"] = lambda: asyncio.run(aps4_lateness(20, 0.1, lateness_duration))
    runners["APScheduler 3"] = lambda: aps3("lateness", 20, 0.1, lateness_duration)["samples"]
    # rounds interleave the peers so that a burst of load on the machine hits all of them
    runs: dict[str, list[list[float]]] = {name: [] for name in runners}
    for _ in range(repeat):
        for name, run in runners.items():
            runs[name].append(run())
    expected = int(20 * lateness_duration / 0.1)

    def median_percentile(name: str, q: float) -> float:
        return statistics.median(percentile(samples, q) for samples in runs[name]) * 1000

    floor_p99 = median_percentile("bare loop.call_at (floor)", 0.99)
    rows = []
    for name in runners:
        p50 = median_percentile(name, 0.5)
        p99 = median_percentile(name, 0.99)
        counts = "/".join(str(len(samples)) for samples in runs[name])
        rows.append(
            (
                f"lateness: {name}",
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (runs: {counts} of {expected})",
                f"p99 floor +{p99 - floor_p99:.2f} ms",
            )
        )
    return rows


def part_c(n_memory: int) -> list[tuple[str, str, str]]:
    rows = []

    print(f"(c) memory per schedule, {n_memory:,} schedules")
    for kind in ("cron", "interval"):
        ours = {
            name: asyncio.run(nbsched_memory(factory, n_memory, kind))
            for name, factory in STORES.items()
            if name == "memory"  # memory held by a store that keeps schedules elsewhere is moot
        }
        theirs = asyncio.run(aps4_memory(n_memory, kind))
        aps3_bytes = aps3("memory", n_memory, kind)["bytes_per_schedule"]
        rows.append(
            (
                f"memory, {kind}: nbsched",
                f"{ours['memory']:,.0f} B/schedule",
                f"{ours['memory'] / theirs:.2f} of APScheduler 4",
            )
        )
        rows.append((f"memory, {kind}: APScheduler 4", f"{theirs:,.0f} B/schedule", ""))
        rows.append((f"memory, {kind}: APScheduler 3", f"{aps3_bytes:,.0f} B/schedule", ""))
    return rows


def part_d(n: int) -> list[tuple[str, str, str]]:
    """Persistent stores against APScheduler 4's SQLAlchemy store on the same engine."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import dispatch_postgresql
    import dispatch_sqlite

    print(f"(d) persistent stores, {n:,} schedules: adds/s and jobs/s")
    rows = []
    for results, peer in (
        (dispatch_sqlite.run(n), "APScheduler 4 SQLAlchemy+aiosqlite"),
        (dispatch_postgresql.run(n), dispatch_postgresql.PEER),
    ):
        theirs = results[peer]
        for name, figures in results.items():
            adds, jobs = figures["adds_per_s"], figures["jobs_per_s"]
            ratio = (
                ""
                if name == peer
                else f"{adds / theirs['adds_per_s']:.1f}x / {jobs / theirs['jobs_per_s']:.1f}x"
            )
            rows.append((name, f"{adds:,.0f} adds/s, {jobs:,.0f} jobs/s", ratio))
    return rows


def print_table(rows: list[tuple[str, str, str]]) -> None:

    width = max(len(r[0]) for r in rows)
    width2 = max(len(r[1]) for r in rows)
    print()
    print(f"| {'measurement'.ljust(width)} | {'result'.ljust(width2)} | ratio |")
    print(f"|{'-' * (width + 2)}|{'-' * (width2 + 2)}|-------|")
    for label, value, ratio in rows:
        print(f"| {label.ljust(width)} | {value.ljust(width2)} | {ratio} |")


if __name__ == "__main__":
    main()
