"""Enumerations used across the public API."""

from __future__ import annotations

from enum import Enum


class CoalescePolicy(Enum):
    """What to do when a schedule has several fire times due at once (after a pause or downtime).

    * ``earliest``: run one job, for the earliest missed fire time
    * ``latest``: run one job, for the latest missed fire time
    * ``all``: run a job for every missed fire time
    """

    earliest = "earliest"
    latest = "latest"
    all = "all"


class ConflictPolicy(Enum):
    """What ``add_schedule`` does when a schedule with the same id already exists.

    * ``replace``: replace the existing schedule
    * ``do_nothing``: keep the existing schedule and discard the new one
    * ``exception``: raise :class:`~nbsched.ConflictingIdError`
    """

    replace = "replace"
    do_nothing = "do_nothing"
    exception = "exception"


class JobOutcome(Enum):
    """How a job ended."""

    success = "success"
    error = "error"
    missed_start_deadline = "missed_start_deadline"
    deserialization_failed = "deserialization_failed"
    cancelled = "cancelled"
    abandoned = "abandoned"


class RunState(Enum):
    """Lifecycle state of a scheduler."""

    starting = "starting"
    started = "started"
    stopping = "stopping"
    stopped = "stopped"


class ResumeFrom(Enum):
    """Where :meth:`~nbsched.AsyncScheduler.unpause_schedule` resumes a schedule.

    * ``now``: skip the fire times that passed while paused; next fire is the first one after now
    * ``catch_up``: keep the missed fire times; the coalesce policy decides how many jobs run
    """

    now = "now"
    catch_up = "catch_up"
