"""The decisions the scheduler takes for a due schedule: which fire times become jobs (coalesce),
how much jitter each gets, and until when each may start (misfire grace time)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from .._enums import CoalescePolicy
from .._exceptions import TriggerContractError
from ..abc import Trigger
from ..testing import RULE_AWARE, RULE_INCREASING, RULE_TYPE

__all__ = [
    "MAX_JOBS_PER_WAKEUP",
    "MAX_STEPS_PER_WAKEUP",
    "due_fire_times",
    "first_fire_time",
    "pick_jitter",
    "skip_fire_times_before",
]

_ZERO = timedelta(0)
_UTC = timezone.utc
_UNSET = object()  # _past_pending: no value given

#: the most jobs one schedule gets per wake-up (``CoalescePolicy.all``); the rest of its due
#: fire times become jobs on the following wake-ups, so one schedule that missed a million
#: fire times neither fills the memory nor keeps the others waiting
MAX_JOBS_PER_WAKEUP = 1000
#: the most ``next()`` calls for one schedule per wake-up while skipping coalesced fire times
MAX_STEPS_PER_WAKEUP = 100_000


def first_fire_time(trigger: Trigger) -> datetime | None:
    """``trigger.next()``, checked to be an aware datetime or None.

    :raises TriggerContractError: it is not
    """
    value = trigger.next()
    if type(value) is datetime and value.utcoffset() is not None:
        return value  # (every add comes here: the common case without a call)
    return _checked(value, None, 1)


def _past_pending(trigger: Trigger, pending: datetime, value: object = _UNSET) -> object:
    """``trigger.next()`` (or ``value``, what it returned already), once more if it returned
    ``pending`` itself: a schedule built by hand (``Schedule(trigger=t,
    next_fire_time=first)`` without advancing ``t``) holds a trigger that has not passed its
    pending fire time yet. A second repeat is an error."""
    if value is _UNSET:
        value = trigger.next()
    if (
        isinstance(value, datetime)
        and value.utcoffset() is not None
        and value.astimezone(_UTC) == pending.astimezone(_UTC)
    ):
        return trigger.next()
    return value


def _checked(value: object, previous: datetime | None, call: int) -> datetime | None:
    """``value`` from ``trigger.next()`` if it keeps the trigger contract after ``previous``
    (a datetime or None, aware, strictly later as an instant), else TriggerContractError."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TriggerContractError(
            RULE_TYPE, call, f"next() returned {type(value).__name__} {value!r:.100}", value
        )
    if value.utcoffset() is None:
        raise TriggerContractError(
            RULE_AWARE, call, f"next() returned the naive datetime {value.isoformat()}", value
        )
    # compared as instants: two datetimes of one zone compare by wall time, ignoring fold
    if previous is not None and value.astimezone(_UTC) <= previous.astimezone(_UTC):
        raise TriggerContractError(
            RULE_INCREASING,
            call,
            f"next() returned {value.isoformat()} after {previous.isoformat()}",
            (previous, value),
        )
    return value


def due_fire_times(
    trigger: Trigger,
    next_fire_time: datetime,
    now: datetime,
    coalesce: CoalescePolicy,
    *,
    continuing: bool = False,
    max_jobs: int = MAX_JOBS_PER_WAKEUP,
    max_steps: int = MAX_STEPS_PER_WAKEUP,
) -> tuple[list[datetime], datetime, datetime | None, bool]:
    """Advance ``trigger`` past ``now``, or as far as one wake-up's share of work allows.

    :param next_fire_time: the schedule's next fire time (due: ``<= now``)
    :param continuing: this schedule was cut short at the previous wake-up (its coalesced
        ``earliest`` job already exists)
    :param max_jobs: the most fire times returned (``CoalescePolicy.all``)
    :param max_steps: the most ``next()`` calls
    :return: (the fire times to create jobs for, the last due fire time processed, the
        schedule's next fire time (``None`` if the trigger ran out), whether it was cut short:
        then that next fire time is still due, and the coalesced job of ``latest`` is only
        created once the trigger has caught up)
    :raises TriggerContractError: the trigger returned something other than a datetime or
        None, a naive datetime, or a fire time not later than the one before it
    """
    value = trigger.next()
    if value is None:
        # the trigger ran out (a date trigger fires once): what the loop below returns then
        earliest_done = continuing and coalesce is CoalescePolicy.earliest
        return [] if earliest_done else [next_fire_time], next_fire_time, None, False
    last = next_fire_time
    chosen = [] if continuing and coalesce is not CoalescePolicy.all else [next_fire_time]
    limit = max_jobs if coalesce is CoalescePolicy.all else max_steps
    steps = 0
    upcoming = _checked(_past_pending(trigger, next_fire_time, value), last, 1)
    while upcoming is not None and upcoming <= now:
        last = upcoming
        if coalesce is CoalescePolicy.all:
            chosen.append(upcoming)
        steps += 1
        if steps >= limit or len(chosen) >= max_jobs:
            upcoming = _checked(trigger.next(), last, steps + 1)
            if upcoming is not None and upcoming <= now:
                # cut short: the rest at the next wake-up (latest: no job until caught up)
                if coalesce is CoalescePolicy.latest:
                    chosen = []
                return chosen, last, upcoming, True
            break
        upcoming = _checked(trigger.next(), last, steps + 1)
    if coalesce is CoalescePolicy.latest:
        chosen = [last]
    return chosen, last, upcoming, False


def pick_jitter(
    max_jitter: timedelta | None, fire_time: datetime, next_fire_time: datetime | None
) -> timedelta:
    """A random delay in ``[0, max_jitter]`` that never reaches the following fire time."""
    if not max_jitter:
        return _ZERO
    limit = max_jitter
    if next_fire_time is not None:
        gap = next_fire_time - fire_time
        if gap <= limit:
            # strictly before the next fire: leave it one microsecond
            limit = max(gap - timedelta(microseconds=1), _ZERO)
    return timedelta(microseconds=random.randint(0, limit // timedelta(microseconds=1)))


def skip_fire_times_before(
    trigger: Trigger, next_fire_time: datetime | None, resume_from: datetime
) -> datetime | None:
    """Advance ``trigger`` until its next fire time is at or after ``resume_from`` (through its
    ``resume_at`` hook when it has one, see :class:`~nbsched.abc.Trigger`).

    :raises TriggerContractError: as :func:`due_fire_times`
    """
    resume_at = getattr(trigger, "resume_at", None)
    if callable(resume_at):
        if next_fire_time is None or resume_at(next_fire_time, resume_from) is None:
            return None
        return trigger.next()
    call = 0
    while next_fire_time is not None and next_fire_time < resume_from:
        call += 1
        value = trigger.next() if call > 1 else _past_pending(trigger, next_fire_time)
        next_fire_time = _checked(value, next_fire_time, call)
    return next_fire_time
