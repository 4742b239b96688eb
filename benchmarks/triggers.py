"""Cost of computing fire times: nbsched against APScheduler 4, APScheduler 3, croniter and
dateutil's rrule, in Europe/Berlin, in one run.

    .venv/bin/python benchmarks/triggers.py [--repeats 5] [--scale 1.0] [--only NAME ...]

Two tables, CPU time of this process in microseconds (median over ``--repeats`` runs, the
libraries interleaved run by run); ratios are peer / nbsched (above 1: nbsched is faster):

1. **consecutive** ``next()`` calls on one fresh trigger: what ``timeline()`` and a preview pay.
   A ``*`` marks a peer whose first 200 fire times differ from nbsched's (rrule keeps
   wall-clock steps across DST, for example). APScheduler 3 runs in a subprocess (see
   _peers.py); its AndTrigger is given a timeout and reported as "hangs" when it does not
   return. The "floor" row is one ``dt + timedelta`` and one ``.astimezone(tz)``: the least a
   fire-time step can cost.
2. **per fire of a stored schedule**: what a scheduler pays for a trigger each time one of
   many stored schedules fires, over a pool of schedules taken in turn. A memory store hands
   out its own trigger (nbsched and APScheduler 4 alike): one ``next()``. The SQL stores
   restore the trigger from its row, advance it and write it back: for nbsched (SQLite and
   PostgreSQL share the codec, :mod:`nbsched.datastores._codec`) JSON text to a trigger, one
   ``next()``, the trigger to JSON text; for APScheduler 4 (SQLAlchemy store, its default
   pickle serializer) the same through pickle. nbsched's codec keeps a copy of the triggers
   it wrote: the last column is for rows written by another process (parsed each time). A
   ``*`` marks fire times that differ from nbsched's consecutive ones.
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
from apscheduler.serializers.pickle import PickleSerializer
from croniter import croniter
from dateutil import rrule

from nbsched.datastores import _codec
from nbsched.datastores._codec import trigger_from_json, trigger_to_json
from nbsched.triggers import (
    AndTrigger,
    CalendarIntervalTrigger,
    CronTrigger,
    IntervalTrigger,
    OrTrigger,
)

Factory = Callable[[], Stepper]
Maker = Callable[[], Any]
PEERS = ("APScheduler 4", "APScheduler 3", "croniter", "rrule")
#: stored schedules in the per-fire pool, advanced in turn
POOL = 100
#: calls per run of the per-fire table (times --scale)
FIRE_CALLS = 2000
#: fire times of a pooled schedule compared with nbsched's consecutive ones
FIRST_FIRES = 20


def nexts(make: Maker) -> Factory:
    return lambda: make().next


def cron_nbsched(expr: str) -> Maker:
    return lambda: CronTrigger.from_crontab(expr, timezone=ZONE, start_time=START)


def cron_aps4(expr: str) -> Maker:
    return lambda: aps4_cron.CronTrigger.from_crontab(expr, timezone=ZONE, start_time=START)


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


OFFICE_HOURS = "0 9-17 * * mon-fri"


def combined_nbsched(kind: type[AndTrigger] | type[OrTrigger]) -> Maker:
    return lambda: kind(
        [
            CronTrigger.from_crontab(OFFICE_HOURS, timezone=ZONE, start_time=START),
            IntervalTrigger(hours=2, start_time=AND_START),
        ]
    )


def combined_aps4(kind: Any) -> Maker:
    return lambda: kind(
        [
            aps4_cron.CronTrigger.from_crontab(OFFICE_HOURS, timezone=ZONE, start_time=START),
            aps4_interval.IntervalTrigger(hours=2, start_time=AND_START),
        ]
    )


WEEKDAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR)

#: name -> the nbsched and APScheduler 4 triggers (a maker each), also used per fire
TRIGGERS: dict[str, tuple[Maker, Maker]] = {
    "*/5 * * * *": (cron_nbsched("*/5 * * * *"), cron_aps4("*/5 * * * *")),
    "0 9-17 * * mon-fri": (cron_nbsched(OFFICE_HOURS), cron_aps4(OFFICE_HOURS)),
    "0 9 * * *": (cron_nbsched("0 9 * * *"), cron_aps4("0 9 * * *")),
    "30 2 * * *": (cron_nbsched("30 2 * * *"), cron_aps4("30 2 * * *")),
    "last day of month": (
        cron_nbsched("0 0 L * *"),
        lambda: aps4_cron.CronTrigger(
            day="last", hour=0, minute=0, second=0, timezone=ZONE, start_time=START
        ),
    ),
    "0 12 25 12 *": (cron_nbsched("0 12 25 12 *"), cron_aps4("0 12 25 12 *")),
    "0 0 29 2 *": (cron_nbsched("0 0 29 2 *"), cron_aps4("0 0 29 2 *")),
    "interval 10 s": (
        lambda: IntervalTrigger(seconds=10, start_time=START),
        lambda: aps4_interval.IntervalTrigger(seconds=10, start_time=START),
    ),
    "calendar monthly": (
        lambda: CalendarIntervalTrigger(
            months=1, hour=9, start_date=CALENDAR_START, timezone=ZONE
        ),
        lambda: aps4_calendar.CalendarIntervalTrigger(
            months=1, hour=9, start_date=CALENDAR_START, timezone=ZONE
        ),
    ),
    "OrTrigger(cron, interval)": (
        combined_nbsched(OrTrigger),
        combined_aps4(aps4_combining.OrTrigger),
    ),
    "AndTrigger(cron, interval)": (
        combined_nbsched(AndTrigger),
        combined_aps4(aps4_combining.AndTrigger),
    ),
}


def consecutive(name: str) -> dict[str, Factory]:
    nbsched, aps4 = TRIGGERS[name]
    return {"nbsched": nexts(nbsched), "APScheduler 4": nexts(aps4)}


#: name -> (calls per run, {library: factory}); the APScheduler 3 factories are in _peers.py.
CASES: dict[str, tuple[int, dict[str, Factory]]] = {
    "*/5 * * * *": (20000, {
        **consecutive("*/5 * * * *"),
        "croniter": cron_croniter("*/5 * * * *"),
        "rrule": with_rrule(freq=rrule.MINUTELY, interval=5),
    }),
    "0 9-17 * * mon-fri": (5000, {
        **consecutive("0 9-17 * * mon-fri"),
        "croniter": cron_croniter(OFFICE_HOURS),
        "rrule": with_rrule(
            freq=rrule.DAILY, byweekday=WEEKDAYS, byhour=range(9, 18), byminute=0, bysecond=0
        ),
    }),
    "0 9 * * *": (5000, {
        **consecutive("0 9 * * *"),
        "croniter": cron_croniter("0 9 * * *"),
        "rrule": with_rrule(freq=rrule.DAILY, byhour=9, byminute=0, bysecond=0),
    }),
    "30 2 * * *": (5000, {
        **consecutive("30 2 * * *"),
        "croniter": cron_croniter("30 2 * * *"),
        "rrule": with_rrule(freq=rrule.DAILY, byhour=2, byminute=30, bysecond=0),
    }),
    "last day of month": (3000, {
        **consecutive("last day of month"),
        "croniter": cron_croniter("0 0 L * *"),
        "rrule": with_rrule(freq=rrule.MONTHLY, bymonthday=-1, byhour=0, byminute=0, bysecond=0),
    }),
    "0 12 25 12 *": (1000, {
        **consecutive("0 12 25 12 *"),
        "croniter": cron_croniter("0 12 25 12 *"),
        "rrule": with_rrule(
            freq=rrule.YEARLY, bymonth=12, bymonthday=25, byhour=12, byminute=0, bysecond=0
        ),
    }),
    "0 0 29 2 *": (500, {
        **consecutive("0 0 29 2 *"),
        "croniter": cron_croniter("0 0 29 2 *"),
        "rrule": with_rrule(
            freq=rrule.YEARLY, bymonth=2, bymonthday=29, byhour=0, byminute=0, bysecond=0
        ),
    }),
    "interval 10 s": (100000, {
        **consecutive("interval 10 s"),
        "rrule": with_rrule(freq=rrule.SECONDLY, interval=10),
        "floor": floor,
    }),
    "calendar monthly": (5000, {
        **consecutive("calendar monthly"),
        "rrule": with_rrule(freq=rrule.MONTHLY, bymonthday=15, byhour=9, byminute=0, bysecond=0),
    }),
    "OrTrigger(cron, interval)": (5000, consecutive("OrTrigger(cron, interval)")),
    "AndTrigger(cron, interval)": (2000, consecutive("AndTrigger(cron, interval)")),
}  # fmt: skip


# --- per fire of a stored schedule ------------------------------------------------------------


def added(make: Maker) -> list[Any]:
    """A pool of stored triggers, each advanced once (adding a schedule computes its first
    fire time)."""
    triggers = [make() for _ in range(POOL)]
    for trigger in triggers:
        trigger.next()
    return triggers


def in_turn(fire: Callable[[int], Any]) -> Stepper:
    """A stepper firing the pool's schedules 0, 1, ..., POOL - 1, 0, ..."""
    turn = [0]

    def step() -> Any:
        index = turn[0]
        turn[0] = (index + 1) % POOL
        return fire(index)

    return step


