"""The dashboard's run history columns: the last 10 outcomes as a strip of glyphs and the
median duration, read from the store (so a restarted kernel on a SQLite file shows them)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from nbsched import AsyncScheduler, FakeClock, JobOutcome, RunRecord
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.triggers.interval import IntervalTrigger
from nbsched.widgets import Dashboard
from nbsched.widgets._history_strip import median_duration, strip_html

pytestmark = pytest.mark.anyio

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
runs: list[int] = []


def fails_every_third() -> None:
    runs.append(1)
    if len(runs) % 3 == 0:
        raise RuntimeError(f"run {len(runs)} failed")


def record(outcome: JobOutcome, seconds: float | None) -> RunRecord:
    return RunRecord(
        job_id=uuid.uuid4(),
        schedule_id="a",
        task_id="t",
        fire_time=START,
        started_at=None if seconds is None else START,
        finished_at=START + timedelta(seconds=seconds or 0),
        outcome=outcome,
        error_type="ValueError" if outcome is JobOutcome.error else None,
        error_message="bad <input>" if outcome is JobOutcome.error else None,
    )


def glyph_outcomes(strip: str) -> list[str]:
    import re

    return re.findall(r"nbsched-run-(\w+)", strip)


async def run_a_first_kernel(
    store: Any, clock: FakeClock, minutes: int, func: Any = fails_every_third, **options: Any
) -> None:
    """A first kernel on ``store``: schedule ``a`` runs ``func`` once a minute, from a minute
    after :data:`START`, for ``minutes`` minutes; then the kernel stops."""
    runs.clear()
    trigger = IntervalTrigger(seconds=60, start_time=START + timedelta(seconds=60))
    async with AsyncScheduler(store, clock=clock, **options) as scheduler:
        await scheduler.add_schedule(func, trigger, id="a", job_executor="loop")
        scheduler.start_in_background()
        await clock.advance(minutes * 60)
        await scheduler.stop()
        await scheduler.wait_until_stopped()


async def shown_for_a(scheduler: AsyncScheduler) -> tuple[list[str], str, dict[str, str]]:
    """What a new dashboard on ``scheduler`` shows for schedule ``a``: the outcomes of its
    strip, the strip's HTML and the row's text."""
    board = Dashboard(scheduler, live=False)
    try:
        await board.settle()
        strip = board.rows["a"].cells["history"].value
        return glyph_outcomes(strip), strip, board.rows["a"].text()
    finally:
        board.close()


async def test_strip_and_median_survive_a_restart_on_sqlite(tmp_path: Any) -> None:
    path = tmp_path / "kernel.db"
    clock = FakeClock(START)
    # 12 runs, the 3rd, 6th, 9th and 12th fail
    await run_a_first_kernel(SQLiteDataStore(path), clock, 12)

    # a new kernel on the same file: nothing has run in it yet
    async with AsyncScheduler(SQLiteDataStore(path), clock=clock) as scheduler:
        outcomes, strip, text = await shown_for_a(scheduler)
    assert outcomes == [
        "error",
        "success",
        "success",
        "error",
        "success",
        "success",
        "error",
        "success",
        "success",
        "error",
    ]  # fmt: skip: runs 3 to 12
    assert "RuntimeError: run 12 failed" in strip
    assert text["median"] == "0.000 s"  # loop jobs on a fake clock
    assert text["runs"] == "0"  # this kernel's own count


def test_strip_shows_the_last_ten_oldest_first_with_a_tooltip() -> None:
    records = [record(JobOutcome.success, 1) for _ in range(11)]
    records += [record(JobOutcome.error, 2), record(JobOutcome.missed_start_deadline, None)]
    strip = strip_html(records)
    assert glyph_outcomes(strip) == ["success"] * 8 + ["error", "missed_start_deadline"]
    assert "ValueError: bad &lt;input&gt;" in strip  # escaped
    assert strip_html([]) == "—"


def test_median_duration_of_the_runs_that_started() -> None:
    assert median_duration([]) is None
    assert median_duration([record(JobOutcome.missed_start_deadline, None)]) is None
    odd = [record(JobOutcome.success, s) for s in (5, 1, 3)]
    assert median_duration(odd) == timedelta(seconds=3)
    even = [*odd, record(JobOutcome.error, 9), record(JobOutcome.cancelled, None)]
    assert median_duration(even) == timedelta(seconds=4)


def ticks() -> None:
    runs.append(1)


async def test_timeline_chart_draws_past_runs_from_the_history_after_a_restart(
    tmp_path: Any,
) -> None:
    import nbsched

    path = tmp_path / "kernel.db"
    clock = FakeClock(START)
    await run_a_first_kernel(SQLiteDataStore(path), clock, 3, ticks)

    # a new kernel: no run was seen by it, the chart still shows the three runs
    async with AsyncScheduler(SQLiteDataStore(path), clock=clock) as scheduler:
        chart = nbsched.timeline_chart(scheduler, tz="UTC")
    past = chart.data[chart.data.status != "upcoming"]
    assert [(r.status, r.when[11:16]) for r in past.itertuples()] == [
        ("success", "09:01"),
        ("success", "09:02"),
        ("success", "09:03"),
    ]


async def test_a_history_read_cancelled_before_its_thread_starts_leaves_no_unawaited_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Closing a dashboard cancels its refresh; the blocking Scheduler's history read may then
    never reach its worker thread, and must not leave a store coroutine behind (a
    'never awaited' warning that fails an unrelated test later)."""
    import asyncio
    import gc
    import os
    import sys
    import threading

    from nbsched import Scheduler
    from nbsched.widgets._history_strip import recent_runs

    unraisable: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(str(u.exc_value)))
    loop = asyncio.get_running_loop()
    gate = threading.Event()
    workers = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor's size
    with Scheduler() as scheduler:
        busy = asyncio.gather(*(loop.run_in_executor(None, gate.wait) for _ in range(workers)))
        read = asyncio.ensure_future(recent_runs(scheduler))
        await asyncio.sleep(0)
        read.cancel()
        gate.set()
        await busy
        with pytest.raises(asyncio.CancelledError):
            await read
        # the executor's queue is first in, first out: once these ran, the cancelled read's
        # work item has been taken off it and dropped
        await asyncio.gather(*(loop.run_in_executor(None, int) for _ in range(workers)))
        gc.collect()
    assert unraisable == []


async def test_strip_on_postgresql_shows_the_runs_of_another_scheduler(
    postgresql_dsn: str,
) -> None:
    from nbsched.datastores.postgresql import PostgreSQLDataStore

    schema = f"strip_{uuid.uuid4().hex[:10]}"
    clock = FakeClock(START)
    # 4 runs, the 3rd fails
    store = PostgreSQLDataStore(postgresql_dsn, schema=schema)
    await run_a_first_kernel(store, clock, 4, identity="first")

    # another kernel on the same schema, which ran nothing itself
    async with AsyncScheduler(
        PostgreSQLDataStore(postgresql_dsn, schema=schema), clock=clock, identity="second"
    ) as second:
        outcomes, strip, text = await shown_for_a(second)
    assert outcomes == ["success", "success", "error", "success"]
    assert "RuntimeError: run 3 failed" in strip
    assert text["runs"] == "0"  # this kernel's own count
