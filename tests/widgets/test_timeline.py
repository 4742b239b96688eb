"""nbsched.widgets.Timeline: a chart in an Output widget that follows a scheduler."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest

import nbsched
from nbsched._chart import VEGALITE_MIME
from nbsched.triggers import IntervalTrigger
from nbsched.widgets import Timeline

UTC = timezone.utc
START = datetime(2027, 1, 1, tzinfo=UTC)


def drawn_rows(widget: Timeline) -> list[dict[str, Any]]:
    (output,) = widget.output.outputs
    spec = output["data"][VEGALITE_MIME]
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")
    return points["data"]["values"]


def test_timeline_of_triggers_draws_the_chart() -> None:
    widget = Timeline(
        {"every 10 min": IntervalTrigger(minutes=10, start_time=START)}, limit=3, title="demo"
    )

    rows = drawn_rows(widget)
    assert [r["when"] for r in rows] == [
        "2027-01-01 00:00:00 UTC (UTC+0000)",
        "2027-01-01 00:10:00 UTC (UTC+0000)",
        "2027-01-01 00:20:00 UTC (UTC+0000)",
    ]
    assert widget.frame is not None and len(widget.frame) == 3
    assert "3 upcoming fire(s) in 1 lane(s)" in widget.status.value


def test_bad_input_shows_in_the_status_line_and_raises() -> None:
    with pytest.raises(TypeError, match="obj: expected a Trigger"):
        Timeline(42)


def job() -> None:
    pass


@pytest.mark.anyio
async def test_timeline_follows_a_running_scheduler() -> None:
    clock = nbsched.FakeClock(START)
    async with nbsched.AsyncScheduler(clock=clock) as scheduler:
        await scheduler.add_schedule(
            job, IntervalTrigger(minutes=1, start_time=START + timedelta(minutes=1)), id="a"
        )
        widget = Timeline(scheduler, limit=2)
        assert [r["schedule_id"] for r in drawn_rows(widget)] == ["a", "a"]

        scheduler.start_in_background()
        await scheduler.add_schedule(
            job, IntervalTrigger(hours=1, start_time=START + timedelta(minutes=90)), id="b"
        )
        # a live chart redraws at most once a second: the run at 00:02 shows by 00:02:01
        await clock.advance(timedelta(minutes=2, seconds=1))

        rows = drawn_rows(widget)
        widget.close()
        await scheduler.stop()
        await scheduler.wait_until_stopped()

    # two past runs of "a" (coloured by outcome), its next two fires, and the new lane "b"
    assert [(r["schedule_id"], r["status"], r["when"][11:16]) for r in rows] == [
        ("a", "success", "00:01"),
        ("a", "success", "00:02"),
        ("a", "upcoming", "00:03"),
        ("a", "upcoming", "00:04"),
        ("b", "upcoming", "01:30"),
        ("b", "upcoming", "02:30"),
    ]


def wait_until(condition: Any, timeout: float = 10) -> None:
    """Poll ``condition`` (a redraw on another thread), failing after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the timeline did not redraw in time")
        time.sleep(0.02)


def test_timeline_follows_a_sync_scheduler() -> None:
    # The sync facade delivers events on its loop thread; the widget redraws from another
    # thread (reading the schedules through the facade from the loop thread would deadlock).
    with nbsched.Scheduler(clock=nbsched.FakeClock(START)) as scheduler:
        widget = Timeline(scheduler, limit=2)
        assert widget.frame is not None and widget.frame.empty

        scheduler.add_schedule(
            job, IntervalTrigger(minutes=5, start_time=START + timedelta(minutes=5)), id="sync"
        )
        wait_until(lambda: widget.frame is not None and len(widget.frame) == 2)
        rows = drawn_rows(widget)
        scheduler.remove_schedule("sync")
        wait_until(lambda: widget.frame is not None and widget.frame.empty)
        widget.close()

    assert [(r["schedule_id"], r["when"][11:16]) for r in rows] == [
        ("sync", "00:05"),
        ("sync", "00:10"),
    ]


