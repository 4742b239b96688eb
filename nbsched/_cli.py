"""The ``nbsched`` command line.

``nbsched check FILE`` looks an SQLite store over without changing it (SQLite's integrity
check plus every row decoded) and exits 0 when clean, 1 when it found problems, 2 when it
could not check the file.

``nbsched preview EXPR`` shows when a trigger would fire. Expressions:

* a crontab line: ``"0 9 * * mon-fri"``, ``"*/5 * * * *"``, ``"@daily"``;
* an interval: ``"every 90m"``, ``"every 1h30m"``, ``"every 10 seconds"``, ``"every day"``
  (units: s, m, h, d, w and their English names), starting at the next whole minute;
* a single time: ``"at 2026-12-01 18:00"`` (read in ``--tz``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from importlib import import_module
from typing import TextIO

from ._converters import as_timezone
from .abc import Trigger

__all__ = ["build_trigger", "main", "parse_interval"]

_UNITS = {
    "weeks": ("w", "wk", "wks", "week", "weeks"),
    "days": ("d", "day", "days"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "seconds": ("s", "sec", "secs", "second", "seconds"),
}
_UNIT_OF = {alias: unit for unit, aliases in _UNITS.items() for alias in aliases}
_PART = re.compile(r"(\d+(?:\.\d+)?)?\s*([a-z]+)")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_interval(text: str) -> dict[str, float]:
    """``"1h30m"`` -> ``{"hours": 1, "minutes": 30}``; ``"hour"`` -> ``{"hours": 1}``."""
    compact = text.strip().lower().replace(",", " ").replace(" and ", " ")
    parts: dict[str, float] = {}
    position = 0
    while position < len(compact):
        if compact[position].isspace():
            position += 1
            continue
        match = _PART.match(compact, position)
        unit = _UNIT_OF.get(match.group(2)) if match else None
        if match is None or unit is None or unit in parts:
            raise ValueError(
                f"expr: cannot read the interval {text!r} (write it like 'every 30m', "
                f"'every 1h30m' or 'every 2 days')"
            )
        number = match.group(1)
        parts[unit] = float(number) if number and "." in number else int(number or 1)
        position = match.end()
    if not parts:
        raise ValueError(f"expr: the interval after 'every' is empty in {text!r}")
    return parts


def build_trigger(expr: str, tz: tzinfo, start: datetime | None = None) -> Trigger:
    """Turn a command-line expression into a trigger (see the module docstring).

    ``start`` (aware) is where the preview begins; by default now, and for an interval the
    next whole minute.
    """
    from .triggers import CronTrigger, DateTrigger, IntervalTrigger

    text = expr.strip()
    lowered = text.lower()
    if lowered.startswith("every "):
        if start is None:
            now = datetime.now(tz)
            start = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
        interval = parse_interval(text[6:])
        return IntervalTrigger(**interval, start_time=start.astimezone(tz))  # type: ignore[arg-type]
    if lowered.startswith("at "):
        when = text[3:].strip()
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            raise ValueError(
                f"expr: {when!r} is not a date and time such as '2026-12-01 18:00'"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        return DateTrigger(moment)
    return CronTrigger.from_crontab(text, timezone=tz, start_time=start)


def _amount(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}min" if minutes else "")


def _offset(value: datetime) -> str:
    offset = value.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds()) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def preview_lines(trigger: Trigger, count: int) -> list[str]:
    """The readable description, then one line per fire time, DST change days marked."""
    from .triggers._dst import offset_change_on

    lines = [str(trigger), ""]
    fire_times = []
    for _ in range(count):
        fire_time = trigger.next()
        if fire_time is None:
            break
        fire_times.append(fire_time)
    if not fire_times:
        lines.append("no fire times: the trigger is exhausted")
        return lines
    lines.append(f"next {len(fire_times)} fire time{'s' if len(fire_times) != 1 else ''}:")
    for fire_time in fire_times:
        clock = fire_time.strftime("%H:%M" + (":%S" if fire_time.second else ""))
        line = (
            f"  {fire_time.isoformat()}  {_WEEKDAYS[fire_time.weekday()]}  {clock}  "
            f"{_offset(fire_time)}"
        )
        change = offset_change_on(fire_time.date(), fire_time.tzinfo) if fire_time.tzinfo else None
        if change:
            direction = "forward" if change > timedelta(0) else "back"
            line += f"  <- DST change: clocks go {direction} {_amount(change)}"
        lines.append(line)
    if len(fire_times) < count:
        lines.append("no more fire times: the trigger is exhausted")
    return lines


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbsched", description="nbsched: a scheduler for people who work in Jupyter."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    preview = commands.add_parser(
        "preview",
        help="show the next fire times of a cron line, interval or date",
        description="Describe a trigger and list its next fire times, marking DST change days.",
        epilog='examples: nbsched preview "0 9 * * mon-fri" --tz Europe/Berlin -n 10;  '
        'nbsched preview "every 90m";  nbsched preview "at 2026-12-01 18:00"',
    )
    preview.add_argument(
        "expr", help="crontab line ('0 9 * * mon-fri'), 'every 30m' or 'at 2026-12-01 18:00'"
    )
    preview.add_argument(
        "--tz", default=None, help="IANA time zone (default: the machine's local zone)"
    )
    preview.add_argument(
        "-n", type=_positive, default=10, help="how many fire times to show (default 10)"
    )
    preview.add_argument(
        "--start",
        default=None,
        help="preview from this ISO date/time instead of now (read in --tz if it has no offset)",
    )
    check = commands.add_parser(
        "check",
        help="check an SQLite store file (integrity and every row), without changing it",
        description="Run SQLite's integrity check on an nbsched SQLite store and decode every "
        "task, schedule, job and job result; name each bad row and why. The file is opened "
        "read-only. Exit status: 0 clean, 1 problems found, 2 the file could not be checked.",
        epilog="example: nbsched check schedules.db --import mypackage.triggers",
    )
    check.add_argument("file", help="the SQLite store file")
    check.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first: where your own trigger classes are defined (nbsched never "
        "imports a module a stored row names); may be repeated",
    )
    return parser


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .datastores._sqlite_check import CannotCheck, check_sqlite_store

    for module in args.imports:
        try:
            import_module(module)
        except Exception as exc:
            print(f"nbsched: error: --import {module}: {type(exc).__name__}: {exc}", file=err)
            return 2
    try:
        report = check_sqlite_store(args.file)
    except (CannotCheck, ValueError, TypeError) as exc:
        print(f"nbsched: error: {exc}", file=err)
        return 2
    print("\n".join(report.lines()), file=out)
    return 0 if report.clean else 1


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; return the exit status (0 ok, 1 ``check`` found problems,
    2 bad input)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args, out, err)
    try:
        tz = as_timezone(args.tz, argument="--tz")
        start = None
        if args.start is not None:
            try:
                start = datetime.fromisoformat(args.start)
            except ValueError:
                raise ValueError(f"--start: {args.start!r} is not an ISO 8601 date/time") from None
            if start.tzinfo is None:
                start = start.replace(tzinfo=tz)
        trigger = build_trigger(args.expr, tz, start)
        lines = preview_lines(trigger, args.n)
    except (ValueError, TypeError) as exc:
        print(f"nbsched: error: {exc}", file=err)
        return 2
    print("\n".join(lines), file=out)
    return 0
