"""Upcoming fire times as a pandas DataFrame, and previews of triggers with their contract check.

:func:`timeline` turns a trigger, a :class:`~nbsched.Schedule`, a list (or a ``{name: ...}``
mapping) of them, or a scheduler into a DataFrame of fire times. It always works on copies of
the triggers (:func:`~nbsched._marshalling.clone_trigger`), so a live schedule's trigger is never
advanced. :func:`preview` is for prototyping a trigger: the next fire times, a chart and the
result of :func:`nbsched.testing.check_trigger`, in one rich output.

This module imports pandas; ``import nbsched`` does not import it (the names are lazy).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

import pandas as pd

from ._converters import as_aware_datetime, as_timezone
from ._marshalling import clone_trigger
from ._preview import ContractResult, TriggerPreview, preview
from ._protocols import SchedulerLike, sync_store_of
from ._runs import RunHistory, RunTracker, apast_runs, past_runs, track_runs
from ._scheduler_reads import _is_scheduler, is_blocking, reads_synchronously
from ._structures import Schedule
from .abc import Trigger

__all__ = [
    "COLUMNS",
    "ContractResult",
    "RunHistory",
    "RunTracker",
    "TriggerPreview",
    "apast_runs",
    "atimeline",
    "describe_trigger",
    "past_runs",
    "preview",
    "reads_synchronously",
    "timeline",
    "track_runs",
]

#: The columns of every DataFrame :func:`timeline` returns, in order.
COLUMNS = ["schedule_id", "fire_time", "trigger", "paused", "n"]

#: Fire times per schedule when neither ``end`` nor ``limit`` is given.
DEFAULT_LIMIT = 20
#: Most fire times one schedule may contribute when only ``end`` bounds it.
MAX_FIRES_PER_SCHEDULE = 10_000
#: Most ``next()`` calls spent skipping fire times before ``start``.
MAX_SKIPPED = 100_000


@dataclass(frozen=True, slots=True)
class _Lane:
    """One row of the timeline: a trigger copy and where its sequence starts."""

    schedule_id: str
    trigger: Trigger  # a clone; advancing it is harmless
    first: datetime | None  # the schedule's stored next fire time, already taken from trigger
    use_first: bool
    paused: bool
    label: str


def describe_trigger(trigger: Trigger) -> str:
    """A short readable description of ``trigger`` (its ``str()``, or its class name)."""
    text = str(trigger)
    if text.startswith("<") and " object at 0x" in text:
        return type(trigger).__name__
    return text


def _lane_for_schedule(schedule: Schedule) -> _Lane:
    # A stored schedule's trigger has already produced ``next_fire_time``; a schedule built by
    # hand and never stored has neither fire time and its trigger is fresh.
    fresh = schedule.next_fire_time is None and schedule.last_fire_time is None
    return _Lane(
        schedule_id=schedule.id,
        trigger=clone_trigger(schedule.trigger),
        first=schedule.next_fire_time,
        use_first=not fresh,
        paused=schedule.paused,
        label=describe_trigger(schedule.trigger),
    )


def _lane_for_trigger(name: str, trigger: Trigger) -> _Lane:
    return _Lane(
        schedule_id=name,
        trigger=clone_trigger(trigger),
        first=None,
        use_first=False,
        paused=False,
        label=describe_trigger(trigger),
    )


def _lane_for_item(name: str, item: Any, argument: str) -> _Lane:
    if isinstance(item, Trigger):
        return _lane_for_trigger(name, item)
    if isinstance(item, Schedule):
        return _lane_for_schedule(item)
    raise TypeError(
        f"{argument}: expected a Trigger or a Schedule, got {type(item).__name__} {item!r}"
    )


def _result_without_suspending(coro: Any) -> tuple[bool, Any]:
    """Run a coroutine that may finish without ever waiting (like the memory store's reads).

    Returns ``(True, result)`` if it did; otherwise closes it and returns ``(False, None)``.
    """
    try:
        coro.send(None)
    except StopIteration as stop:
        return True, stop.value
    coro.close()
    return False, None


def _schedules_from_scheduler(scheduler: SchedulerLike) -> list[Schedule]:
    """Read a scheduler's schedules synchronously, whichever kind of scheduler it is."""
    if is_blocking(scheduler):
        return list(scheduler.get_schedules())
    # An AsyncScheduler. A sync store (wrapped by the scheduler's adapter) is thread-safe and
    # can be read directly; the memory store's read never waits and is stepped to completion
    # here. Any other store is never stepped (a network store's read abandoned halfway would
    # leave its connection mid-query): it needs ``await atimeline(...)``.
    store = scheduler.data_store
    inner = sync_store_of(store)
    if inner is not None:
        return list(inner.get_schedules())
    if reads_synchronously(scheduler):
        done, schedules = _result_without_suspending(store.get_schedules())
        if done:
            return list(schedules)
    raise TypeError(
        f"obj: the schedules in {type(store).__name__} can only be read asynchronously; "
        f"use `await nbsched.atimeline(scheduler)` (works in a notebook cell) or "
        f"nbsched.widgets.Timeline(scheduler)"
    )


def _lanes(obj: Any) -> list[_Lane]:
    if isinstance(obj, Trigger):
        return [_lane_for_trigger("trigger", obj)]
    if isinstance(obj, Schedule):
        return [_lane_for_schedule(obj)]
    if _is_scheduler(obj):
        return [_lane_for_schedule(s) for s in _schedules_from_scheduler(obj)]
    if isinstance(obj, Mapping):
        for key in obj:
            if not isinstance(key, str):
                raise TypeError(f"obj: mapping keys must be lane names (str), got {key!r}")
        lanes = [_lane_for_item(key, item, f"obj[{key!r}]") for key, item in obj.items()]
        # A schedule in a mapping is named by its key, like a trigger.
        return [
            _Lane(key, lane.trigger, lane.first, lane.use_first, lane.paused, lane.label)
            for key, lane in zip(obj, lanes, strict=True)
        ]
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        items = list(obj)
        return [
            _lane_for_item(f"trigger-{index + 1}", item, f"obj[{index}]")
            for index, item in enumerate(items)
        ]
    raise TypeError(
        f"obj: expected a Trigger, a Schedule, a list or dict of them, or a scheduler; got "
        f"{type(obj).__name__} {obj!r}"
    )


def _check_fire_time(lane: _Lane, value: Any, call: int) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(
            f"trigger {lane.label} (lane {lane.schedule_id!r}) returned {value!r} from next() "
            f"call {call}; a trigger must return a timezone-aware datetime or None"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"trigger {lane.label} (lane {lane.schedule_id!r}) returned the naive datetime "
            f"{value!r} from next() call {call}; a trigger must return aware datetimes"
        )
    return value


def _fire_times(
    lane: _Lane, start: datetime | None, end: datetime | None, limit: int | None
) -> list[datetime]:
    """Walk the lane's trigger copy from its current state and collect the fire times.

    Comparisons are made in UTC: Python compares two datetimes that share a tzinfo by their
    wall-clock values, which gets the repeated hour of a DST fall-back wrong.
    """
    start_utc = None if start is None else start.astimezone(timezone.utc)
    end_utc = None if end is None else end.astimezone(timezone.utc)
    cap = limit if limit is not None else MAX_FIRES_PER_SCHEDULE
    fires: list[datetime] = []
    skipped = 0
    call = 0
    previous: datetime | None = None
    previous_utc: datetime | None = None
    pending_first = lane.use_first
    while len(fires) < cap:
        if pending_first:
            pending_first = False
            value: Any = lane.first
        else:
            call += 1
            value = lane.trigger.next()
        if value is None:
            return fires
        fire_time = _check_fire_time(lane, value, call)
        fire_utc = fire_time.astimezone(timezone.utc)
        if previous_utc is not None and fire_utc <= previous_utc:
            # A broken trigger could otherwise keep this loop going forever.
            raise ValueError(
                f"trigger {lane.label} (lane {lane.schedule_id!r}) returned {fire_time} after "
                f"{previous} (next() call {call}); fire times must strictly increase — check "
                f"it with nbsched.testing.check_trigger"
            )
        previous, previous_utc = fire_time, fire_utc
        if end_utc is not None and fire_utc > end_utc:
            return fires
        if start_utc is not None and fire_utc < start_utc:
            skipped += 1
            if skipped > MAX_SKIPPED:
                raise ValueError(
                    f"start: more than {MAX_SKIPPED} fire times of lane {lane.schedule_id!r} "
                    f"come before {start}; pick a later start"
                )
            continue
        fires.append(fire_time)
    if limit is None:
        raise ValueError(
            f"end: lane {lane.schedule_id!r} has more than {MAX_FIRES_PER_SCHEDULE} fire times "
            f"before {end}; pass limit= or an earlier end"
        )
    return fires


def _display_zone(fires: list[datetime], tz: str | tzinfo | None) -> tzinfo:
    if tz is not None:
        return as_timezone(tz, argument="tz")
    keys = {str(f.tzinfo) for f in fires}
    if len(keys) == 1:
        return fires[0].tzinfo  # type: ignore[return-value]
    return as_timezone("UTC")


def _check_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit: expected a positive int or None, got {type(limit).__name__}")
    if limit < 1:
        raise ValueError(f"limit: expected a positive int or None, got {limit!r}")
    return limit


def _frame(
    lanes: list[_Lane],
    start: Any,
    end: Any,
    limit: Any,
    tz: str | tzinfo | None,
) -> pd.DataFrame:
    start_dt = as_aware_datetime(start, argument="start")
    end_dt = as_aware_datetime(end, argument="end")
    if (
        start_dt is not None
        and end_dt is not None
        and end_dt.astimezone(timezone.utc) < start_dt.astimezone(timezone.utc)
    ):
        raise ValueError(f"end: {end_dt} is before start {start_dt}")
    limit_n = _check_limit(limit)
    if limit_n is None and end_dt is None:
        limit_n = DEFAULT_LIMIT
    rows: list[tuple[str, datetime, str, bool, int]] = []
    for lane in lanes:
        for index, fire_time in enumerate(_fire_times(lane, start_dt, end_dt, limit_n)):
            rows.append((lane.schedule_id, fire_time, lane.label, lane.paused, index + 1))
    zone = _display_zone([row[1] for row in rows], tz)
    fire_times = pd.to_datetime([row[1] for row in rows], utc=True).tz_convert(zone)
    frame = pd.DataFrame(
        {
            "schedule_id": pd.Series([row[0] for row in rows], dtype=object),
            "fire_time": fire_times,
            "trigger": pd.Series([row[2] for row in rows], dtype=object),
            "paused": pd.Series([row[3] for row in rows], dtype=bool),
            "n": pd.Series([row[4] for row in rows], dtype="int64"),
        },
        columns=COLUMNS,
    )
    frame = frame.sort_values(["fire_time", "schedule_id"], kind="stable", ignore_index=True)
    return frame


def timeline(
    obj: Any,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    limit: int | None = None,
    *,
    tz: str | tzinfo | None = None,
) -> pd.DataFrame:
    """Return the upcoming fire times of triggers or schedules as a DataFrame.

    Live triggers are never advanced: every trigger is copied first (through its own
    ``__getstate__``/``__setstate__``).

    :param obj: a :class:`~nbsched.abc.Trigger`, a :class:`~nbsched.Schedule`, a list of them
        (lanes named ``trigger-1``, ``trigger-2``, ... for triggers, by id for schedules), a
        ``{lane name: trigger or schedule}`` dict, or a scheduler (a :class:`~nbsched.Scheduler`,
        or an :class:`~nbsched.AsyncScheduler` whose store can be read synchronously; otherwise
        use :func:`atimeline`)
    :param start: leave out fire times before this (aware datetime or ISO 8601 string)
    :param end: stop at this time (inclusive)
    :param limit: at most this many fire times per schedule; without ``end`` it defaults to
        :data:`DEFAULT_LIMIT`
    :param tz: time zone of the ``fire_time`` column; by default the triggers' own zone when
        they share one, else UTC
    :return: a DataFrame with the columns ``schedule_id``, ``fire_time`` (tz-aware),
        ``trigger`` (readable), ``paused`` and ``n`` (1 for a schedule's next fire), sorted by
        ``fire_time``
    :raises TypeError: ``obj`` is none of the above, or a trigger returned a non-datetime
    :raises ValueError: bad ``start``/``end``/``limit``, a trigger returned a naive or
        non-increasing datetime, or ``end`` alone lets a schedule fire more than
        :data:`MAX_FIRES_PER_SCHEDULE` times

    Example::

        >>> nbsched.timeline(CronTrigger(hour="9-17", timezone="Europe/Berlin"), limit=5)
    """
    return _frame(_lanes(obj), start, end, limit, tz)


async def atimeline(
    obj: Any,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    limit: int | None = None,
    *,
    tz: str | tzinfo | None = None,
) -> pd.DataFrame:
    """Like :func:`timeline`, awaiting an :class:`~nbsched.AsyncScheduler`'s ``get_schedules``.

    Use it in a notebook cell: ``df = await atimeline(scheduler)``.
    """
    if _is_scheduler(obj) and inspect.iscoroutinefunction(obj.get_schedules):
        lanes = [_lane_for_schedule(s) for s in await obj.get_schedules()]
        return _frame(lanes, start, end, limit, tz)
    return timeline(obj, start, end, limit, tz=tz)
