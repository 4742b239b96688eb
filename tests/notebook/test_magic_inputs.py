"""Hostile input to the scheduling magics: every bad argument is one ``UsageError`` line that
names the argument and the value, never a traceback, and nothing gets scheduled."""

from __future__ import annotations

import random
import string
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from notebook_helpers import START, Notebook

from nbsched.notebook._durations import MIN_CELL_INTERVAL, parse_duration
from nbsched.notebook._when import parse_when

QUOTES = "\"'"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%every 99999999999999999999", "UsageError: interval: '99999999999999999999' is"),
        ("%%every 1e308", "UsageError: interval: '1e308' is"),
        ("%%every 3000000d", "UsageError: interval: '3000000d' is too long"),
        ("%%every 9999999w", "UsageError: interval: '9999999w' is too long"),
        (
            "%%every 1s --until 9999-12-31T23:59:59-14:00",
            "UsageError: --until: '9999-12-31T23:59:59-14:00' is out of range",
        ),
        (
            "%%every 1s --until '0001-01-01 00:00'",
            "UsageError: --until: '0001-01-01 00:00' is out of range",
        ),
        ("%%at '0001-01-01 00:00' --now", "UsageError: when: '0001-01-01 00:00' is out of range"),
        ("%%at 9999-12-31T23:59:59-14:00", "UsageError: when: '9999-12-31T23:59:59-14:00' is"),
        ('%%every 1s "', "UsageError: %%every: No closing quotation in '1s \"'"),
        ("%%cron '* * * * *", "UsageError: %%cron: No closing quotation in"),
        ("%%every 1ms", "UsageError: interval: '1ms' is shorter than 100 ms"),
        ("%%every 0.05", "UsageError: interval: '0.05' is shorter than 100 ms"),
        ("%%every 99ms", "UsageError: interval: '99ms' is shorter than 100 ms"),
        ("%%cron '* * * * *' --tz ''", "UsageError: --tz: unknown time zone ''"),
        ("%%at 18:00 --tz ''", "UsageError: --tz: unknown time zone ''"),
        ("%%every 1s --id '\x00'", "UsageError: --id: '\\x00' must be"),
        ("%%every 1s --id 'a\x07b'", "UsageError: --id: 'a\\x07b' must be"),
        ("%%every 1s --id " + "x" * 201, "UsageError: --id: 'xxxxxxxx"),
        ('%%cron "61 * * * *"', "UsageError: expression: the minute field '61'"),
        ('%%cron "* * *"', "UsageError: expression: '* * *' has 3 fields"),
        ("%%cron @fortnightly", "UsageError: expression: '@fortnightly' is not a known"),
    ],
)
@pytest.mark.anyio
async def test_hostile_arguments_give_one_usage_line_naming_them(
    notebook: Notebook, capsys: pytest.CaptureFixture[str], cell: str, message: str
) -> None:
    result = notebook.cell(cell + "\nprint('ran')")
    await notebook.settle()
    captured = capsys.readouterr()
    assert not result.success
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(message), lines[0]
    assert "Traceback" not in captured.out + captured.err
    assert await notebook.schedule_ids() == []


@pytest.mark.anyio
async def test_the_shortest_cell_interval_is_accepted(notebook: Notebook) -> None:
    assert timedelta(milliseconds=100) == MIN_CELL_INTERVAL
    notebook.cell("%%every 100ms --id quick --times 2\nprint('quick')")
    await notebook.settle()
    await notebook.advance(1)  # the first run: on the next whole second
    await notebook.advance(0.1)
    assert notebook.texts("quick") == "quick\n"
    assert await notebook.schedule_ids() == []  # two runs, then finished


@pytest.mark.anyio
async def test_a_far_but_representable_until_is_accepted(notebook: Notebook) -> None:
    notebook.cell("%%every 1s --id far --until 9999-12-31T23:59:59+14:00\nprint(1)")
    await notebook.settle()
    assert await notebook.schedule_ids() == ["far"]


# --- the parsers on arbitrary text ---------------------------------------------------------------

_DURATION_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=string.digits + ".e+-smhdwSMHDW \"'", max_size=30),
    st.integers(min_value=0, max_value=10**40).map(lambda n: f"{n}{'smhdw'[n % 5]}"),
)


@settings(max_examples=400, deadline=None)
@given(_DURATION_TEXT)
def test_parse_duration_returns_a_positive_timedelta_or_a_value_error_naming_it(
    text: str,
) -> None:
    try:
        value = parse_duration(text, argument="interval")
    except ValueError as exc:
        assert str(exc).startswith(f"interval: {text.strip().strip(QUOTES).strip()!r} ")
    else:
        assert value > timedelta(0)


@pytest.mark.parametrize("text", ["1E-10", "0.0000001", "0.0000004s"])
def test_a_duration_shorter_than_a_microsecond_is_refused(text: str) -> None:
    # timedelta rounds these to zero: found by the hypothesis test above
    with pytest.raises(ValueError, match=r"^interval: .* must be a positive duration"):
        parse_duration(text, argument="interval")


_WHEN_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.digits + "-:T+ .Z'\"", max_size=32),
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
    ).flatmap(
        lambda moment: st.sampled_from(["", "+14:00", "-14:00", "Z", "+00:00"]).map(
            lambda offset: moment.isoformat() + offset
        )
    ),
)


@settings(max_examples=400, deadline=None)
@given(_WHEN_TEXT, st.sampled_from(["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Europe/Berlin"]))
def test_parse_when_returns_a_comparable_time_or_a_value_error_naming_it(
    text: str, zone: str
) -> None:
    from zoneinfo import ZoneInfo

    try:
        value = parse_when(text, now=START, tz=ZoneInfo(zone), argument="--until")
    except ValueError as exc:
        assert str(exc).startswith(f"--until: {text.strip().strip(QUOTES).strip()!r} ")
    else:
        assert value.tzinfo is not None
        value <= START  # noqa: B015 (comparing must not raise: it needs a UTC conversion)


_PIECES = [
    "1s",
    "0",
    "-1",
    "1e400",
    "99999999999999999999",
    "3000000d",
    "100ms",
    "1ms",
    "'",
    '"',
    "--id",
    "--times",
    "--until",
    "--tz",
    "--now",
    "--append",
    "''",
    "\x00",
    "\t",
    "18:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01",
    "Mars/Base",
    "UTC",
    "*",
    "*/0",
    "61",
    "@daily",
    "nan",
    "inf",
    "1.5h",
    "2d",
    "--",
    "-",
    "\\",
    "é",
    "🙂",
]


@pytest.mark.parametrize("magic", ["every", "cron", "at"])
@pytest.mark.anyio
async def test_random_argument_lines_give_a_schedule_or_one_usage_error(
    notebook: Notebook, magic: str
) -> None:
    from IPython.core.error import UsageError

    chooser = random.Random(f"nbsched-{magic}")  # the same 150 lines on every run
    for _ in range(150):
        line = " ".join(chooser.choice(_PIECES) for _ in range(chooser.randint(0, 6)))
        result = notebook.cell(f"%%{magic} {line}\npass")
        error = result.error_in_exec or result.error_before_exec
        assert error is None or isinstance(error, UsageError), (line, error)
        if error is not None:
            assert "\n" not in str(error), (line, str(error))
    await notebook.settle()
