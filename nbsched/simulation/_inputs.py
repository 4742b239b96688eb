"""What a simulation runs: the schedules and tasks it copies, how long each run takes and when
the scheduler is down, read and checked from the arguments of :func:`nbsched.simulate`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from .._converters import as_aware_datetime
from .._enums import CoalescePolicy
from .._marshalling import clone_trigger
from .._protocols import SchedulerLike, sync_store_of
from .._scheduler_reads import _is_scheduler, is_blocking
from .._schedulers._processing import due_fire_times, first_fire_time, skip_fire_times_before
from .._structures import Schedule, Task
from ..abc import Trigger

__all__ = [
    "DurationOf",
    "Prepared",
    "check_downtime",
    "duration_function",
    "prepare",
    "read_scheduler",
    "reads_synchronously",
    "schedules_and_tasks",
]

DurationOf = Callable[[str, datetime], timedelta]

_ZERO = timedelta(0)
_UTC = timezone.utc
_NO_LIMIT = 10**12
#: what a scheduler runs at once unless told otherwise (AsyncScheduler's default)
DEFAULT_MAX_CONCURRENT_JOBS = 100


def reads_synchronously(scheduler: SchedulerLike) -> bool:
    """Whether ``scheduler``'s schedules and tasks can be read without awaiting."""
    from ..timelines import reads_synchronously as timeline_reads

    return timeline_reads(scheduler)


