"""``%%every``, ``%%cron``, ``%%at`` and ``%sched``."""

from __future__ import annotations

import html
import shlex
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar

import ipywidgets as widgets
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from .._converters import as_timezone
from .._localzone import get_local_timezone
from ..abc import Trigger
from ._cell_spec import CellSpec, cell_identity, default_schedule_id
from ._cell_task import TASK_ID, UntrustedCellError, compile_cell
from ._cell_trigger import CellTrigger
from ._cell_trust import describe_html, is_trusted
from ._current import current
from ._durations import MIN_CELL_INTERVAL, parse_duration
from ._kept_runs import KEEP_RUNS
from ._state import NotebookScheduler
from ._when import parse_when

__all__ = ["SchedMagics"]

_T = TypeVar("_T")

_SCHED_USAGE = (
    "usage: %sched [list | show ID | pause ID | resume ID | run ID | remove ID | log | timeline | "
    "store [PATH | postgresql://... | memory]]"
)


def _schedule_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every scheduling cell magic takes."""
    options = [
        argument("--id", dest="schedule_id", help="schedule id (default: from the cell's id)"),
        argument("--times", type=int, help="run this many times in all, then stop"),
        argument("--until", help="no runs after this time (18:00 or '2026-12-01 18:00')"),
        argument("--now", action="store_true", help="also run once right away"),
        argument("--append", action="store_true", help="keep the last runs' output"),
        argument("--keep", type=int, help=f"with --append: runs kept (default {KEEP_RUNS})"),
        argument(
            "--stop-on-error", action="store_true", help="pause the schedule when a run raises"
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@magics_class
class SchedMagics(Magics):
    """Turn cells into schedules and manage them."""

    # --- scheduling cells ---------------------------------------------------------------------

    @magic_arguments()
    @argument("interval", nargs="+", help="30s, 5m, 1h30m, 2d, 1.5h")
    @_schedule_options
    @cell_magic
    def every(self, line: str, cell: str) -> None:
        """Run this cell every INTERVAL; each run's output replaces the last one here.

        Example: ``%%every 30s --times 10``
        """
        args = _parsed(self.every, line)
        holder, now, tz = self._context()
        from ..triggers.interval import IntervalTrigger

        text = " ".join(args.interval)
        interval = _user(lambda: parse_duration(text, argument="interval"))
        if interval < MIN_CELL_INTERVAL:
            raise UsageError(
                f"interval: {text!r} is shorter than 100 ms, the shortest interval of a cell "
                f"(it runs on the kernel's thread); schedule a function for faster work"
            )
        until = self._until(args, now, tz)
        try:
            start = now + interval
        except OverflowError:
            raise UsageError(
                f"interval: {text!r} is too long: the first run would be after the year 9999"
            ) from None
        if start.microsecond:
            # count from a whole second (at most a second later), whatever the interval:
            # readable times everywhere, and one rule to explain
            start = start.replace(microsecond=0) + timedelta(seconds=1)
        trigger: Trigger = _user(
            lambda: IntervalTrigger(
                seconds=interval.total_seconds(), start_time=start, end_time=until
            )
        )
        self._schedule(holder, "every", line, cell, args, trigger, now)

    @magic_arguments()
    @argument("expression", nargs="+", help='a crontab line, e.g. "*/5 * * * *"')
    @argument("--tz", help="time zone of the crontab line (default: the local zone)")
    @_schedule_options
    @cell_magic
    def cron(self, line: str, cell: str) -> None:
        """Run this cell whenever the crontab EXPRESSION matches.

        Example: ``%%cron "*/5 9-17 * * mon-fri" --tz Europe/Berlin``
        """
        args = _parsed(self.cron, line)
        holder, now, local = self._context()
        tz = local if args.tz is None else _user(lambda: as_timezone(args.tz, argument="--tz"))
        from ..triggers.cron import CronTrigger

        expression = " ".join(args.expression).strip().strip("\"'")
        until = self._until(args, now, tz)
        trigger: Trigger = _user(
            lambda: CronTrigger.from_crontab(expression, tz, start_time=now, end_time=until),
            renamed={"expr": "expression"},
        )
        self._schedule(holder, "cron", line, cell, args, trigger, now)

    @magic_arguments()
    @argument("when", nargs="+", help="18:00 (next occurrence) or '2026-12-01 18:00'")
    @argument("--tz", help="time zone of WHEN (default: the local zone)")
    @_schedule_options
    @cell_magic
    def at(self, line: str, cell: str) -> None:
        """Run this cell once at WHEN (a time of day means its next occurrence).

        Example: ``%%at 18:00``
        """
        args = _parsed(self.at, line)
        holder, now, local = self._context()
        if args.until is not None:
            raise UsageError("--until: %%at runs once; there is nothing to stop")
        tz = local if args.tz is None else _user(lambda: as_timezone(args.tz, argument="--tz"))
        from ..triggers.date import DateTrigger

        when = _user(lambda: parse_when(" ".join(args.when), now=now, tz=tz, argument="when"))
        if when <= now and not args.now:
            raise UsageError(f"when: {when.isoformat()} has already passed")
        trigger: Trigger = _user(lambda: DateTrigger(when))
        self._schedule(holder, "at", line, cell, args, trigger, now)

    def _context(self) -> tuple[NotebookScheduler, datetime, tzinfo]:
        holder = current()
        if holder is None:
            raise UsageError("nbsched is not loaded: run %load_ext nbsched first")
        tz = get_local_timezone()
        return holder, holder.clock.now().astimezone(tz), tz

    def _until(self, args: Any, now: datetime, tz: tzinfo) -> datetime | None:
        if args.until is None:
            return None
        until = _user(lambda: parse_when(args.until, now=now, tz=tz, argument="--until"))
        if until <= now:
            raise UsageError(f"--until: {until.isoformat()} has already passed")
        return until

    def _schedule(
        self,
        holder: NotebookScheduler,
        magic: str,
        line: str,
        cell: str,
        args: Any,
        trigger: Trigger,
        now: datetime,
    ) -> None:
        if not cell.strip():
            raise UsageError(f"%%{magic}: the cell is empty; put the code to run below the magic")
        if args.times is not None and args.times < 1:
            raise UsageError(f"--times: must be at least 1, got {args.times}")
        if args.keep is not None and args.keep < 1:
            raise UsageError(f"--keep: must be at least 1, got {args.keep}")
        if args.keep is not None and not args.append:
            raise UsageError(f"--keep: only with --append (got --keep {args.keep} alone)")
        schedule_id = args.schedule_id
        if schedule_id is not None:
            _check_schedule_id(schedule_id)
        compile_cell(self.shell, cell)  # a syntax error is reported now, not at every run
        if args.times is not None or args.now:
            trigger = CellTrigger(trigger, times=args.times, first_fire=now if args.now else None)
        cell_id = cell_identity(self.shell)
        spec = CellSpec(
            schedule_id=schedule_id or default_schedule_id(cell_id, cell),
            cell_id=cell_id,
            source=cell,
            trigger=trigger,
            magic=f"%%{magic} {line}".strip(),
            append=args.append,
            keep=args.keep if args.keep is not None else KEEP_RUNS,
            stop_on_error=args.stop_on_error,
        )
        route = holder.define_cell(spec)
        display(route.widget)

    # --- %sched --------------------------------------------------------------------------------

    @line_magic
    def sched(self, line: str) -> Any:
        """Show the live dashboard, or manage schedules.

        ``%sched``                 the live dashboard
        ``%sched list``            the schedules as a table
        ``%sched show ID``         a schedule: its trigger, whether you signed it, its code
        ``%sched pause ID``        pause a schedule (``resume ID``, ``run ID``, ``remove ID``);
                                   resuming a cell schedule you did not sign signs it
        ``%sched log``             a live event log
        ``%sched timeline``        a chart of upcoming fire times
        ``%sched store PATH``      keep schedules in a SQLite file, or in a PostgreSQL
                                   database shared with other kernels
                                   (``postgresql://user@host/db``); ``memory``: in memory.
                                   The choice is remembered for the next ``%load_ext``
        """
        holder = current()
        if holder is None:
            raise UsageError("nbsched is not loaded: run %load_ext nbsched first")
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%sched: {exc}") from None
        command, rest = (words[0], words[1:]) if words else ("", [])
        if command == "":
            board = holder.dashboard()
            display(board)
            return None
        if command in ("pause", "resume", "remove", "run"):
            if len(rest) != 1:
                raise UsageError(f"%sched {command} takes one schedule id; {_SCHED_USAGE}")
            return self._act(holder, command, rest[0])
        if command == "show":
            if len(rest) != 1:
                raise UsageError(f"%sched show takes one schedule id; {_SCHED_USAGE}")
            return self._show(holder, rest[0])
        if command == "list":
            self._no_arguments(command, rest)
            return self._list(holder)
        if command == "log":
            self._no_arguments(command, rest)
            from ..widgets.event_log import EventLog

            display(EventLog(holder.scheduler, annotate=lambda e: _not_shown_note(holder, e)))
            return None
        if command == "timeline":
            self._no_arguments(command, rest)
            from ..widgets.timeline import Timeline  # no pandas import (see its module)

            display(Timeline(holder.scheduler))
            return None
        if command == "store":
            if len(rest) > 1:
                raise UsageError(f"%sched store takes at most one path; {_SCHED_USAGE}")
            return self._store(holder, rest[0] if rest else None)
        raise UsageError(f"%sched: unknown command {command!r}; {_SCHED_USAGE}")

    @staticmethod
    def _no_arguments(command: str, rest: list[str]) -> None:
        if rest:
            raise UsageError(f"%sched {command} takes no arguments, got {' '.join(rest)!r}")

    def _act(self, holder: NotebookScheduler, command: str, schedule_id: str) -> None:
        result = _ResultLine(f"{command} {schedule_id!r}…")
        display(result.widget)
        scheduler = holder.scheduler
        done = {"pause": "paused", "resume": "resumed", "remove": "removed", "run": "started"}

        async def act() -> None:
            if command == "pause":
                await scheduler.pause_schedule(schedule_id)
            elif command == "resume":
                await holder.resume(schedule_id)
            elif command == "remove":
                await scheduler.remove_schedule(schedule_id)
            else:
                schedule = await scheduler.get_schedule(schedule_id)
                if schedule.task_id == TASK_ID and not is_trusted(schedule):
                    raise UntrustedCellError(
                        f"it is not signed by you; review it with %sched show {schedule_id}, "
                        f"then %sched resume {schedule_id} signs it"
                    )
                job_id = await scheduler.add_job(
                    schedule.task_id, args=schedule.args, kwargs=schedule.kwargs
                )
                if holder.tracker is not None:
                    holder.tracker.adopt(job_id, schedule_id)

        holder.submit(
            f"{command} {schedule_id!r}",
            act,
            report=result.reporter(f"{done[command]} {schedule_id!r}"),
        )

    def _list(self, holder: NotebookScheduler) -> None:
        result = _ResultLine("reading the schedules…")
        display(result.widget)
        tz = get_local_timezone()

        async def read() -> None:
            schedules = sorted(await holder.scheduler.get_schedules(), key=lambda s: s.id)
            result.show_table(schedules, holder, tz)

        holder.submit("list the schedules", read, report=result.reporter(None))

    def _show(self, holder: NotebookScheduler, schedule_id: str) -> None:
        result = _ResultLine(f"reading {schedule_id!r}…")
        display(result.widget)

        async def read() -> None:
            schedule = await holder.scheduler.get_schedule(schedule_id)
            result.widget.value = describe_html(schedule)

        holder.submit(f"show {schedule_id!r}", read, report=result.reporter(None))

    def _store(self, holder: NotebookScheduler, path: str | None) -> None:
        if path is None:
            where = holder.store_description
            if holder.store_path is None:
                where += " (schedules end with the kernel)"
            display(widgets.HTML(f"store: <code>{html.escape(where)}</code>"))
            return
        target = None if path == "memory" else path
        from ._store_choice import describe_store

        result = _ResultLine(f"switching to {describe_store(target)}…")
        restored = widgets.VBox()
        display(widgets.VBox([result.widget, restored]))
        holder.switch_store(
            target, restored, result.reporter(lambda: f"store: {holder.store_description}")
        )


class _ResultLine:
    """The one-line answer of a ``%sched`` command, filled in when the command has run."""

    def __init__(self, pending: str):
        self.widget = widgets.HTML(f"<i>{html.escape(pending)}</i>")

    def reporter(
        self, success: str | Callable[[], str] | None
    ) -> Callable[[str | None, BaseException | None], None]:
        def report(message: str | None, exc: BaseException | None) -> None:
            if message is not None:
                self.widget.value = f"<span style='color:#c62828'>{html.escape(message)}</span>"
            elif success is not None:
                self.widget.value = html.escape(success() if callable(success) else success)

        return report

    def show_table(self, schedules: list[Any], holder: NotebookScheduler, tz: tzinfo) -> None:
        from ..widgets._format import format_moment, trigger_zone

        tracked = holder.tracker.stats if holder.tracker else {}
        live = {schedule.id for schedule in schedules}
        ended = sorted(
            (stats.ended_at or holder.clock.now(), schedule_id, stats)
            for schedule_id, stats in tracked.items()
            if stats.ended is not None and schedule_id not in live
        )
        if not schedules and not ended:
            self.widget.value = "<i>no schedules</i>"
            return
        now = holder.clock.now()
        rows = []
        for schedule in schedules:
            stats = holder.tracker.stats.get(schedule.id) if holder.tracker else None
            next_fire = (
                "paused"
                if schedule.paused
                else format_moment(
                    schedule.next_fire_time,
                    now=now,
                    tz=tz,
                    zone=True,
                    also=trigger_zone(schedule.trigger),
                )
            )
            trigger = str(schedule.trigger)
            if holder.tracker:
                holder.tracker.note_trigger(schedule.id, trigger)
            cells = (
                f"{schedule.id} (cell not shown)"
                if schedule.id in holder.views.not_shown
                else schedule.id,
                trigger,
                next_fire,
                str(stats.runs if stats else 0),
                stats.last_outcome.name if stats and stats.last_outcome else "—",
            )
            rows.append("".join(f"<td>{html.escape(c)}</td>" for c in cells))
        for _when, schedule_id, stats in reversed(ended):  # most recently ended first
            last = stats.last_outcome.name if stats.last_outcome else "—"
            cells = (schedule_id, stats.trigger or "—", stats.ended or "", str(stats.runs), last)
            rows.append("".join(f"<td style='opacity:0.55'>{html.escape(c)}</td>" for c in cells))
        head = "".join(
            f"<th align='left'>{name}</th>" for name in ("id", "trigger", "next", "runs", "last")
        )
        body = "".join(f"<tr>{row}</tr>" for row in rows)
        self.widget.value = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


#: The longest schedule id a magic accepts.
MAX_ID_LENGTH = 200


def _check_schedule_id(schedule_id: str) -> None:
    if (
        not schedule_id
        or len(schedule_id) > MAX_ID_LENGTH
        or not schedule_id.isprintable()
        or any(character.isspace() for character in schedule_id)
    ):
        raise UsageError(
            f"--id: {schedule_id!r} must be a non-empty name without spaces or control "
            f"characters, at most {MAX_ID_LENGTH} characters long"
        )


def _parsed(magic: Callable[..., Any], line: str) -> Any:
    try:
        args = parse_argstring(magic, line)
    except ValueError as exc:  # shlex: an unbalanced quote
        raise UsageError(f"%%{magic.__name__}: {exc} in {line!r}") from None
    for name in ("schedule_id", "until", "tz"):
        if hasattr(args, name):
            setattr(args, name, _unquote(getattr(args, name)))
    return args


def _unquote(value: str | None) -> str | None:
    """IPython splits magic arguments without removing quotes: ``--id 'a b'`` gives ``'a b'``
    with its quotes; take them off."""
    if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _user(make: Callable[[], _T], *, renamed: dict[str, str] | None = None) -> _T:
    """Call ``make``; a ValueError/TypeError about the user's input becomes a one-line
    UsageError in the cell instead of a traceback.

    ``renamed`` maps the argument names of the API that ``make`` calls (the start of its
    messages, ``"expr: ..."``) to the name the magic's user knows (``"expression"``).
    """
    try:
        return make()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        for api_name, magic_name in (renamed or {}).items():
            if message.startswith(f"{api_name}: "):
                message = f"{magic_name}: {message[len(api_name) + 2 :]}"
        raise UsageError(message) from None


def _not_shown_note(holder: NotebookScheduler, event: Any) -> str:
    """The event log's mark on an event of a cell schedule whose cell no front end shows (its
    run's output went nowhere to be seen)."""
    if getattr(event, "schedule_id", None) in holder.views.not_shown:
        return " <i style='color:#c62828'>cell not shown</i>"
    return ""
