"""Exceptions a user of nbsched can meet. Each has a message that says what went wrong."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID


class NbschedError(Exception):
    """Base class of every nbsched-specific error."""


class TaskLookupError(NbschedError, LookupError):
    """No task with the given id exists in the data store."""

    def __init__(self, task_id: str):
        super().__init__(f"no task with id {task_id!r}")
        self.task_id = task_id


class ScheduleLookupError(NbschedError, LookupError):
    """No schedule with the given id exists in the data store."""

    def __init__(self, schedule_id: str):
        super().__init__(f"no schedule with id {schedule_id!r}")
        self.schedule_id = schedule_id


class JobLookupError(NbschedError, LookupError):
    """No job with the given id exists in the data store."""

    def __init__(self, job_id: UUID):
        super().__init__(f"no job with id {job_id}")
        self.job_id = job_id


class JobResultNotReady(JobLookupError):
    """The job has not finished yet (raised by ``get_job_result(..., wait=False)``).

    A :class:`JobLookupError`, as APScheduler 4 raises for a result that is not ready, so
    ``except JobLookupError`` catches it; catch this class to tell "not finished yet" apart
    from "no such job".
    """

    def __init__(self, job_id: UUID):
        LookupError.__init__(self, f"no result yet for job {job_id}")
        self.job_id = job_id


class JobCancelled(NbschedError):
    """The job was cancelled before it finished."""


class JobDeadlineMissed(NbschedError):
    """The job could not start before its start deadline (misfire grace time) passed."""


class ConflictingIdError(NbschedError, KeyError):
    """A schedule with this id already exists and the conflict policy is ``exception``."""

    def __init__(self, schedule_id: str):
        super().__init__(f"a schedule with id {schedule_id!r} already exists")
        self.schedule_id = schedule_id

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class SerializationError(NbschedError):
    """A value could not be serialized (so nothing was stored)."""


class DeserializationError(NbschedError):
    """Stored data could not be turned back into objects."""


class SchedulerNotRunningError(NbschedError, RuntimeError):
    """The operation needs a running scheduler."""

    def __init__(self, message: str = "the scheduler is not running"):
        super().__init__(message)


class DataStoreError(NbschedError):
    """A data store failed permanently (bad file, wrong schema version, bad credentials...)."""


class TriggerContractError(NbschedError, AssertionError):
    """A trigger broke the trigger contract (raised by :func:`nbsched.testing.check_trigger`)."""

    def __init__(self, rule: str, call: int, detail: str, values: Any = None):
        self.rule = rule
        self.call = call
        self.detail = detail
        self.values = values
        super().__init__(f"rule broken: {rule} (at call {call}): {detail}")


class MaxIterationsReached(NbschedError, RuntimeError):
    """An :class:`~nbsched.triggers.AndTrigger` examined ``max_iterations`` fire times of its
    triggers without finding one they agree on (they may never agree)."""

    def __init__(self, trigger: object, max_iterations: int):
        super().__init__(
            f"{trigger!r}: no common fire time found in {max_iterations} iterations (the "
            f"combined triggers may never fire within the threshold of each other; raise "
            f"max_iterations if they do but rarely)"
        )
        self.max_iterations = max_iterations


class DataStoreUnavailableError(DataStoreError):
    """The data store has been failing with temporary errors (locked, full, unreachable) for
    longer than the scheduler's retry window, so a call was given up.

    The scheduler itself keeps running and retrying; try the call again once the store is back.
    The last temporary error is the ``__cause__``.
    """

    def __init__(self, store: str, operation: str, since: datetime, reason: str):
        super().__init__(
            f"{store} is unavailable since {since.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC "
            f"({reason}); "
            f"{operation} was not done. The scheduler keeps running and retries by itself: "
            f"try again once the store is back"
        )
        self.store = store
        self.operation = operation
        self.since = since
        self.reason = reason