def _step(coro: Any) -> Any:
    """The result of a coroutine that finishes without waiting (the memory store's reads)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("the store read waited for something")  # pragma: no cover


def read_scheduler(scheduler: SchedulerLike) -> tuple[list[Schedule], list[Task]]:
    """Read a scheduler's schedules and tasks without awaiting (see
    :func:`reads_synchronously`); nothing is changed."""
    if is_blocking(scheduler):
        return list(scheduler.get_schedules()), list(scheduler.get_tasks())
    store = scheduler.data_store
    inner = sync_store_of(store)
    if inner is not None:
        return list(inner.get_schedules()), list(inner.get_tasks())
    if reads_synchronously(scheduler):
        return list(_step(store.get_schedules())), list(_step(store.get_tasks()))
    raise TypeError(
        f"what: the schedules in {type(store).__name__} can only be read asynchronously; "
        f"use `await nbsched.asimulate(...)` (works in a notebook cell)"
    )


def schedules_and_tasks(
    what: Any, read: Callable[[Any], tuple[list[Schedule], list[Task]]] = read_scheduler
) -> tuple[list[Schedule], list[Task], int]:
    """The schedules and tasks ``what`` stands for, and how many jobs may run at once.

    :param what: a scheduler, a list of :class:`~nbsched.Schedule`, or a ``{name: trigger or
        Schedule}`` mapping (each becomes a schedule and a task of that name)
    :param read: how a scheduler's schedules and tasks are read
    """
    if _is_scheduler(what):
        schedules, tasks = read(what)
        return schedules, tasks, what.max_concurrent_jobs
    if isinstance(what, Mapping):
        schedules = []
        for name, item in what.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"what: keys must be schedule names (str), got {name!r}")
            if isinstance(item, Trigger):
                schedules.append(Schedule(id=name, task_id=name, trigger=item))
            elif isinstance(item, Schedule):
                schedules.append(item.copy(id=name))
            else:
                raise TypeError(
                    f"what[{name!r}]: expected a Trigger or a Schedule, got "
                    f"{type(item).__name__} {item!r:.100}"
                )
    elif isinstance(what, Iterable) and not isinstance(what, (str, bytes)):
        schedules = list(what)
        for index, item in enumerate(schedules):
            if not isinstance(item, Schedule):
                raise TypeError(
                    f"what[{index}]: expected a Schedule, got {type(item).__name__} "
                    f"{item!r:.100} (give triggers as a {{name: trigger}} dict)"
                )
    else:
        raise TypeError(
            f"what: expected a scheduler, a list of Schedules or a {{name: trigger}} dict, got "
            f"{type(what).__name__} {what!r:.100}"
        )
    ids = [s.id for s in schedules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"what: schedule ids must be unique; repeated: {duplicates}")
    tasks = [Task(id=task_id) for task_id in dict.fromkeys(s.task_id for s in schedules)]
    return schedules, tasks, DEFAULT_MAX_CONCURRENT_JOBS


class Prepared:
    """A schedule copied for the simulation, and every fire time its trigger gives up to the
    cutoff (from a second copy of the trigger, walked as the scheduler walks it)."""

    __slots__ = ("schedule", "fire_times")

    def __init__(self, schedule: Schedule, fire_times: list[datetime]) -> None:
        self.schedule = schedule
        self.fire_times = fire_times


def prepare(schedule: Schedule, now: datetime, cutoff: datetime) -> Prepared | None:
    """Copy ``schedule`` for a scheduler starting at ``now`` (fire times before it are
    skipped: a scheduler running until then handled them); None if it never fires again.

    The copy keeps the policies (coalesce, misfire grace time, jitter, paused) and leaves out
    the arguments and metadata, which a simulated run does not use.
    """
    trigger = clone_trigger(schedule.trigger)
    fresh = schedule.next_fire_time is None and schedule.last_fire_time is None
    next_fire_time = first_fire_time(trigger) if fresh else schedule.next_fire_time
    next_fire_time = skip_fire_times_before(trigger, next_fire_time, now)
    if next_fire_time is None:
        return None
    copy = Schedule(
        id=schedule.id,
        task_id=schedule.task_id,
        trigger=trigger,
        paused=schedule.paused,
        coalesce=schedule.coalesce,
        misfire_grace_time=schedule.misfire_grace_time,
        max_jitter=schedule.max_jitter,
        next_fire_time=next_fire_time,
    )
    fire_times: list[datetime] = []  # a paused schedule does not fire
    if next_fire_time <= cutoff and not schedule.paused:
        fire_times, *_ = due_fire_times(
            clone_trigger(trigger),
            next_fire_time,
            cutoff,
            CoalescePolicy.all,
            max_jobs=_NO_LIMIT,
            max_steps=_NO_LIMIT,
        )
    return Prepared(copy, fire_times)


def _as_duration(value: Any, argument: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (timedelta, int, float)):
        raise TypeError(
            f"{argument}: expected a timedelta or a number of seconds, got "
            f"{type(value).__name__} {value!r:.100}"
        )
    duration = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if duration < _ZERO:
        raise ValueError(f"{argument}: {value!r} is negative; a run cannot take negative time")
    return duration


def duration_function(durations: Any, schedule_ids: Iterable[str]) -> DurationOf:
    """``durations`` as a function of (schedule id, fire time).

    :param durations: None (runs take no time), a timedelta or seconds (every run), a
        ``{schedule_id: timedelta}`` dict (schedules left out take no time) or a callable
        ``(schedule_id, fire_time) -> timedelta``
    """
    if durations is None:
        return lambda schedule_id, fire_time: _ZERO
    if isinstance(durations, Mapping):
        known = set(schedule_ids)
        by_id: dict[str, timedelta] = {}
        for key, value in durations.items():
            if key not in known:
                raise ValueError(
                    f"durations: {key!r} is not the id of a simulated schedule "
                    f"(ids: {sorted(known)})"
                )
            by_id[key] = _as_duration(value, f"durations[{key!r}]")
        return lambda schedule_id, fire_time: by_id.get(schedule_id, _ZERO)
    if callable(durations):

        def call(schedule_id: str, fire_time: datetime) -> timedelta:
            value = durations(schedule_id, fire_time)
            return _as_duration(value, f"durations({schedule_id!r}, {fire_time.isoformat()})")

        return call
    constant = _as_duration(durations, "durations")
    return lambda schedule_id, fire_time: constant


def check_downtime(downtime: Any, now: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``downtime`` as sorted, merged ``(from, to)`` intervals in UTC.

    :raises TypeError: not an iterable of pairs
    :raises ValueError: an interval ends before it starts, or starts before ``now`` or at or
        after ``end``
    """
    if isinstance(downtime, (str, bytes)) or not isinstance(downtime, Iterable):
        raise TypeError(f"downtime: expected a list of (from, to) pairs, got {downtime!r:.100}")
    intervals = list(downtime)
    if len(intervals) == 2 and all(isinstance(v, (datetime, str)) for v in intervals):
        raise TypeError(
            f"downtime: expected a list of (from, to) pairs, got one pair {downtime!r:.200}; "
            f"write downtime=[(from, to)]"
        )
    checked = []
    for index, pair in enumerate(intervals):
        argument = f"downtime[{index}]"
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable):
            raise TypeError(f"{argument}: expected a (from, to) pair, got {pair!r:.100}")
        items = list(pair)
        if len(items) != 2:
            raise TypeError(f"{argument}: expected a (from, to) pair, got {pair!r:.100}")
        begin = as_aware_datetime(items[0], argument=f"{argument}[0]")
        until = as_aware_datetime(items[1], argument=f"{argument}[1]")
        assert begin is not None and until is not None
        begin, until = begin.astimezone(_UTC), until.astimezone(_UTC)
        if until <= begin:
            raise ValueError(f"{argument}: it ends ({until}) before it starts ({begin})")
        if begin < now:
            raise ValueError(f"{argument}: it starts ({begin}) before the simulation does ({now})")
        if begin >= end:
            raise ValueError(f"{argument}: it starts ({begin}) after the simulated span ({end})")
        checked.append((begin, until))
    checked.sort()
    merged: list[tuple[datetime, datetime]] = []
    for begin, until in checked:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], until))
        else:
            merged.append((begin, until))
    return merged
