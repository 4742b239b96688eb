"""The built-in triggers. Every one follows the contract of :class:`nbsched.abc.Trigger`.

DST rule shared by the triggers that follow the wall clock (calendar interval, cron): a
wall-clock time that does not exist (spring forward) fires at the moment the clocks jump
(02:30 fires at 03:00 CEST); one that exists twice (fall back) fires once, at its first
occurrence. One exception: a cron trigger whose hour field allows every hour fires in both
passes of the repeated hour (``*/15 * * * *`` stays 15 real minutes apart).
:class:`IntervalTrigger` keeps real elapsed time instead. A naive datetime is read in the
trigger's ``timezone`` where it has one (calendar interval, cron) and refused where it has none
(date, interval).
"""

from __future__ import annotations

from .calendarinterval import CalendarIntervalTrigger as CalendarIntervalTrigger
from .combining import AndTrigger as AndTrigger
from .combining import MaxIterationsReached as MaxIterationsReached
from .combining import OrTrigger as OrTrigger
from .cron import CronTrigger as CronTrigger
from .date import DateTrigger as DateTrigger
from .interval import IntervalTrigger as IntervalTrigger

__all__ = [
    "AndTrigger",
    "CalendarIntervalTrigger",
    "CronTrigger",
    "DateTrigger",
    "IntervalTrigger",
    "MaxIterationsReached",
    "OrTrigger",
]
