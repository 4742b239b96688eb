"""A quick cell's status line: routine changes (run count, duration, next fire time) are
coalesced to one update every ROUTINE_INTERVAL; changes of state go out at once; the last
state is always written. The status lines' clock and timer are replaced by :class:`Ticks`,
moved on beside the scheduler's FakeClock."""

from __future__ import annotations

import asyncio
import heapq
import html
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from notebook_helpers import Notebook

from nbsched import FakeClock
from nbsched._enums import JobOutcome
from nbsched._runs import RunStats
from nbsched.notebook import _cell_output
from nbsched.notebook._cell_output import (
    FIRST_ROUTINE_INTERVAL,
    ROUTINE_GRACE,
    ROUTINE_INTERVAL,
    STATUS_INTERVAL,
    STATUS_SLACK,
    CellOutput,
)
from nbsched.notebook._status_line import RouteInfo, line_state, status_html

START = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)


def _plain(value: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())


class Ticks:
    """Stands in for the status lines' monotonic clock and their timer: what is due now goes
    to the loop as before, what waits runs when :meth:`advance` passes its time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[tuple[float, int, asyncio.Handle]] = []

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> asyncio.Handle:
        loop = asyncio.get_running_loop()
        if delay <= 0:
            return loop.call_soon(callback)
        handle = asyncio.Handle(callback, (), loop)
        heapq.heappush(self.timers, (self.now + delay, id(handle), handle))
        return handle

    def pending(self) -> list[float]:
        """When the timers not run nor cancelled yet are due."""
        return [due for due, _, handle in self.timers if not handle.cancelled()]

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while self.timers and self.timers[0][0] <= end:
            self.now, _, handle = heapq.heappop(self.timers)
            if not handle.cancelled():
                handle._run()
        self.now = end


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ticks]:
    clock = Ticks()
    monkeypatch.setattr(_cell_output, "_monotonic", clock)
    monkeypatch.setattr(_cell_output, "_call_later", clock.call_later)
    yield clock


async def _let_the_loop_run() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def _change(route: CellOutput, html: str, state: str | None = None) -> None:
    """Set the line as a run's end would, then let the loop run what that made ready."""
    route.set_status(html, state=state)
    await _let_the_loop_run()


def _writes(route: CellOutput) -> list[str]:
    written: list[str] = []
    route.status.observe(lambda change: written.append(change["new"]), "value")
    return written


@pytest.mark.anyio
async def test_a_routine_change_waits_and_a_change_of_state_goes_out_at_once(
    ticks: Ticks,
) -> None:
    route = CellOutput("job")
    written = _writes(route)
    await _change(route, "1 run ✓", state="ok")
    assert written == ["1 run ✓"]  # the first line: at once

    ticks.advance(1)
    route.set_status("2 runs ✓", state="ok")  # routine: the same state, it waits
    await _let_the_loop_run()
    assert written == ["1 run ✓"]

    route.set_status("2 runs ✗", state="error")  # a change of state: not held back
    await _let_the_loop_run()
    assert written == ["1 run ✓", "2 runs ✗"]

    ticks.advance(1)
    await _change(route, "3 runs ✗", state="error")
    # the first routine change after a change of state may go out FIRST_ROUTINE_INTERVAL after
    # it: 0.5 s away
    ticks.advance(FIRST_ROUTINE_INTERVAL - 1.5)
    assert written == ["1 run ✓", "2 runs ✗"]
    route.set_status("4 runs ✗", state="error")
    # due: it waits for a change that would carry it, at most ROUTINE_GRACE
    ticks.advance(0.5 + ROUTINE_GRACE)
    assert written == ["1 run ✓", "2 runs ✗", "4 runs ✗"]

    ticks.advance(1)
    await _change(route, "5 runs ✗", state="error")
    assert written == ["1 run ✓", "2 runs ✗", "4 runs ✗"]
    route.flush_status()  # what settle() and the end of a schedule do: the latest line
    assert written == ["1 run ✓", "2 runs ✗", "4 runs ✗", "5 runs ✗"]