@pytest.mark.anyio
async def test_a_live_chart_redraws_at_most_once_a_second_and_only_on_change() -> None:
    clock = nbsched.FakeClock(START)
    async with nbsched.AsyncScheduler(clock=clock) as scheduler:
        scheduler.start_in_background()
        await scheduler.add_schedule(
            job, IntervalTrigger(seconds=0.1, start_time=START + timedelta(seconds=0.1)), id="fast"
        )
        widget = Timeline(scheduler, limit=3, past=5)
        redraws: list[datetime] = []
        widget.output.observe(lambda _change: redraws.append(clock.now()), "outputs")
        await clock.advance(5)  # 50 runs, each one changes the data
        gaps = [later - earlier for earlier, later in pairwise(redraws)]
        assert 3 <= len(redraws) <= 6, redraws
        assert min(gaps) >= timedelta(seconds=1), gaps
        # the last redraw shows the latest state: the last 5 runs and the next 3 fires
        rows = drawn_rows(widget)
        assert [r["status"] for r in rows] == ["success"] * 5 + ["upcoming"] * 3

        # nothing changed since: events that change nothing drawn send nothing
        count = len(redraws)
        await scheduler.pause_schedule("fast")
        await clock.advance(2)
        await scheduler.add_schedule(
            job, IntervalTrigger(hours=1, start_time=START + timedelta(hours=1)), id="late"
        )
        await clock.advance(2)
        assert len(redraws) == count + 2  # paused, then the new lane
        # a job of no schedule: a JobReleased event, but nothing drawn changes
        await scheduler.add_job(job)
        await clock.advance(2)
        assert len(redraws) == count + 2
        widget.close()
        await scheduler.stop()


@pytest.mark.anyio
async def test_a_second_kernel_on_postgresql_draws_the_runs_another_scheduler_did(
    postgresql_dsn: str,
) -> None:
    """On PostgreSQL the chart's past runs come from the stored run history, read by
    awaiting the store: a kernel that ran nothing itself shows another scheduler's runs."""
    import uuid

    from nbsched.datastores.postgresql import PostgreSQLDataStore

    schema = f"timeline_{uuid.uuid4().hex[:10]}"
    clock = nbsched.FakeClock(START)
    trigger = IntervalTrigger(minutes=1, start_time=START + timedelta(minutes=1))
    async with nbsched.AsyncScheduler(
        PostgreSQLDataStore(postgresql_dsn, schema=schema), clock=clock, identity="first"
    ) as first:
        await first.add_schedule(job, trigger, id="a", job_executor="loop")
        first.start_in_background()
        await clock.advance(timedelta(minutes=3))
        await first.stop()
        await first.wait_until_stopped()

    async with nbsched.AsyncScheduler(
        PostgreSQLDataStore(postgresql_dsn, schema=schema), clock=clock, identity="second"
    ) as second:
        widget = Timeline(second, limit=2)
        for _ in range(500):  # the first drawing awaits the store in a task of its own
            if widget.frame is not None:
                break
            await asyncio.sleep(0.01)
        rows = drawn_rows(widget)
        chart = await nbsched.atimeline_chart(second, tz="UTC")
        widget.close()

    assert [(r["schedule_id"], r["status"], r["when"][11:16]) for r in rows] == [
        ("a", "success", "00:01"),
        ("a", "success", "00:02"),
        ("a", "success", "00:03"),
        ("a", "upcoming", "00:04"),
        ("a", "upcoming", "00:05"),
    ]
    assert [(r.status, r.when[11:16]) for r in chart.data.itertuples()][:3] == [
        ("success", "00:01"),
        ("success", "00:02"),
        ("success", "00:03"),
    ]


@pytest.mark.anyio
async def test_the_summary_line_counts_what_the_chart_draws_a_finished_schedule_too() -> None:
    # the quickstart's case: a schedule whose runs are over still has its lane of past runs
    clock = nbsched.FakeClock(START)
    async with nbsched.AsyncScheduler(clock=clock) as scheduler:
        first = START + timedelta(seconds=2)
        trigger = IntervalTrigger(
            seconds=2, start_time=first, end_time=first + timedelta(seconds=8)
        )
        await scheduler.add_schedule(job, trigger, id="five", job_executor="loop")
        scheduler.start_in_background()
        await clock.advance(timedelta(seconds=12))
        assert await scheduler.get_schedules() == []
        widget = Timeline(scheduler)
        rows = drawn_rows(widget)
        status = widget.status.value
        widget.close()
        await scheduler.stop()
        await scheduler.wait_until_stopped()

    lanes = {r["schedule_id"] for r in rows}
    assert (lanes, len(rows)) == ({"five"}, 5)
    assert "0 upcoming fire(s) in 1 lane(s), 5 past run(s)," in status
