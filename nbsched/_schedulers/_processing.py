"""The decisions the scheduler takes for a due schedule: which fire times become jobs (coalesce),
how much jitter each gets, and until when each may start (misfire grace time)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .._enums import CoalescePolicy
from ..abc import Trigger

__all__ = ["due_fire_times", "pick_jitter", "skip_fire_times_before"]

_ZERO = timedelta(0)


def due_fire_times(
    trigger: Trigger, next_fire_time: datetime, now: datetime, coalesce: CoalescePolicy
) -> tuple[list[datetime], datetime, datetime | None]:
    """Advance ``trigger`` past ``now``.

    :param next_fire_time: the schedule's next fire time (due: ``<= now``)
    :return: (the fire times to create jobs for, the last due fire time, the first fire time
        after ``now`` or ``None`` if the trigger ran out)
    """
    if coalesce is CoalescePolicy.all:
        chosen = [next_fire_time]
        last = next_fire_time
        upcoming = trigger.next()
        while upcoming is not None and upcoming <= now:
            chosen.append(upcoming)
            last = upcoming
            upcoming = trigger.next()
        return chosen, last, upcoming
    first = last = next_fire_time
    upcoming = trigger.next()
    while upcoming is not None and upcoming <= now:
        last = upcoming
        upcoming = trigger.next()
    return [first if coalesce is CoalescePolicy.earliest else last], last, upcoming


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
    ``resume_at`` hook when it has one, see :class:`~nbsched.abc.Trigger`)."""
    resume_at = getattr(trigger, "resume_at", None)
    if callable(resume_at):
        if next_fire_time is None or resume_at(next_fire_time, resume_from) is None:
            return None
        return trigger.next()
    while next_fire_time is not None and next_fire_time < resume_from:
        next_fire_time = trigger.next()
    return next_fire_time