def from_memory(make: Maker) -> Factory:
    """A memory store: the store's own trigger is advanced (nbsched and APScheduler 4)."""

    def factory() -> Stepper:
        steps = [trigger.next for trigger in added(make)]
        return in_turn(lambda index: steps[index]())

    return factory


def from_json_rows(make: Maker, elsewhere: bool = False) -> Factory:
    """nbsched's SQLite and PostgreSQL stores: JSON text -> trigger -> next() -> JSON text.

    ``elsewhere``: every row was written by another process, so the codec has no copy of the
    trigger it was written from and parses it."""

    def factory() -> Stepper:
        rows = [trigger_to_json(trigger) for trigger in added(make)]
        written = _codec._written

        def fire(index: int) -> Any:
            if elsewhere:
                written.clear()
            trigger = trigger_from_json(rows[index])
            value = trigger.next()
            rows[index] = trigger_to_json(trigger)
            return value

        return in_turn(fire)

    return factory


def from_pickled_rows(make: Maker) -> Factory:
    """APScheduler 4's SQLAlchemy store: pickled bytes -> trigger -> next() -> pickled bytes."""
    serializer = PickleSerializer()

    def factory() -> Stepper:
        rows = [serializer.serialize(trigger) for trigger in added(make)]

        def fire(index: int) -> Any:
            trigger = serializer.deserialize(rows[index])
            value = trigger.next()
            rows[index] = serializer.serialize(trigger)
            return value

        return in_turn(fire)

    return factory


