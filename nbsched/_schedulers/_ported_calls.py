"""Scheduler calls that APScheduler 4 code uses, built on the scheduler's own primitives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .._structures import Task
from ..events import Event
from ._core import SchedulerCore

if TYPE_CHECKING:
    from ..abc import Subscription

__all__ = ["PortedCalls"]

E = TypeVar("E", bound=Event)


class PortedCalls(SchedulerCore):
    """``cleanup()``, ``get_tasks()`` and ``get_next_event()`` for :class:`AsyncScheduler`."""

    if TYPE_CHECKING:

        def subscribe(
            self,
            callback: Callable[[Event], Any],
            event_types: Iterable[type[Event]] | type[Event] | None = None,
            *,
            one_shot: bool = False,
        ) -> Subscription: ...

    async def cleanup(self) -> None:
        """Purge expired job results, finished schedules and abandoned jobs now (the scheduler
        also does it every ``cleanup_interval`` while it runs)."""
        await self._usable()
        now: datetime = self.clock.now()
        await self._call("cleanup", self.data_store.cleanup, now)

    async def get_tasks(self) -> list[Task]:
        """Return every task (copies), sorted by id."""
        await self._usable()
        tasks: list[Task] = await self._call("get_tasks", self.data_store.get_tasks)
        return tasks

    @overload
    async def get_next_event(self, event_types: type[E]) -> E: ...

    @overload
    async def get_next_event(self, event_types: Iterable[type[Event]]) -> Event: ...

    async def get_next_event(self, event_types: type[Event] | Iterable[type[Event]]) -> Event:
        """Wait for the next event of one of ``event_types`` and return it."""
        received: asyncio.Future[Event] = asyncio.get_running_loop().create_future()

        def receive(event: Event) -> None:
            if not received.done():
                received.set_result(event)

        with self.subscribe(receive, event_types, one_shot=True):
            return await received
