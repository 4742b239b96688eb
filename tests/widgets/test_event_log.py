"""The EventLog widget: events stream in newest first, filterable, bounded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from nbsched import AsyncScheduler, FakeClock
from nbsched.events import JobReleased, ScheduleAdded
from nbsched.triggers.interval import IntervalTrigger
from nbsched.widgets import EventLog
from nbsched.widgets.event_log import LOG_HEIGHT, event_types, summarize

pytestmark = pytest.mark.anyio

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


def noop() -> None:
    pass


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def scheduler(clock: FakeClock) -> AsyncIterator[AsyncScheduler]:
    scheduler = AsyncScheduler(clock=clock, identity="log-test")
    scheduler.start_in_background()
    await clock.settle()
    try:
        yield scheduler
    finally:
        await scheduler.stop()


async def add(scheduler: AsyncScheduler, schedule_id: str, seconds: float = 10) -> None:
    trigger = IntervalTrigger(seconds=seconds, start_time=START + timedelta(seconds=seconds))
    await scheduler.add_schedule(noop, trigger, id=schedule_id, job_executor="loop")


def table_rows(log: EventLog) -> list[str]:
    return log.shown_rows()


async def test_events_stream_in_newest_first(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    log = EventLog(scheduler, tz=ZoneInfo("Europe/Berlin"))
    await add(scheduler, "first")
    await add(scheduler, "second")
    await clock.advance(10)
    names = [type(e).__name__ for e in log.visible()]
    added = [e for e in log.visible() if isinstance(e, ScheduleAdded)]
    assert [e.schedule_id for e in added] == ["second", "first"]  # newest first
    released = [e for e in log.visible() if isinstance(e, JobReleased)]
    assert {e.schedule_id for e in released} == {"first", "second"}
    rows = table_rows(log)
    assert len(rows) == len(log.visible())
    assert "<b>ScheduleAdded</b>" in rows[names.index("ScheduleAdded")]
    assert "10:00:10.000" in rows[0]  # the last event's time, in Berlin
    assert f"{len(rows)} shown" in log.count.value
    log.close()


async def test_type_and_text_filters(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    log = EventLog(scheduler, types=[ScheduleAdded, "JobReleased"])
    assert set(log.type_filter.value) == {"ScheduleAdded", "JobReleased"}
    await add(scheduler, "alpha")
    await add(scheduler, "beta")
    await clock.advance(10)
    assert {type(e).__name__ for e in log.visible()} == {"ScheduleAdded", "JobReleased"}
    assert len(log.visible()) == 4

    log.text_filter.value = "beta"
    assert [type(e).__name__ for e in log.visible()] == ["JobReleased", "ScheduleAdded"]
    assert "alpha" not in "".join(log.shown_rows())

    log.type_filter.value = ("JobReleased",)
    assert [e.schedule_id for e in log.visible()] == ["beta"]  # type: ignore[attr-defined]
    assert len(table_rows(log)) == 1
    assert len(log.events) > 4  # filtered out, not forgotten
    log.close()


async def test_bounded_to_max_rows(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    log = EventLog(scheduler, types=["JobReleased"], max_rows=5)
    await add(scheduler, "often", seconds=1)
    await clock.advance(20)
    assert len(log.events) == 5
    assert len(table_rows(log)) <= 5
    released = [e for e in log.events if isinstance(e, JobReleased)]
    assert released[-1].finished_at == START + timedelta(seconds=20)
    log.clear()
    assert list(log.events) == [] and table_rows(log) == []
    log.close()


async def test_closing_stops_listening(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    log = EventLog(scheduler)
    log.close()
    await add(scheduler, "after")
    assert list(log.events) == []


async def test_bad_arguments(scheduler: AsyncScheduler) -> None:
    with pytest.raises(ValueError, match="types: 'JobExploded' is not an nbsched event type"):
        EventLog(scheduler, types=["JobExploded"])
    with pytest.raises(ValueError, match="max_rows: expected a positive int, got 0"):
        EventLog(scheduler, max_rows=0)


def test_summaries_and_known_types() -> None:
    names = [cls.__name__ for cls in event_types()]
    assert "JobReleased" in names and "ScheduleAdded" in names
    assert "Event" not in names and "DataStoreEvent" not in names
    event = ScheduleAdded(schedule_id="s1", task_id="t", next_fire_time=START)
    assert summarize(event) == "schedule_id=s1 task_id=t next_fire_time=2026-01-01T09:00:00+00:00"
    html = "<script>alert(1)</script>"
    shown = _rendered(ScheduleAdded(schedule_id=html, task_id="t", next_fire_time=None))
    assert "&lt;script&gt;" in shown and html not in shown


def _rendered(event: ScheduleAdded) -> str:
    class Broker:
        def subscribe(self, callback, event_types=None):
            self.callback = callback

            class Sub:
                def unsubscribe(self) -> None:
                    pass

            return Sub()

    broker = Broker()
    log = EventLog(broker)
    broker.callback(event)
    return "".join(log.shown_rows())


async def test_events_of_a_synchronous_scheduler_arrive_on_the_notebook_thread() -> None:
    import asyncio
    import threading

    from nbsched import Scheduler

    seen_on: list[int] = []
    with Scheduler(identity="sync-log", clock=FakeClock(START)) as scheduler:
        scheduler.start_in_background()
        log = EventLog(scheduler, types=["ScheduleAdded"])
        original = log.show_new

        def show_new() -> None:
            seen_on.append(threading.get_ident())
            original()

        log.show_new = show_new  # type: ignore[method-assign]
        trigger = IntervalTrigger(hours=1, start_time=START + timedelta(hours=1))
        await asyncio.to_thread(scheduler.add_schedule, noop, trigger, id="from-a-thread")
        for _ in range(200):  # the event crosses from the scheduler's thread to this loop
            if log.events:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        assert [e.schedule_id for e in log.visible()] == ["from-a-thread"]  # type: ignore[attr-defined]
        assert "from-a-thread" in "".join(log.shown_rows())
        assert seen_on and set(seen_on) == {threading.get_ident()}
        log.close()
        scheduler.stop()


def failing() -> None:
    raise ZeroDivisionError("division by zero")


async def test_a_new_event_sends_its_row_not_the_whole_log(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    log = EventLog(scheduler, max_rows=10)
    await add(scheduler, "busy", seconds=1)
    await clock.advance(20)  # more events than rows: every row is in use
    assert len(log.rows.children) == 10
    changes: list[str] = []
    for child in log.rows.children:
        child.observe(lambda change: changes.append(change["name"]), "value")
        child.layout.observe(lambda change: changes.append(change["name"]), "order")
    log.rows.observe(lambda change: changes.append(change["name"]), "children")
    arrived: list[object] = []
    subscription = scheduler.subscribe(arrived.append)
    await clock.advance(1)
    subscription.unsubscribe()
    new_events = len(arrived)
    assert new_events >= 2
    # the oldest rows were reused for the new events: their text and their place, nothing else
    assert sorted(changes) == sorted(["value", "order"] * new_events), changes
    # newest on top: the rows sorted by their flex order read like the events, newest first
    by_order = sorted(log.rows.children, key=lambda row: int(row.layout.order))
    assert [row.value for row in by_order] == log.shown_rows()
    assert type(log.visible()[0]).__name__ in by_order[0].value
    log.close()


async def test_the_log_is_a_fixed_height_scrolling_box(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    log = EventLog(scheduler, max_rows=50)
    await add(scheduler, "often", seconds=1)
    await clock.advance(60)
    assert log.rows.layout.max_height == LOG_HEIGHT
    assert log.rows.layout.overflow == "auto"
    assert len(log.rows.children) == 50
    log.close()


async def test_a_failed_job_shows_its_error_in_one_line_that_expands(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    log = EventLog(scheduler, types=["JobReleased"])
    trigger = IntervalTrigger(seconds=10, start_time=START + timedelta(seconds=10))
    await scheduler.add_schedule(failing, trigger, id="bad", job_executor="loop")
    await clock.advance(10)
    (row,) = log.shown_rows()
    summary = row.split("<summary>")[1].split("</summary>")[0]
    assert summary == "ZeroDivisionError: division by zero"
    assert "<pre>Traceback (most recent call last):" in row
    assert "exception_traceback" not in row
    log.close()