def pooled_first_values(factory: Factory) -> list[str | None]:
    """The fire times of the pool's first schedule (every POOL-th call), as first_values."""
    step = factory()
    values = []
    for call in range(FIRST_FIRES * POOL):
        value = step()
        if call % POOL == 0:
            values.append(None if value is None else value.astimezone(timezone.utc).isoformat())
    return values


#: column -> how nbsched's and APScheduler 4's stores handle a trigger per fire
PER_FIRE_COLUMNS: tuple[
    tuple[str, Callable[[Maker], Factory], Callable[[Maker], Factory]], ...
] = (
    ("memory", from_memory, from_memory),
    ("SQLite, PostgreSQL", from_json_rows, from_pickled_rows),
    (
        "row written by another process",
        lambda make: from_json_rows(make, elsewhere=True),
        from_pickled_rows,
    ),
)


def cell(value: float | str | None, base: float, agrees: bool = True) -> tuple[str, str]:
    if value is None:
        return "-", ""
    if isinstance(value, str):
        return value, ""
    mark = "" if agrees else "*"
    return f"{value:.2f}{mark}", f"{value / base:.1f}x"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def consecutive_table(names: list[str], args: argparse.Namespace) -> tuple[str, dict[str, float]]:
    """The first table, and nbsched's median per case (for the second)."""
    header = ["case", "nbsched"]
    for peer in PEERS:
        header += [peer, "ratio"]
    rows = [header]
    floor_row: list[str] | None = None
    nbsched_medians: dict[str, float] = {}
    for name in names:
        calls, factories = CASES[name]
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
        base = nbsched_medians[name] = median["nbsched"]
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
    return table(rows), nbsched_medians


