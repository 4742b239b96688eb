"""``nbsched preview``: in-process for the details, in a subprocess for the real command."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nbsched._cli import main, parse_interval
from nbsched.triggers import CronTrigger, IntervalTrigger

LINE = re.compile(
    r"  (?P<iso>\S+)  (?P<weekday>Mon|Tue|Wed|Thu|Fri|Sat|Sun)  (?P<clock>\d\d:\d\d(:\d\d)?)  "
    r"(?P<offset>UTC[+-]\d\d:\d\d)(?P<mark>  <- DST change: clocks go (forward|back) \S+)?"
)


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def fire_lines(output: str) -> list[re.Match[str]]:
    matches = [LINE.fullmatch(line) for line in output.splitlines() if line.startswith("  ")]
    assert all(matches), output
    return matches  # type: ignore[return-value]


def test_cron_preview_lists_description_and_fire_times() -> None:
    status, out, err = run(
        "preview", "0 9 * * mon-fri", "--tz", "Europe/Berlin", "-n", "10", "--start", "2026-03-25"
    )
    assert (status, err) == (0, "")
    expected = CronTrigger.from_crontab(
        "0 9 * * mon-fri",
        timezone="Europe/Berlin",
        start_time=datetime(2026, 3, 25, tzinfo=ZoneInfo("Europe/Berlin")),
    )
    assert out.splitlines()[0] == str(expected)
    lines = fire_lines(out)
    assert [m["iso"] for m in lines] == [expected.next().isoformat() for _ in range(10)]  # type: ignore[union-attr]
    for match in lines:
        moment = datetime.fromisoformat(match["iso"])
        assert match["weekday"] == moment.strftime("%a") and match["weekday"] not in ("Sat", "Sun")
        assert match["clock"] == "09:00"
        assert (
            match["offset"] == "UTC" + moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
        )
    # 2026-03-29 (spring forward) is a Sunday: no fire that day, so nothing is marked.
    assert not any(m["mark"] for m in lines)


@pytest.mark.parametrize(
    ("args", "day", "mark"),
    [
        (("30 2 * * *", "--tz", "Europe/Berlin", "--start", "2026-03-27"), "2026-03-29",
         "clocks go forward 1h"),
        (("0 12 * * *", "--tz", "America/New_York", "--start", "2026-10-30"), "2026-11-01",
         "clocks go back 1h"),
        (("every 90m", "--tz", "Australia/Lord_Howe", "--start", "2026-10-03T20:00"),
         "2026-10-04", "clocks go forward 30min"),
    ],
)  # fmt: skip
def test_dst_change_days_are_marked(args: tuple[str, ...], day: str, mark: str) -> None:
    status, out, _ = run("preview", *args, "-n", "30")
    assert status == 0
    lines = fire_lines(out)
    marked = {m["iso"][:10] for m in lines if m["mark"]}
    assert marked == {day}
    assert all(m["mark"].endswith(mark) for m in lines if m["mark"])


def test_interval_shorthand() -> None:
    status, out, _ = run(
        "preview", "every 1h30m", "--tz", "Europe/Berlin", "--start", "2026-01-01T09:00", "-n", "3"
    )
    assert status == 0
    trigger = IntervalTrigger(
        hours=1, minutes=30, start_time=datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    )
    assert out.splitlines()[0] == str(trigger)
    assert [m["iso"] for m in fire_lines(out)] == [trigger.next().isoformat() for _ in range(3)]  # type: ignore[union-attr]


def test_interval_starts_at_the_next_whole_minute_by_default() -> None:
    status, out, _ = run("preview", "every 10s", "--tz", "UTC", "-n", "2")
    first = datetime.fromisoformat(fire_lines(out)[0]["iso"])
    assert status == 0 and first.second == 0
    assert 0 < (first - datetime.now(ZoneInfo("UTC"))).total_seconds() <= 61


def test_single_time_and_exhaustion() -> None:
    status, out, _ = run("preview", "at 2026-12-01 18:00", "--tz", "Europe/Berlin", "-n", "3")
    assert status == 0
    assert out.splitlines()[0] == "once at 2026-12-01 18:00 (Europe/Berlin)"
    assert [m["iso"] for m in fire_lines(out)] == ["2026-12-01T18:00:00+01:00"]
    assert out.splitlines()[-1] == "no more fire times: the trigger is exhausted"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", {"minutes": 30}),
        ("90m", {"minutes": 90}),
        ("1h30m", {"hours": 1, "minutes": 30}),
        ("1h 30 min", {"hours": 1, "minutes": 30}),
        ("hour", {"hours": 1}),
        ("2 days", {"days": 2}),
        ("1.5h", {"hours": 1.5}),
        ("1 week, 2 days and 3 hours", {"weeks": 1, "days": 2, "hours": 3}),
    ],
)
def test_parse_interval(text: str, expected: dict) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["", "5 parsecs", "1h1h", "h30"])
def test_parse_interval_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="expr: "):
        parse_interval(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("0 9 * *",), "nbsched: error: expr: '0 9 * *' has 4 fields"),
        (("0 25 * * *",), "nbsched: error: "),
        (("every 5 parsecs",), "nbsched: error: expr: cannot read the interval '5 parsecs'"),
        (("every 0m",), "nbsched: error: IntervalTrigger: the interval must be positive"),
        (("0 9 * * *", "--tz", "Mars/Base"), "nbsched: error: --tz: unknown time zone"),
        (("0 9 * * *", "--start", "soon"), "nbsched: error: --start: 'soon' is not an ISO 8601"),
        (("at tomorrow",), "nbsched: error: expr: 'tomorrow' is not a date and time"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_status_2(
    args: tuple[str, ...], message: str
) -> None:
    status, out, err = run("preview", *args)
    assert (status, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1, err


def _command(*args: str, console_script: bool = False) -> subprocess.CompletedProcess[str]:
    if console_script:
        command = [str(Path(sys.executable).with_name("nbsched")), *args]
    else:
        command = [sys.executable, "-m", "nbsched", *args]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.slow
@pytest.mark.parametrize("console_script", [False, True])
def test_real_command(console_script: bool) -> None:
    result = _command(
        "preview", "0 9 * * mon-fri", "--tz", "Europe/Berlin", "-n", "10",
        console_script=console_script,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[0] == str(
        CronTrigger.from_crontab("0 9 * * mon-fri", timezone="Europe/Berlin")
    )
    assert len(fire_lines(result.stdout)) == 10


@pytest.mark.slow
def test_real_command_bad_expression_has_no_traceback() -> None:
    result = _command("preview", "*/0 * * * *", "--tz", "UTC")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("nbsched: error: ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_real_command_bad_count_is_a_usage_error() -> None:
    result = _command("preview", "0 9 * * *", "-n", "0")
    assert result.returncode == 2
    assert "-n: must be at least 1, got 0" in result.stderr and "Traceback" not in result.stderr
