"""Per-call cost of computing fire times: nbsched against APScheduler 4, APScheduler 3,
croniter and dateutil's rrule, in Europe/Berlin, in one run.

    .venv/bin/python benchmarks/triggers.py [--repeats 5] [--scale 1.0]

Each figure is the median over ``--repeats`` runs of (time for N calls) / N on a fresh trigger,
in microseconds; ratios are peer / nbsched (above 1: nbsched is faster). A ``*`` marks a peer
whose first 200 fire times differ from nbsched's (rrule keeps wall-clock steps across DST, for
example). APScheduler 3 runs in a subprocess (see _peers.py); its AndTrigger is given a
timeout and reported as "hangs" when it does not return. The "floor" row is one
``dt + timedelta`` and one ``.astimezone(tz)``: the least a fire-time step can cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import apscheduler.triggers.calendarinterval as aps4_calendar
import apscheduler.triggers.combining as aps4_combining
import apscheduler.triggers.cron as aps4_cron
import apscheduler.triggers.interval as aps4_interval
from _peers import (
    AND_START,
    CALENDAR_START,
    START,
    ZONE,
    ZONE_NAME,
    Stepper,
    aps3,
    first_values,
    measure,
)
from croniter import croniter
from dateutil import rrule

from nbsched.triggers import (
    AndTrigger,
    CalendarIntervalTrigger,
    CronTrigger,
    IntervalTrigger,
)

Factory = Callable[[], Stepper]
PEERS = ("APScheduler 4", "APScheduler 3", "croniter", "rrule")


def nexts(make: Callable[[], Any]) -> Factory:
    return lambda: make().next


def cron_nbsched(expr: str) -> Factory:
    return nexts(lambda: CronTrigger.from_crontab(expr, timezone=ZONE, start_time=START))


def cron_aps4(expr: str) -> Factory:
    return nexts(lambda: aps4_cron.CronTrigger.from_crontab(expr, timezone=ZONE, start_time=START))


def cron_croniter(expr: str) -> Factory:
    def factory() -> Stepper:
        # croniter returns the start itself when it matches only if asked; nbsched and
        # APScheduler include it, so start one microsecond earlier.
        it = croniter(expr, START - timedelta(microseconds=1))
        return lambda: it.get_next(datetime)

    return factory


def with_rrule(**kwargs: Any) -> Factory:
    def factory() -> Stepper:
        return rrule.rrule(dtstart=START, cache=False, **kwargs).__iter__().__next__

    return factory


def floor() -> Stepper:
    moment = START.astimezone(timezone.utc)
    step = timedelta(seconds=10)
    return lambda: (moment + step).astimezone(ZONE)


def and_nbsched() -> Stepper:
    return AndTrigger(
        [
            CronTrigger.from_crontab("0 9-17 * * mon-fri", timezone=ZONE, start_time=START),
            IntervalTrigger(hours=2, start_time=AND_START),
        ]
    ).next


def and_aps4() -> Stepper:
    return aps4_combining.AndTrigger(
        [
            aps4_cron.CronTrigger.from_crontab(
                "0 9-17 * * mon-fri", timezone=ZONE, start_time=START
            ),
            aps4_interval.IntervalTrigger(hours=2, start_time=AND_START),
        ]
    ).next


WEEKDAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR)

#: name -> (calls per run, {library: factory}); the APScheduler 3 factories are in _peers.py.
CASES: dict[str, tuple[int, dict[str, Factory]]] = {
    "*/5 * * * *": (20000, {
        "nbsched": cron_nbsched("*/5 * * * *"),
        "APScheduler 4": cron_aps4("*/5 * * * *"),
        "croniter": cron_croniter("*/5 * * * *"),
        "rrule": with_rrule(freq=rrule.MINUTELY, interval=5),
    }),
    "0 9-17 * * mon-fri": (5000, {
        "nbsched": cron_nbsched("0 9-17 * * mon-fri"),
        "APScheduler 4": cron_aps4("0 9-17 * * mon-fri"),
        "croniter": cron_croniter("0 9-17 * * mon-fri"),
        "rrule": with_rrule(
            freq=rrule.DAILY, byweekday=WEEKDAYS, byhour=range(9, 18), byminute=0, bysecond=0
        ),
    }),
    "last day of month": (3000, {
        "nbsched": cron_nbsched("0 0 L * *"),
        "APScheduler 4": nexts(lambda: aps4_cron.CronTrigger(
            day="last", hour=0, minute=0, second=0, timezone=ZONE, start_time=START
        )),
        "croniter": cron_croniter("0 0 L * *"),
        "rrule": with_rrule(freq=rrule.MONTHLY, bymonthday=-1, byhour=0, byminute=0, bysecond=0),
    }),
    "0 0 29 2 *": (500, {
        "nbsched": cron_nbsched("0 0 29 2 *"),
        "APScheduler 4": cron_aps4("0 0 29 2 *"),
        "croniter": cron_croniter("0 0 29 2 *"),
        "rrule": with_rrule(
            freq=rrule.YEARLY, bymonth=2, bymonthday=29, byhour=0, byminute=0, bysecond=0
        ),
    }),
    "interval 10 s": (100000, {
        "nbsched": nexts(lambda: IntervalTrigger(seconds=10, start_time=START)),
        "APScheduler 4": nexts(
            lambda: aps4_interval.IntervalTrigger(seconds=10, start_time=START)
        ),
        "rrule": with_rrule(freq=rrule.SECONDLY, interval=10),
        "floor": floor,
    }),
    "calendar monthly": (5000, {
        "nbsched": nexts(lambda: CalendarIntervalTrigger(
            months=1, hour=9, start_date=CALENDAR_START, timezone=ZONE
        )),
        "APScheduler 4": nexts(lambda: aps4_calendar.CalendarIntervalTrigger(
            months=1, hour=9, start_date=CALENDAR_START, timezone=ZONE
        )),
        "rrule": with_rrule(freq=rrule.MONTHLY, bymonthday=15, byhour=9, byminute=0, bysecond=0),
    }),
    "AndTrigger(cron, interval)": (2000, {
        "nbsched": and_nbsched,
        "APScheduler 4": and_aps4,
    }),
}  # fmt: skip


def cell(value: float | str | None, base: float, agrees: bool = True) -> tuple[str, str]:
    if value is None:
        return "-", ""
    if isinstance(value, str):
        return value, ""
    mark = "" if agrees else "*"
    return f"{value:.2f}{mark}", f"{value / base:.1f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the calls per run")
    parser.add_argument(
        "--aps3-timeout", type=float, default=60.0, help="seconds per APScheduler 3 run"
    )
    args = parser.parse_args(argv)

    print(
        f"per-call cost in microseconds (median of {args.repeats} runs), {ZONE_NAME}, "
        f"Python {sys.version.split()[0]}; ratio = peer / nbsched; * = fire times differ"
    )
    header = ["case", "nbsched"]
    for peer in PEERS:
        header += [peer, "ratio"]
    rows = [header]
    floor_row: list[str] | None = None
    for name, (calls, factories) in CASES.items():
        calls = max(1, int(calls * args.scale))
        # Interleave the libraries run by run, so a busy moment on the machine hits them all.
        runs: dict[str, list[float]] = {library: [] for library in factories}
        aps3_result: dict[str, Any] | str | None = None
        aps3_runs: list[float] = []
        for _ in range(args.repeats):
            for library, factory in factories.items():
                runs[library].append(measure(factory, calls, 1))
            if aps3_result is None or isinstance(aps3_result, dict):
                aps3_result = aps3(name, calls, 1, args.aps3_timeout)
                if isinstance(aps3_result, dict):
                    aps3_runs.append(aps3_result["us_per_call"])
        median = {library: statistics.median(values) for library, values in runs.items()}
        base = median["nbsched"]
        expected = first_values(factories["nbsched"])
        row = [name, f"{base:.2f}"]
        for peer in PEERS:
            if peer == "APScheduler 3":
                if isinstance(aps3_result, dict):
                    agrees = aps3_result["first"] == expected
                    row += cell(statistics.median(aps3_runs), base, agrees)
                else:
                    row += cell(aps3_result, base)
            elif peer in factories:
                row += cell(median[peer], base, first_values(factories[peer]) == expected)
            else:
                row += cell(None, base)
        rows.append(row)
        if "floor" in factories:
            value = median["floor"]
            floor_row = ["floor (+ timedelta, .astimezone)", f"{value:.2f}"]
            floor_row += [""] * (len(header) - 2)
            floor_row[-1] = f"nbsched interval = {base / value:.2f}x floor"
        print(f"  measured {name}", file=sys.stderr, flush=True)
    if floor_row:
        rows.append(floor_row)

    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