def per_fire_table(names: list[str], args: argparse.Namespace, nexts_us: dict[str, float]) -> str:
    header = ["case", "next() in a row"]
    for column, _, _ in PER_FIRE_COLUMNS:
        header += [f"{column}: nbsched", "APScheduler 4", "ratio"]
    rows = [header]
    calls = max(1, int(FIRE_CALLS * args.scale))
    for name in names:
        nbsched, aps4 = TRIGGERS[name]
        factories: dict[tuple[str, str], Factory] = {}
        for column, ours, theirs in PER_FIRE_COLUMNS:
            factories[column, "nbsched"] = ours(nbsched)
            factories[column, "APScheduler 4"] = theirs(aps4)
        runs: dict[tuple[str, str], list[float]] = {key: [] for key in factories}
        for _ in range(args.repeats):
            for key, factory in factories.items():
                runs[key].append(measure(factory, calls, 1))
        # the pool's schedules were advanced once when added: they start at the second
        expected = first_values(nexts(nbsched), FIRST_FIRES + 1)[1:]
        row = [name, "-" if name not in nexts_us else f"{nexts_us[name]:.2f}"]
        for column, _, _ in PER_FIRE_COLUMNS:
            base = statistics.median(runs[column, "nbsched"])
            agrees = pooled_first_values(factories[column, "nbsched"]) == expected
            row.append(f"{base:.2f}" + ("" if agrees else "*"))
            peer_values = pooled_first_values(factories[column, "APScheduler 4"])
            peer_median = statistics.median(runs[column, "APScheduler 4"])
            row += cell(peer_median, base, peer_values == expected)
        rows.append(row)
        print(f"  measured {name} per fire", file=sys.stderr, flush=True)
    return table(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the calls per run")
    parser.add_argument(
        "--aps3-timeout", type=float, default=60.0, help="seconds per APScheduler 3 run"
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(CASES), metavar="NAME", help="measure these cases"
    )
    parser.add_argument("--table", choices=("both", "consecutive", "per-fire"), default="both")
    args = parser.parse_args(argv)
    names = args.only or list(CASES)

    nexts_us: dict[str, float] = {}
    if args.table != "per-fire":
        print(
            f"consecutive next() calls: CPU time per call in microseconds (median of "
            f"{args.repeats} runs), {ZONE_NAME}, Python {sys.version.split()[0]}; "
            f"ratio = peer / nbsched; * = fire times differ"
        )
        text, nexts_us = consecutive_table(names, args)
        print(text, flush=True)
    if args.table != "consecutive":
        print(
            f"\nper fire of a stored schedule ({POOL} schedules taken in turn): CPU time in "
            f"microseconds (median of {args.repeats} runs); ratio = APScheduler 4 / nbsched; "
            f"* = fire times differ from nbsched's consecutive ones"
        )
        print(per_fire_table([n for n in names if n in TRIGGERS], args, nexts_us))
    return 0


if __name__ == "__main__":
    sys.exit(main())