@pytest.mark.anyio
async def test_a_due_routine_line_goes_out_with_the_next_run_not_on_a_wake_up_of_its_own(
    ticks: Ticks,
) -> None:
    # a cell that runs every second, its line last written half a second after a run (its
    # first outcome came then): the routine line falls due half a second after a run again,
    # and is written by the next run's pass of the loop instead of a timer waking the kernel
    # on its own; from then on the writes keep time with the runs
    route = CellOutput("job")
    written = _writes(route)
    first_gap = FIRST_ROUTINE_INTERVAL  # after the first line, a change of state
    second_gap = min(2 * first_gap, ROUTINE_INTERVAL)  # after the first routine line
    runs = 1
    await _change(route, "1 run ✓", state="ok")
    elapsed = 0.0
    for at in [k + 0.5 for k in range(int(first_gap))]:  # the runs before it is due
        ticks.advance(at - elapsed)
        elapsed = at
        runs += 1
        await _change(route, f"{runs} runs ✓", state="ok")
    ticks.advance(first_gap - elapsed)  # due now, but no run comes now
    await _let_the_loop_run()
    assert written == ["1 run ✓"]
    ticks.advance(0.5)
    runs += 1
    await _change(route, f"{runs} runs ✓", state="ok")
    assert written == ["1 run ✓", f"{runs} runs ✓"]
    for _ in range(int(second_gap) - 1):
        ticks.advance(1)
        runs += 1
        await _change(route, f"{runs} runs ✓", state="ok")
    assert len(written) == 2
    # the next run comes a moment before that line's gap is over: it goes out now
    ticks.advance(1 - STATUS_SLACK / 2)
    runs += 1
    await _change(route, f"{runs} runs ✓", state="ok")
    assert written[2:] == [f"{runs} runs ✓"]
    assert not ticks.pending(), "a timer was left waiting"


@pytest.mark.anyio
async def test_a_routine_line_without_a_later_change_is_written_by_a_timer(ticks: Ticks) -> None:
    route = CellOutput("job")
    written = _writes(route)
    await _change(route, "1 run ✓", state="ok")
    ticks.advance(1)
    route.set_status("2 runs ✓", state="ok")  # the last run: no change comes after it
    await _let_the_loop_run()
    assert ticks.pending() == [ticks.now + FIRST_ROUTINE_INTERVAL - 1 + ROUTINE_GRACE]
    ticks.advance(FIRST_ROUTINE_INTERVAL - 1 + ROUTINE_GRACE)
    assert written == ["1 run ✓", "2 runs ✓"]


@pytest.mark.anyio
async def test_changes_of_state_still_wait_the_status_interval(ticks: Ticks) -> None:
    route = CellOutput("job")
    written = _writes(route)
    await _change(route, "a", state="a")
    ticks.advance(STATUS_INTERVAL / 2)
    await _change(route, "b", state="b")
    assert written == ["a"]  # half a STATUS_INTERVAL after "a": it waits the other half
    route.flush_status()
    assert written == ["a", "b"]


@pytest.mark.anyio
async def test_a_line_without_a_state_is_never_routine(ticks: Ticks) -> None:
    route = CellOutput("job")
    written = _writes(route)
    await _change(route, "a")
    ticks.advance(1)
    route.set_status("b")  # e.g. "could not run: ..." from the magic
    await _let_the_loop_run()
    assert written == ["a", "b"]


def _line(**changes: object) -> tuple[RouteInfo, RunStats]:
    info = RouteInfo(trigger_text="every 10s", next_fire_time=START, state="")
    stats = RunStats(runs=3, last_outcome=JobOutcome.success, last_duration=timedelta(0))
    for name, value in changes.items():
        setattr(info if hasattr(info, name) else stats, name, value)
    return info, stats


def test_the_state_of_a_line_leaves_out_count_duration_and_next_fire_time() -> None:
    before = line_state(*_line(), False)
    routine = _line(
        next_fire_time=START + timedelta(seconds=10),
        runs=4,
        last_duration=timedelta(milliseconds=3),
    )
    assert line_state(*routine, False) == before
    for change in (
        {"last_outcome": JobOutcome.error},
        {"running": True},
        {"queued": True},
        {"paused": True},
        {"state": "finished"},
        {"shown": False},
        {"last_lateness": timedelta(seconds=3)},
    ):
        assert line_state(*_line(**change), False) != before, change
    assert line_state(*_line(), True) != before  # the store became unavailable


def test_a_schedule_firing_more_often_than_the_line_is_rewritten_shows_no_next_time() -> None:
    start = START
    every = RouteInfo(trigger_text="every 1s", next_fire_time=start, state="")
    line = status_html("q", every, None, now=start, tz=timezone.utc, identity=None)
    assert "next 09:00:00" in _plain(line)  # before its second fire
    every.fire_gap = timedelta(seconds=1)
    line = status_html("q", every, None, now=start, tz=timezone.utc, identity=None)
    assert "next" not in _plain(line), line  # it would be in the past most of the time
    every.fire_gap = timedelta(seconds=10)
    line = status_html("q", every, None, now=start, tz=timezone.utc, identity=None)
    assert "next 09:00:00" in _plain(line)


