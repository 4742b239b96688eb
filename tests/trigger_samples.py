"""Built-in triggers of every kind and several shapes, for the tests that must hold for each of
them (cloning, equality, a trigger's row in a store). Each maker builds a fresh trigger, so a
test can make two in the same state; their times run across Berlin's spring DST change (a
missing hour at 02:00 on 2026-03-29)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from nbsched.abc import Trigger
from nbsched.triggers import (
    AndTrigger,
    CalendarIntervalTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    OrTrigger,
)

__all__ = ["BERLIN", "SAMPLES", "START", "take"]

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 27, 9, tzinfo=BERLIN)  # two days before the DST change

#: name -> a maker of a fresh trigger; the part of the name before "-" is the kind
SAMPLES: dict[str, Callable[[], Trigger]] = {
    "date": lambda: DateTrigger(START),
    "date-fixed-offset": lambda: DateTrigger("2026-12-01T18:00:00+05:30"),
    "interval": lambda: IntervalTrigger(hours=7, start_time=START),
    "interval-end": lambda: IntervalTrigger(
        minutes=90, seconds=1.5, start_time=START, end_time=START + timedelta(days=3)
    ),
    "calendar": lambda: CalendarIntervalTrigger(days=1, hour=2, minute=30, start_date=START),
    "calendar-month-end": lambda: CalendarIntervalTrigger(
        months=1, hour=9, minute=30, start_date="2026-01-31", timezone=BERLIN
    ),
    "calendar-fixed": lambda: CalendarIntervalTrigger(
        days=2,
        end_date="2027-01-01",
        start_date="2026-01-01",
        timezone=timezone(timedelta(hours=2)),
    ),
    "cron": lambda: CronTrigger(day_of_week="mon-fri", hour=9, timezone=BERLIN, start_time=START),
    "cron-crontab": lambda: CronTrigger.from_crontab(
        "*/20 1-3 * * *", timezone=BERLIN, start_time=START, end_time=START + timedelta(days=9)
    ),
    "cron-missing-time": lambda: CronTrigger.from_crontab(
        "30 2 * * *", timezone=BERLIN, start_time=START
    ),
    "or": lambda: OrTrigger(
        [IntervalTrigger(hours=5, start_time=START), CronTrigger(hour=2, timezone=BERLIN)]
    ),
    "or-cron-first": lambda: OrTrigger(
        [
            CronTrigger(hour=9, timezone=BERLIN, start_time=START),
            IntervalTrigger(hours=5, start_time=START),
        ]
    ),
    "and": lambda: AndTrigger(
        [
            CronTrigger.from_crontab("0 * * * *", timezone=BERLIN, start_time=START),
            IntervalTrigger(hours=5, start_time=START),
        ],
        threshold=60,
    ),
    "and-limited": lambda: AndTrigger(
        [
            CronTrigger(hour="9-17", timezone=BERLIN, start_time=START),
            IntervalTrigger(hours=2, start_time=START),
        ],
        threshold=2.5,
        max_iterations=500,
    ),
    "and-half-hours": lambda: AndTrigger(
        [
            CronTrigger(minute="*/30", timezone=BERLIN, start_time=START),
            IntervalTrigger(hours=1, start_time=START),
        ]
    ),
    "and-nested": lambda: AndTrigger(
        [
            OrTrigger(
                [
                    CronTrigger(hour="1-3", minute="*/20", timezone=BERLIN, start_time=START),
                    CalendarIntervalTrigger(days=1, hour=9, start_date=START),
                ]
            ),
            IntervalTrigger(minutes=20, start_time=START),
        ]
    ),
}


def take(trigger: Trigger, n: int) -> list[datetime | None]:
    """The next ``n`` fire times of ``trigger`` (``None`` once it is exhausted)."""
    return [trigger.next() for _ in range(n)]
