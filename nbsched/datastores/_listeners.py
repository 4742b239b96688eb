"""How a store that keeps everything in this process tells the schedulers using it that they
may have work, without building an event per change (see
:meth:`~nbsched.datastores.memory.MemoryDataStore.add_listener`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

__all__ = ["StoreListener"]


class StoreListener(Protocol):
    """What a scheduler is told of, in place of the broker's ``ScheduleAdded``,
    ``ScheduleUpdated``, ``JobAdded`` and ``JobReleased`` events (which are still published
    when somebody subscribes to them). Called on the thread that changed the store."""

    def schedule_changed(self, next_fire_time: datetime | None) -> None:
        """A schedule was added or updated; it fires next at ``next_fire_time``."""

    def job_added(self) -> None:
        """A job was added."""

    def job_released(self, job_id: UUID, scheduler_id: str, jobs_waiting: bool) -> None:
        """A job was released (its result stored) by the scheduler ``scheduler_id``;
        ``jobs_waiting``: other jobs wait to be acquired (the release may make room for one)."""