async def _run_for(notebook: Notebook, clock: FakeClock, seconds: int, ticks: Ticks) -> None:
    """Move the fake clock on second by second, letting each second's updates go out as a
    kernel would (without settle(), which writes every waiting line)."""
    for _ in range(seconds):
        ticks.advance(1)
        await clock.settle()
        await clock.advance(1)
        await notebook.holder.operations.wait()
        await clock.settle()


@pytest.mark.anyio
async def test_a_quick_cells_line_is_written_for_the_first_run_an_error_and_the_end(
    notebook: Notebook, clock: FakeClock, ticks: Ticks
) -> None:
    notebook.cell(
        "%%every 1s --times 6 --id quick\n"
        "_q = globals().get('_q', 0) + 1\n"
        "if _q == 4: raise ValueError('four')"
    )
    await notebook.settle()
    route = notebook.holder.outputs["quick"]
    written = _writes(route)
    await _run_for(notebook, clock, 8, ticks)
    lines = [_plain(value) for value in written]
    assert notebook.shell.user_ns["_q"] == 6
    # the first outcome, the error and the end are written at once; run 2 only moved the
    # count on, and its line waited until ROUTINE_INTERVAL after run 1's (run 3 was in it)
    assert any("1 run · ✓ ok" in line for line in lines), lines
    assert not any("2 runs" in line for line in lines), lines
    assert any("4 runs · ✗ error" in line for line in lines), lines
    assert "finished" in lines[-1] and "6 runs · ✓ ok" in lines[-1], lines[-1]


@pytest.mark.anyio
async def test_a_paused_quick_cell_shows_it_at_once_with_its_count(
    notebook: Notebook, clock: FakeClock, ticks: Ticks
) -> None:
    from notebook_helpers import capture_display

    notebook.cell("%%every 1s --id quick\n_p = globals().get('_p', 0) + 1")
    await notebook.settle()
    route = notebook.holder.outputs["quick"]
    await _run_for(notebook, clock, 3, ticks)
    written = _writes(route)
    capture_display(notebook, "%sched pause quick")
    await notebook.holder.operations.wait()
    await clock.settle()
    assert written, "the pause was not written"
    line = _plain(written[-1])
    assert "paused" in line and f"{notebook.shell.user_ns['_p']} runs" in line, line


def _run_counts(written: list[str]) -> tuple[list[int], list[int]]:
    """The run count each written line shows (from the first outcome on: lines before it say
    0 runs) and how far each moved on from the one before."""
    found = (re.search(r"(\d+) runs?", _plain(line)) for line in written)
    counts = [int(match.group(1)) for match in found if match and int(match.group(1))]
    return counts, [later - earlier for earlier, later in zip(counts, counts[1:], strict=False)]


@pytest.mark.anyio
async def test_a_cell_running_every_second_has_its_line_written_every_five_runs(
    notebook: Notebook, clock: FakeClock, ticks: Ticks
) -> None:
    # each status message wakes the kernel's IOPub and ZeroMQ threads (about 0.8 ms a
    # message, measured by benchmarks/cell_overhead.py): a quick cell's routine line goes out
    # every 5 s, so a silent cell at 1 s costs 0.2 messages a run
    notebook.cell("%%every 1s --id quick\n_r = globals().get('_r', 0) + 1")
    await notebook.settle()
    route = notebook.holder.outputs["quick"]
    await _run_for(notebook, clock, 10, ticks)  # past the first, quicker rewrites
    written = _writes(route)
    before = notebook.shell.user_ns["_r"]
    await _run_for(notebook, clock, 30, ticks)
    runs = notebook.shell.user_ns["_r"] - before
    assert runs == 30
    assert 5 <= len(written) <= 7, [_plain(line) for line in written]
    counts, gaps = _run_counts(written)
    assert all(gap >= 5 for gap in gaps), counts


@pytest.mark.anyio
async def test_a_new_schedules_count_is_seen_moving_before_its_line_slows_to_every_five_s(
    notebook: Notebook, clock: FakeClock, ticks: Ticks
) -> None:
    # the first routine rewrites come 2 s and then 4 s apart, then every ROUTINE_INTERVAL: a
    # reader watching a cell just scheduled sees its count move on as before, and a cell that
    # runs for hours still costs 0.2 messages a run at 1 s
    notebook.cell("%%every 1s --id fresh\n_f = globals().get('_f', 0) + 1")
    route = notebook.holder.outputs["fresh"]
    written = _writes(route)
    await notebook.settle()
    await _run_for(notebook, clock, 30, ticks)
    counts, gaps = _run_counts(written)
    # (the first outcome waited STATUS_INTERVAL after the line's "scheduling" state: the first
    # routine line comes a run later than 2 s after it)
    assert gaps[0] <= 3 and gaps[1] == 4, counts
    assert set(gaps[2:]) == {5}, counts
