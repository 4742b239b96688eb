"""What-if simulation: run copies of your schedules on the real scheduler, on a fake clock.

:func:`simulate` answers "what would happen" questions before you commit to a schedule: which
runs are lost and which run late if the kernel is down for an hour, whether a long job queues
behind itself, whether nightly jobs overlap. It runs a real :class:`~nbsched.AsyncScheduler`
(the same code that runs your schedules, not a model of it) on a
:class:`~nbsched.FakeClock` with an in-memory store, so every policy (coalescing, misfire
grace time, jitter, ``max_running_jobs``, ``max_concurrent_jobs``) behaves exactly as it does
for real. :func:`simulation_chart` draws the result.

This module imports pandas; ``import nbsched`` does not (the names are lazy).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import pandas as pd

from .._converters import as_aware_datetime, as_timezone
from .._structures import Schedule, Task
from ._engine import Plan, run_plan
from ._frame import COLUMNS, OUTCOMES, result_frame
from ._inputs import (
    check_downtime,
    duration_function,
    prepare,
    reads_synchronously,
    schedules_and_tasks,
)

__all__ = ["COLUMNS", "OUTCOMES", "asimulate", "simulate", "simulation_chart"]

_UTC = timezone.utc
_MICROSECOND = timedelta(microseconds=1)


def simulate(
    what: Any,
    start: datetime | str,
    end: datetime | str,
    *,
    durations: Any = None,
    downtime: Any = (),
    now: datetime | str | None = None,
    tz: str | tzinfo | None = None,
) -> pd.DataFrame:
    """Simulate ``what`` over ``[start, end)`` on the real scheduler, on a fake clock.

    Everything runs on copies: the schedules (their triggers copied through their state) and
    tasks of ``what`` are copied, with their policies, into a new
    :class:`~nbsched.AsyncScheduler` with a :class:`~nbsched.datastores.memory.MemoryDataStore`
    and a :class:`~nbsched.FakeClock`. The scheduler (or triggers) you pass are never changed.
    Each simulated run waits on the fake clock for its duration, so runs overlap, queue behind
    ``max_running_jobs`` or miss their start deadline exactly as they would for real; a day of
    simulated time takes a fraction of a second to seconds.

    :param what: a scheduler (:class:`~nbsched.Scheduler`, or an
        :class:`~nbsched.AsyncScheduler` whose store reads synchronously, like memory and
        SQLite; otherwise use :func:`asimulate`), a list of :class:`~nbsched.Schedule`, or a
        ``{name: trigger}`` dict (default policies; a ``Schedule`` as a value keeps its own)
    :param start: the first fire time reported (aware datetime or ISO 8601 string)
    :param end: fire times before this are reported (runs still going at ``end`` are
        followed to their finish)
    :param durations: how long each run takes: a ``timedelta`` or seconds (every run), a
        ``{schedule_id: timedelta}`` dict (others take no time), or a callable
        ``(schedule_id, fire_time) -> timedelta``; default: runs take no time
    :param downtime: ``(from, to)`` intervals when no scheduler runs (a closed laptop, a
        kernel restart): the scheduler stops at ``from`` (a run going on then is
        ``cancelled``) and starts again at ``to``, where each schedule's policies decide what
        becomes of the fire times it missed meanwhile
    :param now: when the simulated scheduler starts (default: ``start``): fire times before it
        are skipped, as a scheduler running until then handled them; between ``now`` and
        ``start`` the simulation runs but reports nothing (so runs started earlier are
        carried into the window)
    :param tz: the time zone of the datetime columns (default: the schedules' own when they
        share one, else UTC)
    :return: a DataFrame with one row per fire time in ``[start, end)``: ``schedule_id``,
        ``fire_time``, ``outcome``, ``started_at``, ``finished_at`` (tz-aware, NaT when it
        did not run) and ``lateness`` (``started_at - fire_time``, jitter included), sorted by
        fire time. ``outcome`` is ``"ran"``; ``"coalesced"`` (no run of its own: merged into
        another run by the coalesce policy); ``"missed"`` (its start deadline, the misfire
        grace time, passed before it could start); or ``"cancelled"`` (cut short by a
        downtime). ``df.attrs`` holds ``start``, ``end`` and ``downtime`` for
        :func:`simulation_chart`.
    :raises TypeError: ``what`` or an argument is of the wrong kind
    :raises ValueError: bad times (naive, ``end`` before ``start``, ``now`` after
        ``start``, a downtime outside the span), unknown ids in ``durations``, a negative
        duration

    Example::

        df = nbsched.simulate(scheduler, "2026-06-01T09:00+02:00", "2026-06-01T18:00+02:00",
                              durations=timedelta(minutes=15),
                              downtime=[("2026-06-01T10:00+02:00", "2026-06-01T11:00+02:00")])
        df[df.outcome != "ran"]
    """
    schedules, tasks, max_concurrent_jobs = schedules_and_tasks(what)
    return _simulate(
        schedules, tasks, max_concurrent_jobs, start, end, durations, downtime, now, tz
    )


async def asimulate(
    what: Any,
    start: datetime | str,
    end: datetime | str,
    *,
    durations: Any = None,
    downtime: Any = (),
    now: datetime | str | None = None,
    tz: str | tzinfo | None = None,
) -> pd.DataFrame:
    """Like :func:`simulate`, awaiting the scheduler's schedules (any store) and running the
    simulation in a worker thread, so the event loop (a notebook kernel's) stays free:
    ``df = await nbsched.asimulate(scheduler, start, end)``."""
    from .._schedulers.async_ import AsyncScheduler

    if isinstance(what, AsyncScheduler) and not reads_synchronously(what):

        async def read(scheduler: AsyncScheduler) -> tuple[list[Schedule], list[Task]]:
            return await scheduler.get_schedules(), await scheduler.get_tasks()

        schedules, tasks = await read(what)
        contents = schedules_and_tasks(what, lambda scheduler: (schedules, tasks))
    else:
        contents = schedules_and_tasks(what)
    return await asyncio.to_thread(_simulate, *contents, start, end, durations, downtime, now, tz)


def _simulate(
    schedules: list[Any],
    tasks: list[Any],
    max_concurrent_jobs: int,
    start: Any,
    end: Any,
    durations: Any,
    downtime: Any,
    now: Any,
    tz: str | tzinfo | None,
) -> pd.DataFrame:
    zone = None if tz is None else as_timezone(tz, argument="tz")
    start_at = as_aware_datetime(start, argument="start")
    end_at = as_aware_datetime(end, argument="end")
    if start_at is None or end_at is None:
        raise TypeError("start, end: both are required (aware datetimes or ISO 8601 strings)")
    start_at, end_at = start_at.astimezone(_UTC), end_at.astimezone(_UTC)
    if end_at <= start_at:
        raise ValueError(f"end: {end_at} is not after start {start_at}")
    now_at = as_aware_datetime(now, argument="now")
    now_at = start_at if now_at is None else now_at.astimezone(_UTC)
    if now_at > start_at:
        raise ValueError(f"now: {now_at} is after start {start_at}; it may only be earlier")
    intervals = check_downtime(downtime, now_at, end_at)
    prepared = [
        p for s in schedules if (p := prepare(s, now_at, end_at - _MICROSECOND)) is not None
    ]
    duration_of = duration_function(durations, [s.id for s in schedules])
    task_ids = {p.schedule.task_id for p in prepared}
    plan = Plan(
        schedules=[p.schedule for p in prepared],
        tasks=[t for t in tasks if t.id in task_ids]
        + [Task(id=i) for i in sorted(task_ids - {t.id for t in tasks})],
        duration_of=duration_of,
        now=now_at,
        end=end_at,
        downtime=intervals,
        max_concurrent_jobs=max_concurrent_jobs,
    )
    _run(plan)
    frame = result_frame(prepared, plan.jobs, start_at, end_at, zone)
    frame.attrs["start"] = start_at
    frame.attrs["end"] = end_at
    frame.attrs["downtime"] = intervals
    return frame


def _run(plan: Plan) -> None:
    """Run the plan on a loop of its own (in a worker thread when this thread runs a loop,
    as a notebook kernel's does)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run_plan(plan))
        return
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nbsched-simulate") as pool:
        pool.submit(asyncio.run, run_plan(plan)).result()


def simulation_chart(df: pd.DataFrame, **options: Any) -> Any:
    """Draw a :func:`simulate` result; see :func:`nbsched.simulation._chart.simulation_chart`."""
    from ._chart import simulation_chart as draw

    return draw(df, **options)
