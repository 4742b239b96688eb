"""The Dashboard widget on a running scheduler with a fake clock: rows, countdowns, buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from nbsched import AsyncScheduler, FakeClock, JobOutcome
from nbsched.datastores.memory import MemoryDataStore
from nbsched.triggers.interval import IntervalTrigger
from nbsched.widgets import Dashboard
from nbsched.widgets._format import format_duration, format_remaining
from nbsched.widgets.dashboard import RunTracker

pytestmark = pytest.mark.anyio

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")
calls: list[str] = []


def tick() -> None:
    calls.append("tick")


def fail() -> None:
    raise RuntimeError("broken on purpose")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def scheduler(clock: FakeClock) -> AsyncIterator[AsyncScheduler]:
    calls.clear()
    scheduler = AsyncScheduler(clock=clock, identity="dashboard-test")
    scheduler.start_in_background()
    await clock.settle()
    try:
        yield scheduler
    finally:
        await scheduler.stop()


@pytest.fixture
async def dashboard(scheduler: AsyncScheduler) -> AsyncIterator[Dashboard]:
    board = Dashboard(scheduler, tz=BERLIN, live=False)
    try:
        yield board
    finally:
        board.close()


async def every(scheduler: AsyncScheduler, seconds: float, schedule_id: str, func=tick) -> None:
    trigger = IntervalTrigger(seconds=seconds, start_time=START + timedelta(seconds=seconds))
    await scheduler.add_schedule(func, trigger, id=schedule_id, job_executor="loop")


async def settled(board: Dashboard, clock: FakeClock) -> None:
    await clock.settle()
    await board.settle()


async def test_one_row_per_schedule_with_readable_columns(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await settled(dashboard, clock)
    assert dashboard.rows == {}
    assert dashboard.empty in dashboard.children

    await every(scheduler, 30, "b-half-minute")
    await every(scheduler, 3600, "a-hourly")
    await settled(dashboard, clock)

    assert list(dashboard.rows) == ["a-hourly", "b-half-minute"]
    table = dashboard.table.children
    assert table == (dashboard.head, dashboard.rows["a-hourly"], dashboard.rows["b-half-minute"])
    assert dashboard.empty not in dashboard.children
    row = dashboard.rows["b-half-minute"].text()
    assert row == {
        "id": "b-half-minute",
        "trigger": str((await scheduler.get_schedule("b-half-minute")).trigger),
        "next fire": "10:00:30 CET",  # 09:00:30 UTC in Berlin
        "remaining": "in 30 s",
        "runs": "0",
        "last run": "—",
        "lateness": "—",
        "ran on": "—",
        "history": "—",
        "median": "—",
    }
    assert dashboard.rows["a-hourly"].text()["remaining"] == "in 1 h 0 min"


async def test_runs_outcome_duration_and_countdown_update_as_the_scheduler_runs(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await every(scheduler, 30, "ticker")
    await every(scheduler, 45, "failer", func=fail)
    await settled(dashboard, clock)

    await clock.advance(10)
    dashboard.tick()
    assert dashboard.rows["ticker"].text()["remaining"] == "in 20 s"

    await clock.advance(20)
    await settled(dashboard, clock)
    assert calls == ["tick"]
    row = dashboard.rows["ticker"].text()
    assert (row["runs"], row["next fire"], row["remaining"]) == ("1", "10:01:00 CET", "in 30 s")
    assert row["last run"].startswith("✓ ok")
    assert row["lateness"] == "0.000 s"
    assert row["ran on"] == "this kernel"
    assert f"title='{scheduler.identity}'" in dashboard.rows["ticker"].cells["ran on"].value

    await clock.advance(15)
    await settled(dashboard, clock)
    failed = dashboard.rows["failer"]
    assert failed.text()["last run"].startswith("✗ error")
    assert "RuntimeError: broken on purpose" in failed.cells["last run"].value


async def test_lateness_shows_how_late_a_run_started(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await every(scheduler, 30, "late")
    await settled(dashboard, clock)
    # jump straight past the fire time, as a kernel busy for 12 s would
    scheduler.request_stop()
    await scheduler.wait_until_stopped()
    await clock.advance(42)
    scheduler.start_in_background()
    await settled(dashboard, clock)
    assert dashboard.tracker.stats["late"].last_lateness == timedelta(seconds=12)
    assert dashboard.rows["late"].text()["lateness"] == "12.0 s"


async def test_pause_resume_run_now_and_remove_buttons(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await every(scheduler, 30, "buttons")
    await settled(dashboard, clock)
    row = dashboard.rows["buttons"]
    assert (row.pause_button.disabled, row.resume_button.disabled) == (False, True)
    # pause and resume share a place: only the one that applies shows
    assert (row.pause_button.layout.display, row.resume_button.layout.display) == (None, "none")

    row.pause_button.click()
    await settled(dashboard, clock)
    assert (await scheduler.get_schedule("buttons")).paused
    assert row.text()["next fire"] == "paused"
    assert (row.pause_button.disabled, row.resume_button.disabled) == (True, False)
    assert (row.pause_button.layout.display, row.resume_button.layout.display) == ("none", None)
    await clock.advance(100)
    assert calls == []

    row.run_button.click()
    await settled(dashboard, clock)
    assert calls == ["tick"]
    assert row.text()["runs"] == "1"  # a run started by hand counts for its schedule

    row.resume_button.click()
    await settled(dashboard, clock)
    assert not (await scheduler.get_schedule("buttons")).paused
    await clock.advance(30)
    assert calls == ["tick", "tick"]

    row.remove_button.click()  # asks first
    await settled(dashboard, clock)
    assert [s.id for s in await scheduler.get_schedules()] == ["buttons"]
    assert row.remove_button.description == "confirm"
    row.remove_button.click()
    await settled(dashboard, clock)
    assert await scheduler.get_schedules() == []
    assert dashboard.rows == {}
    # the row stays, greyed, as "removed", until dismissed
    assert dashboard.table.children == (dashboard.head, row)
    assert dashboard.ended_rows == {"buttons": row}
    assert (row.text()["next fire"], row.text()["runs"]) == ("removed", "2")
    assert dashboard.empty not in dashboard.children
    assert row.remove_button.description == "dismiss"
    row.remove_button.click()
    await settled(dashboard, clock)
    assert dashboard.table.children == (dashboard.head,)
    assert dashboard.empty in dashboard.children


async def test_a_failed_action_says_why(dashboard: Dashboard, clock: FakeClock) -> None:
    dashboard.pause("missing")
    await settled(dashboard, clock)
    assert "could not pause &#x27;missing&#x27;: no schedule with id" in dashboard.status.value


async def test_the_dashboard_says_when_the_scheduler_stops(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await scheduler.stop()
    await settled(dashboard, clock)
    assert "the scheduler has stopped" in dashboard.status.value


async def test_live_dashboard_counts_down_by_itself(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    await every(scheduler, 30, "live")
    board = Dashboard(scheduler, tz=BERLIN)  # live: a countdown task on the running loop
    try:
        await settled(board, clock)
        assert board.rows["live"].text()["remaining"] == "in 30 s"
        # the countdown ticks once a second on the scheduler's clock (no reread before 5 s)
        await clock.advance(3)
        assert board.rows["live"].text()["remaining"] == "in 27 s"
    finally:
        board.close()
    assert board._ticker is None


async def test_a_shared_tracker_survives_closing_a_dashboard(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    tracker = RunTracker(scheduler)
    await every(scheduler, 30, "shared")
    first = Dashboard(scheduler, tracker=tracker, live=False)
    await clock.advance(30)
    first.close()
    second = Dashboard(scheduler, tracker=tracker, live=False)
    await settled(second, clock)
    assert second.rows["shared"].text()["runs"] == "1"
    assert tracker.stats["shared"].last_outcome is JobOutcome.success
    second.close()
    tracker.close()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0123, "0.012 s"),
        (4.25, "4.2 s"),
        (185, "3 min 5 s"),
        (7500, "2 h 5 min"),
        (97200, "1 d 3 h"),
    ],
)
async def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


async def test_format_remaining() -> None:
    assert format_remaining(START, now=START) == "due"
    assert format_remaining(START + timedelta(seconds=0.2), now=START) == "in 1 s"
    assert format_remaining(START + timedelta(minutes=2), now=START) == "in 2 min 0 s"
    assert format_remaining(None, now=START) == "—"


async def test_works_with_the_synchronous_scheduler_too() -> None:
    from nbsched import Scheduler

    # the fake clock never moves here: the schedule's time stays an hour away
    with Scheduler(identity="sync-dashboard", clock=FakeClock(START)) as scheduler:
        scheduler.start_in_background()
        trigger = IntervalTrigger(hours=1, start_time=START + timedelta(hours=1))
        scheduler.add_schedule(tick, trigger, id="hourly")
        board = Dashboard(scheduler, tz=BERLIN, live=False)
        try:
            await board.refresh()
            assert list(board.rows) == ["hourly"]
            assert board.rows["hourly"].text()["remaining"] == "in 1 h 0 min"
            await board.pause("hourly")
            await board.refresh()
            assert scheduler.get_schedule("hourly").paused
            assert board.rows["hourly"].text()["next fire"] == "paused"
        finally:
            board.close()
            scheduler.stop()


# --- the store unavailable ----------------------------------------------------------------------


class _Locked(Exception):
    """A temporary store error."""


class _LockableStore(MemoryDataStore):
    """A memory store whose reads and acquisitions fail while ``locked``."""

    temporary_errors = (_Locked,)
    locked = False

    def __repr__(self) -> str:
        return "LockableStore()"

    async def acquire_schedules(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.locked:
            raise _Locked("database is locked")
        return await super().acquire_schedules(*args, **kwargs)

    async def get_schedules(self, ids=None):  # type: ignore[no-untyped-def]
        if self.locked:
            raise _Locked("database is locked")
        return await super().get_schedules(ids)


async def test_the_dashboard_says_since_when_the_store_is_unavailable(clock: FakeClock) -> None:
    store = _LockableStore()
    scheduler = AsyncScheduler(store, clock=clock, identity="dashboard-test", retry_max_time=30)
    scheduler.start_in_background()
    await every(scheduler, 10, "ten")
    board = Dashboard(scheduler, tz=BERLIN, live=False)
    try:
        await settled(board, clock)
        store.locked = True
        await clock.advance(60)  # first failure at 09:00:10 UTC = 10:00:10 in Berlin
        await settled(board, clock)
        expected = "store unavailable since 10:00:10 (_Locked: database is locked)"
        assert expected in board.status.value
        assert "color:#c62828" in board.status.value
        board.request_refresh()  # a reread fails at once, and keeps saying the same
        await settled(board, clock)
        assert expected in board.status.value
        store.locked = False
        await clock.advance(5)
        await settled(board, clock)
        assert board.status.value == ""
        assert list(board.rows) == ["ten"]
    finally:
        board.close()
        await scheduler.stop()


async def test_a_dismissed_row_leaves_the_table_before_it_is_closed(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await every(scheduler, 30, "going")
    await settled(dashboard, clock)
    row = dashboard.rows["going"]
    parts = [*row.cells.values(), *row.buttons]
    shown_when_closed: list[bool] = []
    original_close = type(row).close

    def close(widget) -> None:  # a front end cannot draw a closed widget still in a table
        shown_when_closed.append(widget in dashboard.table.children)
        original_close(widget)

    row.close = close.__get__(row)
    await scheduler.remove_schedule("going")
    await settled(dashboard, clock)
    assert shown_when_closed == []  # shown as removed
    dashboard.dismiss("going")
    await settled(dashboard, clock)
    assert shown_when_closed == [False]
    assert row.comm is None
    assert [part.comm for part in parts] == [None] * len(parts)  # no widget left behind


async def test_an_unconfirmed_remove_expires(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await every(scheduler, 30, "kept")
    await settled(dashboard, clock)
    row = dashboard.rows["kept"]
    row.remove_button.click()
    await clock.advance(6)
    dashboard.tick()
    assert row.remove_button.description == "remove"
    row.remove_button.click()  # asks again: a click long after the first does not remove
    await settled(dashboard, clock)
    assert [s.id for s in await scheduler.get_schedules()] == ["kept"]


# --- finished and removed schedules -------------------------------------------------------------


async def ending(scheduler: AsyncScheduler, schedule_id: str, times: int) -> None:
    """Every 10 s, ``times`` times (then the trigger runs out)."""
    first = START + timedelta(seconds=10)
    trigger = IntervalTrigger(
        seconds=10, start_time=first, end_time=first + timedelta(seconds=10 * (times - 1))
    )
    await scheduler.add_schedule(tick, trigger, id=schedule_id, job_executor="loop")


async def test_a_finished_schedule_stays_as_a_greyed_finished_row_with_its_runs(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await ending(scheduler, "five", 5)
    await every(scheduler, 30, "going-on")
    await settled(dashboard, clock)
    row = dashboard.rows["five"]
    await clock.advance(50)
    await settled(dashboard, clock)
    assert calls.count("tick") == 6  # five of "five", one of "going-on"
    assert [s.id for s in await scheduler.get_schedules()] == ["going-on"]

    assert list(dashboard.rows) == ["going-on"]
    assert dashboard.ended_rows == {"five": row}  # the same row, greyed out
    assert dashboard.table.children == (dashboard.head, dashboard.rows["going-on"], row)
    text = row.text()
    assert (text["next fire"], text["remaining"], text["runs"]) == ("finished", "—", "5")
    assert text["last run"].startswith("✓ ok")
    assert "finished after 5 runs" in row.cells["next fire"].value
    assert all(cell.value.startswith("<span style='opacity:0.55'>") for cell in row.cells.values())
    assert "nbsched-dashboard-ended" in row._dom_classes
    assert [b.disabled for b in row.buttons] == [True, True, True, False]
    assert dashboard.empty not in dashboard.children
    # it stays finished: the countdown and rereads leave it alone
    await clock.advance(5)
    dashboard.tick()
    await settled(dashboard, clock)
    assert row.text()["next fire"] == "finished"


async def test_a_dashboard_opened_after_a_schedule_finished_shows_it_finished(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    # the quickstart's case: the cell's runs are over before the reader reaches %sched
    tracker = RunTracker(scheduler)
    await ending(scheduler, "quick", 3)
    await clock.advance(30)
    await clock.settle()
    assert await scheduler.get_schedules() == []
    board = Dashboard(scheduler, tracker=tracker, live=False)
    try:
        await settled(board, clock)
        assert board.rows == {}
        assert list(board.ended_rows) == ["quick"]
        text = board.ended_rows["quick"].text()
        assert (text["id"], text["next fire"], text["runs"]) == ("quick", "finished", "3")
        assert board.empty not in board.children  # not "no schedules yet"
    finally:
        board.close()
        tracker.close()


async def test_a_dashboard_opened_after_a_schedule_finished_shows_the_trigger_it_had(
    scheduler: AsyncScheduler, clock: FakeClock
) -> None:
    # %sched twice: the first dashboard saw the schedule live, the second opens after it ended
    tracker = RunTracker(scheduler)
    await ending(scheduler, "quick", 3)
    first = Dashboard(scheduler, tracker=tracker, live=False)
    await settled(first, clock)
    shown = first.rows["quick"].cells["trigger"].value
    first.close()
    await clock.advance(30)
    await clock.settle()
    board = Dashboard(scheduler, tracker=tracker, live=False)
    try:
        await settled(board, clock)
        row = board.ended_rows["quick"]
        assert row.text()["trigger"].startswith("every 10 seconds")
        assert row.cells["trigger"].value == f"<span style='opacity:0.55'>{shown}</span>"
    finally:
        board.close()
        tracker.close()


async def test_a_schedule_added_again_under_an_ended_id_is_live_again(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    await every(scheduler, 30, "again")
    await settled(dashboard, clock)
    row = dashboard.rows["again"]
    await scheduler.remove_schedule("again")
    await settled(dashboard, clock)
    assert row.text()["next fire"] == "removed"
    await every(scheduler, 30, "again")
    await settled(dashboard, clock)
    assert dashboard.ended_rows == {}
    assert dashboard.rows == {"again": row}
    assert row.text()["next fire"] == "10:00:30 CET"
    assert not row.cells["id"].value.startswith("<span style='opacity")
    assert (row.run_button.disabled, row.remove_button.description) == (False, "remove")


async def test_only_the_most_recently_ended_are_shown(
    scheduler: AsyncScheduler, dashboard: Dashboard, clock: FakeClock
) -> None:
    from nbsched.widgets.dashboard import ENDED_SHOWN

    count = ENDED_SHOWN + 2
    for number in range(count):
        await every(scheduler, 30, f"s{number:02}")
    await settled(dashboard, clock)
    for number in range(count):
        await clock.advance(1)  # each ends at its own time
        await scheduler.remove_schedule(f"s{number:02}")
    await settled(dashboard, clock)
    assert list(dashboard.ended_rows) == [f"s{n:02}" for n in reversed(range(2, count))]
    assert dashboard.table.children[1:] == tuple(dashboard.ended_rows.values())


async def test_a_schedule_gone_from_a_shared_store_unannounced_shows_removed(
    clock: FakeClock, tmp_path
) -> None:
    # two schedulers on one SQLite file, each with its own (local) broker: the other one's
    # removal reaches this dashboard only by rereading the store
    from nbsched.datastores.sqlite import SQLiteDataStore

    path = tmp_path / "shared.db"
    here = AsyncScheduler(SQLiteDataStore(path), clock=clock, identity="here")
    there = AsyncScheduler(SQLiteDataStore(path), clock=clock, identity="there")
    here.start_in_background()
    there.start_in_background()
    board = Dashboard(here, tz=BERLIN, live=False)
    try:
        await every(there, 3600, "theirs")
        await settled(board, clock)
        await board.refresh()
        assert list(board.rows) == ["theirs"]
        await there.remove_schedule("theirs")
        await board.refresh()
        assert board.rows == {}
        assert board.ended_rows["theirs"].text()["next fire"] == "removed"
    finally:
        board.close()
        await there.stop()
        await here.stop()
