"""The magics in an IPython shell, on a fake clock: parsing, errors, routing, replacement."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from notebook_helpers import START, Notebook
from notebook_helpers import capture_display as _capture_display

from nbsched import JobOutcome
from nbsched.notebook._cell_trigger import CellTrigger
from nbsched.notebook._durations import parse_duration
from nbsched.notebook._store_choice import record_store, recorded_store
from nbsched.notebook._when import parse_when
from nbsched.testing import check_trigger
from nbsched.triggers.cron import CronTrigger
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def stdout(text: str) -> dict[str, str]:
    return {"output_type": "stream", "name": "stdout", "text": text}


# --- durations and times ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("1w", timedelta(weeks=1)),
        ("90", timedelta(seconds=90)),
        ("'10s'", timedelta(seconds=10)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3x", "h", "5m3", "1h30", "-5s", "s5", "1.2.3s"])
def test_parse_duration_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match=rf"interval: {text!r} is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0s", "0", "-3"])
def test_parse_duration_refuses_non_positive(text: str) -> None:
    with pytest.raises(ValueError, match="must be a positive duration"):
        parse_duration(text)


def test_parse_when_time_of_day_is_the_next_occurrence() -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=BERLIN)
    assert parse_when("18:00", now=now, tz=BERLIN) == datetime(2026, 6, 1, 18, 0, tzinfo=BERLIN)
    assert parse_when("11:59:30", now=now, tz=BERLIN) == datetime(
        2026, 6, 2, 11, 59, 30, tzinfo=BERLIN
    )
    assert parse_when("12:00", now=now, tz=BERLIN) == datetime(2026, 6, 2, 12, 0, tzinfo=BERLIN)


def test_parse_when_dates_and_offsets() -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=BERLIN)
    assert parse_when("2026-12-01 18:00", now=now, tz=BERLIN) == datetime(
        2026, 12, 1, 17, 0, tzinfo=timezone.utc
    )
    assert parse_when("2026-12-01T18:00+00:00", now=now, tz=BERLIN) == datetime(
        2026, 12, 1, 18, 0, tzinfo=timezone.utc
    )


def test_parse_when_moves_a_time_that_does_not_exist_forward() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29 (clocks jump from 02:00 to 03:00)
    now = datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN)
    fire = parse_when("02:30", now=now, tz=BERLIN)
    assert fire == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)
    assert fire.astimezone(BERLIN).hour == 3


@pytest.mark.parametrize("text", ["25:00", "12:61", "tomorrow", "2026-13-01 10:00"])
def test_parse_when_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match=rf"until: {text!r} is not a "):
        parse_when(text, now=START, tz=BERLIN, argument="--until")


# --- the cell trigger ---------------------------------------------------------------------------


def test_cell_trigger_fires_now_first_then_stops_after_times() -> None:
    inner = IntervalTrigger(seconds=10, start_time=START + timedelta(seconds=10))
    trigger = CellTrigger(inner, times=3, first_fire=START)
    assert [trigger.next() for _ in range(4)] == [
        START,
        START + timedelta(seconds=10),
        START + timedelta(seconds=20),
        None,
    ]
    assert trigger.next() is None


def test_cell_trigger_keeps_the_contract_and_round_trips() -> None:
    inner = CronTrigger.from_crontab("*/5 * * * *", "Europe/Berlin", start_time=START)
    trigger = CellTrigger(inner, times=50, first_fire=START + timedelta(seconds=1))
    report = check_trigger(trigger, n=60)  # raises TriggerContractError if a rule breaks
    assert (report.fire_times, report.exhausted) == (50, True)
    assert report.first == START + timedelta(seconds=1)
    trigger.next()
    trigger.next()
    copy = CellTrigger.__new__(CellTrigger)
    copy.__setstate__(trigger.__getstate__())
    assert [copy.next() for _ in range(5)] == [trigger.next() for _ in range(5)]


def test_cell_trigger_refuses_an_unknown_state_version() -> None:
    trigger = CellTrigger(DateTrigger(START))
    state = trigger.__getstate__() | {"version": 9}
    with pytest.raises(ValueError, match="state has version 9"):
        CellTrigger.__new__(CellTrigger).__setstate__(state)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"times": 0}, "times"),
        ({"times": "5"}, "times"),
        ({"times": True}, "times"),
        ({"fired": -1}, "fired"),
        ({"fired": 7}, "fired"),  # more fires than --times allows
        ({"first_fire": "2026-12-01T09:00:00"}, "first_fire"),  # naive
        ({"first_fire": 17}, "first_fire"),
        ({"last": "not a time"}, "last"),
        ({"trigger": None}, "trigger"),
        ({"trigger": {"type": "nbsched.triggers.date:DateTrigger", "state": {}}}, "trigger"),
    ],
)
def test_cell_trigger_refuses_state_it_could_not_have_written(
    change: dict[str, object], field: str
) -> None:
    state = CellTrigger(DateTrigger(START), times=5).__getstate__() | change
    before = CellTrigger(DateTrigger(START), times=5)
    target = CellTrigger(DateTrigger(START), times=5)
    with pytest.raises(ValueError, match=rf"^state\['{field}'\].* \(CellTrigger\)$"):
        target.__setstate__(state)
    assert target.__getstate__() == before.__getstate__()  # nothing half restored


# --- scheduling cells ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_every_runs_the_cell_and_each_run_replaces_the_last_output(
    notebook: Notebook,
) -> None:
    result = notebook.cell(
        "%%every 30s --id tick\ncount = globals().get('count', 0) + 1\nprint('run', count)"
    )
    assert result.success
    await notebook.settle()
    schedule = await notebook.holder.scheduler.get_schedule("tick")
    assert schedule.next_fire_time == START + timedelta(seconds=30)
    assert notebook.outputs("tick") == ()

    await notebook.advance(30)
    assert notebook.outputs("tick") == (
        {"output_type": "stream", "name": "stdout", "text": "run 1\n"},
    )
    await notebook.advance(30)
    assert notebook.outputs("tick") == (
        {"output_type": "stream", "name": "stdout", "text": "run 2\n"},
    )
    assert notebook.shell.user_ns["count"] == 2
    status = notebook.holder.outputs["tick"].status.value
    assert "<code>tick</code>" in status and "2 runs" in status and "✓ ok" in status


@pytest.mark.anyio
async def test_cells_due_at_once_each_print_into_their_own_output(notebook: Notebook) -> None:
    # three cells due in the same second: each run's output goes to its own cell, never to
    # the first cell registered (a one-line routing bug no test caught before)
    for name in ("first", "second", "third"):
        notebook.cell(f"%%every 10s --id {name}\nprint('from {name}')")
    await notebook.settle()
    await notebook.advance(10)
    await notebook.advance(10)
    for name in ("first", "second", "third"):
        assert notebook.outputs(name) == (
            {"output_type": "stream", "name": "stdout", "text": f"from {name}\n"},
        )


@pytest.mark.anyio
async def test_every_counts_from_a_whole_second_whatever_the_interval(notebook: Notebook) -> None:
    await notebook.clock.advance(0.25)
    notebook.cell("%%every 2s --id neat\nprint(1)")
    notebook.cell("%%every 500ms --id fast\nprint(2)")
    notebook.cell("%%every 300ms --id faster\nprint(3)")
    await notebook.settle()
    neat = await notebook.holder.scheduler.get_schedule("neat")
    assert neat.next_fire_time == START + timedelta(seconds=3)
    # under a second too (was 0.75 s: "fires on whole seconds" did not hold below 1 s)
    fast = await notebook.holder.scheduler.get_schedule("fast")
    assert fast.next_fire_time == START + timedelta(seconds=1)
    faster = await notebook.holder.scheduler.get_schedule("faster")
    assert faster.next_fire_time == START + timedelta(seconds=1)
    await notebook.advance(0.75)  # to START + 1 s: each has run once
    assert (notebook.texts("fast"), notebook.texts("faster")) == ("2\n", "3\n")
    fast = await notebook.holder.scheduler.get_schedule("fast")
    faster = await notebook.holder.scheduler.get_schedule("faster")
    assert fast.next_fire_time == START + timedelta(seconds=1.5)
    assert faster.next_fire_time == START + timedelta(seconds=1.3)


@pytest.mark.anyio
async def test_append_keeps_every_run(notebook: Notebook) -> None:
    notebook.cell("%%every 1m --id log --append\nprint('at', __import__('nbsched').__name__)")
    await notebook.settle()
    for _ in range(3):
        await notebook.advance(60)
    assert notebook.texts("log") == "at nbsched\n" * 3


@pytest.mark.anyio
async def test_displays_rich_reprs_the_last_value_and_stderr_are_routed(
    notebook: Notebook,
) -> None:
    notebook.cell(
        "%%every 10s --id rich\n"
        "import sys\n"
        "from IPython.display import HTML, display\n"
        "display(HTML('<b>bold</b>'))\n"
        "print('oops', file=sys.stderr)\n"
        "{'answer': 42}"
    )
    await notebook.settle()
    await notebook.advance(10)
    html_out, stderr_out, value_out = notebook.outputs("rich")
    assert html_out["output_type"] == "display_data"
    assert html_out["data"]["text/html"] == "<b>bold</b>"
    assert stderr_out == {"output_type": "stream", "name": "stderr", "text": "oops\n"}
    assert value_out["data"]["text/plain"] == "{'answer': 42}"


@pytest.mark.anyio
async def test_output_shows_while_the_run_is_still_going(notebook: Notebook) -> None:
    notebook.cell(
        "%%every 10s --id live\n"
        "print('first line')\n"
        "from nbsched.notebook._state import current\n"
        "seen_during_run = current().outputs['live'].output.outputs\n"
        "print('second line')"
    )
    await notebook.settle()
    await notebook.advance(10)
    assert notebook.shell.user_ns["seen_during_run"] == (stdout("first line\n"),)
    assert notebook.outputs("live") == (stdout("first line\nsecond line\n"),)


@pytest.mark.anyio
async def test_clear_output_inside_a_run(notebook: Notebook) -> None:
    notebook.cell(
        "%%every 10s --id frames --append\n"
        "from IPython.display import clear_output\n"
        "print('frame 1')\n"
        "clear_output(wait=True)\n"
        "print('frame 2')"
    )
    await notebook.settle()
    await notebook.advance(10)
    assert notebook.texts("frames") == "frame 2\n"


@pytest.mark.anyio
async def test_a_failing_run_shows_its_traceback_and_keeps_its_schedule(
    notebook: Notebook,
) -> None:
    notebook.cell("%%every 10s --id flaky\nprint('before')\nraise KeyError('nope')")
    await notebook.settle()
    await notebook.advance(10)
    stream, error = notebook.outputs("flaky")
    assert stream["text"] == "before\n"
    assert error["output_type"] == "error"
    assert (error["ename"], error["evalue"]) == ("KeyError", "'nope'")
    traceback = ANSI.sub("", "\n".join(error["traceback"]))
    assert "raise KeyError('nope')" in traceback
    assert "_cell_task.py" not in traceback
    schedule = await notebook.holder.scheduler.get_schedule("flaky")
    assert not schedule.paused
    stats = notebook.holder.tracker.stats["flaky"]
    assert (stats.runs, stats.failures, stats.last_outcome) == (1, 1, JobOutcome.error)
    await notebook.advance(10)
    assert notebook.holder.tracker.stats["flaky"].runs == 2


@pytest.mark.anyio
async def test_stop_on_error_pauses_the_schedule(notebook: Notebook) -> None:
    notebook.cell("%%every 10s --id fragile --stop-on-error\n1 / 0")
    await notebook.settle()
    await notebook.advance(10)
    assert (await notebook.holder.scheduler.get_schedule("fragile")).paused
    await notebook.advance(60)
    assert notebook.holder.tracker.stats["fragile"].runs == 1
    assert "paused after an error" in notebook.holder.outputs["fragile"].status.value


@pytest.mark.anyio
async def test_rerunning_the_same_cell_replaces_its_schedule(notebook: Notebook) -> None:
    notebook.cell("%%every 10s\nprint('v1')", cell_id="cell-one")
    await notebook.settle()
    (first_id,) = await notebook.schedule_ids()
    first_output = notebook.holder.outputs[first_id]
    notebook.cell("%%every 20s\nprint('v2')", cell_id="cell-one")
    await notebook.settle()
    (schedule_id,) = await notebook.schedule_ids()
    assert schedule_id == first_id
    assert notebook.holder.outputs[schedule_id] is not first_output
    assert first_output.output.comm is None  # the replaced output area was closed
    schedule = await notebook.holder.scheduler.get_schedule(schedule_id)
    assert schedule.kwargs["source"] == "print('v2')\n"
    assert schedule.next_fire_time == START + timedelta(seconds=20)
    # the same cell with a new --id still replaces its own schedule
    notebook.cell("%%every 30s --id named\nprint('v3')", cell_id="cell-one")
    await notebook.settle()
    assert await notebook.schedule_ids() == ["named"]
    # another cell with the same code is another schedule
    notebook.cell("%%every 30s\nprint('v3')", cell_id="cell-two")
    await notebook.settle()
    assert len(await notebook.schedule_ids()) == 2


@pytest.mark.anyio
async def test_without_a_cell_id_the_same_code_is_the_same_schedule(notebook: Notebook) -> None:
    notebook.cell("%%every 10s\nprint('same')")
    notebook.cell("%%every 15s\nprint('same')")
    await notebook.settle()
    (schedule_id,) = await notebook.schedule_ids()
    assert schedule_id.startswith("cell-")
    await notebook.advance(15)
    assert notebook.texts(schedule_id) == "same\n"


@pytest.mark.anyio
async def test_times_limits_the_runs_and_now_runs_at_once(notebook: Notebook) -> None:
    notebook.cell("%%every 10s --id thrice --times 3 --now\nprint('go')")
    await notebook.settle()
    assert notebook.holder.tracker.stats["thrice"].runs == 1  # --now: at once
    await notebook.advance(60)
    assert notebook.holder.tracker.stats["thrice"].runs == 3
    assert await notebook.schedule_ids() == []
    assert "finished" in notebook.holder.outputs["thrice"].status.value


def test_cell_trigger_resume_at_skips_without_counting() -> None:
    inner = IntervalTrigger(seconds=10, start_time=START + timedelta(seconds=10))
    trigger = CellTrigger(inner, times=3)
    assert trigger.next() == START + timedelta(seconds=10)
    pending = trigger.next()  # 09:00:20, counted; then the schedule is paused until 09:01:05
    resumed = trigger.resume_at(pending, START + timedelta(seconds=65))
    assert resumed == START + timedelta(seconds=70)
    assert [trigger.next() for _ in range(3)] == [
        START + timedelta(seconds=70),
        START + timedelta(seconds=80),
        None,
    ]


def test_cell_trigger_resume_at_keeps_a_pending_fire_that_is_still_to_come() -> None:
    trigger = CellTrigger(DateTrigger(START + timedelta(hours=1)), times=1)
    pending = trigger.next()
    assert trigger.resume_at(pending, START) == pending
    assert [trigger.next(), trigger.next()] == [pending, None]


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["magic", "dashboard button", "the scheduler's unpause_schedule"])
async def test_times_counts_runs_not_the_fires_skipped_while_paused(
    notebook: Notebook, how: str
) -> None:
    notebook.cell("%%every 10s --id five --times 5\nprint('run')")
    await notebook.advance(20)  # runs at 09:00:10 and 09:00:20
    _capture_display(notebook, "%sched pause five")
    await notebook.settle()
    await notebook.advance(60)  # six fire times pass while paused
    assert notebook.holder.tracker.stats["five"].runs == 2
    if how == "magic":
        _capture_display(notebook, "%sched resume five")
    elif how == "the scheduler's unpause_schedule":
        await notebook.holder.scheduler.unpause_schedule("five")
    else:
        board = notebook.holder.dashboard()
        await board.settle()
        board.rows["five"].resume_button.click()
        await board.settle()
        board.close()
    await notebook.settle()
    schedule = await notebook.holder.scheduler.get_schedule("five")
    assert (schedule.paused, schedule.next_fire_time) == (False, START + timedelta(seconds=90))
    await notebook.advance(60)
    assert notebook.holder.tracker.stats["five"].runs == 5  # 2 before the pause, 3 after
    assert await notebook.schedule_ids() == []
    assert "finished" in notebook.holder.outputs["five"].status.value


@pytest.mark.anyio
async def test_times_counts_each_fire_that_fell_due_while_the_kernel_was_busy(
    notebook: Notebook,
) -> None:
    notebook.cell("%%every 10s --id busy --times 5\nprint('run')")
    await notebook.advance(10)  # 09:00:10: run 1
    # a cell blocks the kernel for 35 s: the clock moves on while the scheduler cannot look
    notebook.clock._now += timedelta(seconds=35)
    await notebook.advance(0)  # 09:00:45: the fires of :20, :30 and :40 run now, late
    assert notebook.holder.tracker.stats["busy"].runs == 4
    await notebook.advance(30)
    assert notebook.holder.tracker.stats["busy"].runs == 5
    assert await notebook.schedule_ids() == []


@pytest.mark.anyio
async def test_until_ends_the_schedule(notebook: Notebook) -> None:
    # 09:00 UTC is 10:00 in Berlin, the 'local' zone of these tests
    notebook.cell("%%every 10m --id window --until 10:25\nprint('x')")
    await notebook.settle()
    await notebook.advance(3600)
    assert notebook.holder.tracker.stats["window"].runs == 2  # 10:10 and 10:20
    assert await notebook.schedule_ids() == []


@pytest.mark.anyio
async def test_cron_with_a_time_zone(notebook: Notebook) -> None:
    notebook.cell('%%cron "*/5 9-17 * * *" --tz America/New_York --id nyc\nprint("ny")')
    await notebook.settle()
    schedule = await notebook.holder.scheduler.get_schedule("nyc")
    assert isinstance(schedule.trigger, CronTrigger)
    # 09:00 UTC is 04:00 in New York: the first fire is 09:00 there, 14:00 UTC
    assert schedule.next_fire_time == datetime(2026, 1, 1, 14, 0, tzinfo=timezone.utc)
    notebook.cell("%%cron */15 * * * * --id bare\nprint('unquoted works too')")
    await notebook.settle()
    bare = await notebook.holder.scheduler.get_schedule("bare")
    assert bare.next_fire_time == datetime(2026, 1, 1, 9, 15, tzinfo=timezone.utc)


@pytest.mark.anyio
async def test_at_a_time_of_day_and_a_date(notebook: Notebook) -> None:
    notebook.cell("%%at 18:00 --id evening\nprint('evening')")
    notebook.cell('%%at "2026-12-01 18:00" --id december\nprint("december")')
    await notebook.settle()
    evening = await notebook.holder.scheduler.get_schedule("evening")
    assert evening.next_fire_time == datetime(2026, 1, 1, 18, 0, tzinfo=BERLIN)
    december = await notebook.holder.scheduler.get_schedule("december")
    assert december.next_fire_time == datetime(2026, 12, 1, 18, 0, tzinfo=BERLIN)
    await notebook.clock.set(datetime(2026, 1, 1, 18, 0, tzinfo=BERLIN))
    await notebook.settle()
    assert notebook.texts("evening") == "evening\n"
    assert await notebook.schedule_ids() == ["december"]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%every 3x\nprint(1)", "UsageError: interval: '3x' is not a duration"),
        ("%%every\nprint(1)", "UsageError: the following arguments are required: interval"),
        ("%%every 5s --times zero\nprint(1)", "UsageError: argument --times: invalid int value"),
        ("%%every 5s --times 0\nprint(1)", "UsageError: --times: must be at least 1, got 0"),
        ("%%every 5s --bogus\nprint(1)", "UsageError: unrecognized arguments: --bogus"),
        ("%%every 5s --until yesterday\nprint(1)", "UsageError: --until: 'yesterday' is not"),
        ("%%every 5s --until 2020-01-01\nprint(1)", "UsageError: --until: 2020-01-01T00:00:00"),
        ("%%every 5s\n   \n", "UsageError: %%every: the cell is empty"),
        ("%%every 5s\nif True print(1)", "UsageError: syntax error in the cell, line 1"),
        ("%%every 5s\nawait x", "UsageError: a scheduled cell cannot use top-level await"),
        ('%%cron "61 * * * *"\nprint(1)', "UsageError: "),
        ('%%cron "* * * * *" --tz Mars/Base\nprint(1)', "UsageError: --tz: unknown time zone"),
        ("%%at 2020-01-01 10:00\nprint(1)", "UsageError: when: 2020-01-01T10:00:00+01:00 has"),
        ("%%at 18:00 --until 19:00\nprint(1)", "UsageError: --until: %%at runs once"),
        ("%%at 25:00\nprint(1)", "UsageError: when: '25:00' is not a time of day"),
        ("%%every 5s --id ''\nprint(1)", "UsageError: --id: '' must be a non-empty name"),
        ("%sched frobnicate", "UsageError: %sched: unknown command 'frobnicate'"),
        ("%sched pause", "UsageError: %sched pause takes one schedule id"),
        ("%sched list extra", "UsageError: %sched list takes no arguments"),
    ],
)
@pytest.mark.anyio
async def test_bad_arguments_give_one_line_and_schedule_nothing(
    notebook: Notebook, capsys: pytest.CaptureFixture[str], cell: str, message: str
) -> None:
    result = notebook.cell(cell)
    await notebook.settle()
    captured = capsys.readouterr()
    assert not result.success
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(message)
    assert "Traceback" not in captured.out + captured.err
    assert await notebook.schedule_ids() == []


@pytest.mark.anyio
async def test_magics_before_load_ext_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from nbsched.notebook._magics import SchedMagics

    shell = InteractiveShell.instance()
    shell.register_magics(SchedMagics)
    try:
        result = shell.run_cell("%%every 5s\nprint(1)", store_history=False)
    finally:
        for kind, name in (("cell", "every"), ("cell", "cron"), ("cell", "at"), ("line", "sched")):
            shell.magics_manager.magics[kind].pop(name, None)
    assert not result.success
    assert capsys.readouterr().err.strip() == (
        "UsageError: nbsched is not loaded: run %load_ext nbsched first"
    )


# --- %sched line commands -----------------------------------------------------------------------


def _answer(notebook: Notebook) -> str:
    return notebook.shell.user_ns["_answer"].value


@pytest.mark.anyio
async def test_sched_pause_resume_run_remove(notebook: Notebook) -> None:
    notebook.cell("%%every 10s --id job\nprint('job ran')")
    await notebook.settle()

    notebook.cell("_answer = None")
    notebook.holder.shell.user_ns["_answer"] = _capture_display(notebook, "%sched pause job")
    await notebook.settle()
    assert _answer(notebook) == "paused &#x27;job&#x27;"
    await notebook.advance(55)
    assert notebook.holder.tracker.stats["job"].runs == 0  # none while paused

    notebook.holder.shell.user_ns["_answer"] = _capture_display(notebook, "%sched run job")
    await notebook.settle()
    assert _answer(notebook) == "started &#x27;job&#x27;"
    assert notebook.holder.tracker.stats["job"].runs == 1
    assert notebook.texts("job") == "job ran\n"

    notebook.holder.shell.user_ns["_answer"] = _capture_display(notebook, "%sched resume job")
    await notebook.settle()
    assert notebook.holder.tracker.stats["job"].runs == 1
    await notebook.advance(10)  # 09:01:05; the next fire after resuming at 09:00:55 is 09:01:00
    assert notebook.holder.tracker.stats["job"].runs == 2

    notebook.holder.shell.user_ns["_answer"] = _capture_display(notebook, "%sched remove job")
    await notebook.settle()
    assert _answer(notebook) == "removed &#x27;job&#x27;"
    assert await notebook.schedule_ids() == []
    assert "removed" in notebook.holder.outputs["job"].status.value


@pytest.mark.anyio
async def test_sched_on_an_unknown_id_answers_with_one_line(notebook: Notebook) -> None:
    answer = _capture_display(notebook, "%sched pause ghost")
    await notebook.settle()
    assert answer.value == (
        "<span style='color:#c62828'>could not pause &#x27;ghost&#x27;: ScheduleLookupError: "
        "no schedule with id &#x27;ghost&#x27;</span>"
    )


@pytest.mark.anyio
async def test_sched_list(notebook: Notebook) -> None:
    notebook.cell("%%every 10s --id alpha\nprint(1)")
    notebook.cell("%%cron '0 12 * * *' --id beta\nprint(2)")
    answer = _capture_display(notebook, "%sched list")
    await notebook.settle()
    assert "<td>alpha</td>" in answer.value and "<td>beta</td>" in answer.value
    assert answer.value.index("alpha") < answer.value.index("beta")
    assert "10:00:10" in answer.value  # alpha's next fire, local (Berlin) time


@pytest.mark.anyio
async def test_sched_shows_a_dashboard_log_and_timeline(notebook: Notebook) -> None:
    from nbsched.widgets import Dashboard, EventLog, Timeline

    notebook.cell("%%every 10s --id shown\nprint(1)")
    await notebook.settle()
    board = _capture_display(notebook, "%sched")
    log = _capture_display(notebook, "%sched log")
    chart = _capture_display(notebook, "%sched timeline")
    await notebook.settle()
    await board.settle()
    assert isinstance(board, Dashboard) and isinstance(log, EventLog)
    assert isinstance(chart, Timeline)
    assert list(board.rows) == ["shown"]
    await notebook.advance(10)
    await board.settle()
    assert board.rows["shown"].text()["runs"] == "1"
    assert any(type(e).__name__ == "JobReleased" for e in log.events)
    board.close()
    log.close()


@pytest.mark.anyio
async def test_sched_store_moves_to_a_file_and_load_ext_restores_it(
    notebook: Notebook, tmp_path: Path
) -> None:
    notebook.cell("%%every 10s --id kept --append\nprint('kept ran')")
    await notebook.settle()
    box = _capture_display(notebook, "%sched store schedules.db")
    await notebook.settle()
    answer = box.children[0]
    assert answer.value == f"store: {tmp_path / 'schedules.db'}"
    assert recorded_store() == str(tmp_path / "schedules.db")
    assert notebook.holder.store_path == str(tmp_path / "schedules.db")
    assert await notebook.schedule_ids() == ["kept"]
    await notebook.advance(10)
    assert notebook.texts("kept") == "kept ran\n"

    # a new kernel: unload, forget everything, load again; the file's schedule comes back
    from nbsched.notebook import load, unload_ipython_extension

    unload_ipython_extension(notebook.shell)
    await notebook.holder.scheduler.wait_until_stopped()
    holder = load(notebook.shell, clock=notebook.clock)
    notebook.holder = holder
    await notebook.settle()
    assert holder.store_path == str(tmp_path / "schedules.db")
    assert list(holder.outputs) == ["kept"]
    await notebook.advance(10)
    assert notebook.texts("kept") == "kept ran\n"
    assert "<code>kept</code>" in holder.outputs["kept"].status.value

    box = _capture_display(notebook, "%sched store memory")
    await notebook.settle()
    assert box.children[0].value == "store: memory"
    assert recorded_store() is None
    assert not (tmp_path / ".nbsched-store.json").exists()
    assert await notebook.schedule_ids() == ["kept"]


@pytest.mark.anyio
async def test_a_store_that_cannot_be_used_leaves_the_schedules_where_they_were(
    notebook: Notebook, tmp_path: Path
) -> None:
    notebook.cell("%%every 10s --id stays\nprint('still here')")
    await notebook.settle()
    box = _capture_display(notebook, f"%sched store {tmp_path / 'missing-dir' / 'x.db'}")
    await notebook.settle()
    assert box.children[0].value.startswith(
        "<span style='color:#c62828'>could not switch the store: the scheduler stopped: "
        "DataStoreError: SQLite data store"
    )
    assert "does not exist; create it first" in box.children[0].value
    assert notebook.holder.store_path is None
    assert recorded_store() is None
    await notebook.advance(10)
    assert notebook.texts("stays") == "still here\n"


@pytest.mark.anyio
async def test_load_ext_says_when_the_recorded_store_is_unusable(
    notebook: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbsched.notebook import load, unload_ipython_extension

    unload_ipython_extension(notebook.shell)
    await notebook.holder.scheduler.wait_until_stopped()
    (tmp_path / "broken.db").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("NBSCHED_STORE", str(tmp_path / "broken.db"))
    shown: list[object] = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    notebook.holder = load(notebook.shell, clock=notebook.clock)
    await notebook.settle()
    (box,) = shown
    note = box.children[0].value  # type: ignore[attr-defined]
    assert note.startswith("<span style='color:#c62828'>nbsched: could not start the scheduler:")
    assert "the file is not an SQLite database" in note


@pytest.mark.anyio
async def test_unload_stops_the_scheduler_and_removes_the_magics(notebook: Notebook) -> None:
    from nbsched import RunState
    from nbsched.notebook import unload_ipython_extension
    from nbsched.notebook._state import current

    unload_ipython_extension(notebook.shell)
    await notebook.holder.scheduler.wait_until_stopped()
    assert notebook.holder.scheduler.state is RunState.stopped
    assert current() is None
    assert "every" not in notebook.shell.magics_manager.magics["cell"]
    assert "sched" not in notebook.shell.magics_manager.magics["line"]


@pytest.mark.anyio
async def test_kernel_shutdown_stops_the_scheduler(notebook: Notebook) -> None:
    from nbsched import RunState

    notebook.shell.exit_now = True
    try:
        await notebook.holder.scheduler.wait_until_stopped()
        assert notebook.holder.scheduler.state is RunState.stopped
    finally:
        notebook.shell.exit_now = False


@pytest.mark.anyio
async def test_get_scheduler_gives_the_kernels_scheduler(notebook: Notebook) -> None:
    from nbsched.notebook import get_scheduler, unload_ipython_extension

    scheduler = get_scheduler()
    assert scheduler is notebook.holder.scheduler
    unload_ipython_extension(notebook.shell)
    await scheduler.wait_until_stopped()
    with pytest.raises(RuntimeError, match="run %load_ext nbsched first"):
        get_scheduler()


@pytest.mark.anyio
async def test_load_ext_uses_the_running_loop(notebook: Notebook) -> None:
    import asyncio

    host = notebook.holder.scheduler._host_task
    assert host is not None and not host.done()
    assert host.get_loop() is asyncio.get_running_loop()


def test_load_ext_outside_a_kernel_says_so_in_one_line() -> None:
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    from nbsched.notebook import load
    from nbsched.notebook._state import current

    with pytest.raises(UsageError, match="need a Jupyter kernel"):
        load(InteractiveShell.instance())
    assert current() is None


def test_the_store_choice_is_kept_per_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBSCHED_STORE", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/a.ipynb")
    assert recorded_store(tmp_path) is None
    record_store("/data/a.db", tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/b.ipynb")
    assert recorded_store(tmp_path) is None
    record_store("/data/b.db", tmp_path)
    assert recorded_store(tmp_path) == "/data/b.db"
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/a.ipynb")
    assert recorded_store(tmp_path) == "/data/a.db"
    monkeypatch.setenv("NBSCHED_STORE", "/elsewhere.db")
    assert recorded_store(tmp_path) == "/elsewhere.db"
    monkeypatch.delenv("NBSCHED_STORE")
    record_store(None, tmp_path)
    assert recorded_store(tmp_path) is None
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/b.ipynb")
    assert recorded_store(tmp_path) == "/data/b.db"
    (tmp_path / ".nbsched-store.json").write_text("{not json")
    assert recorded_store(tmp_path) is None  # a damaged file means memory, not a crash
