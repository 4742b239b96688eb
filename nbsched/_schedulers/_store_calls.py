"""Store calls of :class:`~nbsched.AsyncScheduler`, through the retry policy
(:class:`.._retry.RetryPolicy`): how long they retry, how the waits between attempts count for
:class:`~nbsched.FakeClock`, and what is published when a call gives up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from ..events import DataStoreRetryGaveUp
from ._core import SchedulerCore

__all__ = ["StoreCalls"]

P = ParamSpec("P")
T = TypeVar("T")


class StoreCalls(SchedulerCore):
    """The scheduler's one way to call its data store."""

    def _call(
        self,
        operation: str,
        func: Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Awaitable[T]:
        """Call a store method through the retry policy (directly when the store declares no
        temporary errors: nothing to retry)."""
        if self._retry.temporary_errors:
            return self._retry.call(operation, func, *args, **kwargs)
        return func(*args, **kwargs)

    def _retries_persist(self) -> bool:
        """Whether a failing store call keeps retrying past the retry window: the scheduler's
        own calls do (until it is asked to stop); those of its users give up and raise."""
        return not self._stop_requested and self._activity.tracks(asyncio.current_task())

    @property
    def store_unavailable_since(self) -> datetime | None:
        """When the data store became unavailable (temporary errors for longer than the retry
        window), or ``None`` while it is usable. See :attr:`store_unavailable_reason`."""
        return self._outage.unavailable_since

    @property
    def store_unavailable_reason(self) -> str | None:
        """The last error of the store while it is unavailable (``"Type: message"``)."""
        return self._outage.reason

    async def _retry_sleep(self, seconds: float) -> None:
        deadline = self.clock.now() + timedelta(seconds=seconds)
        current = asyncio.current_task()
        tracked = self._activity.tracks(current)
        if self._stop_requested and tracked:
            # stopping: what the scheduler still hands back (schedules, unstarted jobs) gets
            # its attempts without the waits, so that a stop never waits out a retry window
            await asyncio.sleep(0)
            return
        if current is self._loop_task and current is not None:
            # the processing loop waits as it does when idle: a stop request (or a change in
            # the schedules) wakes it at once; a wake-up pending from before only leads to
            # the attempt that follows anyway
            self._wake_pending = False
            await self._wait(deadline)
            return
        if not tracked:
            await self.clock.sleep_until(deadline)
            return
        # a tracked task (a job runner, a housekeeping loop) waits on the clock here: it is
        # idle for FakeClock.advance() until the wait ends
        with self._activity.waiting:
            await self.clock.sleep_until(deadline)

    async def _on_retry_give_up(self, operation: str, attempts: int, exc: BaseException) -> None:
        try:
            await self.event_broker.publish(
                DataStoreRetryGaveUp(
                    timestamp=self.clock.now(),
                    operation=operation,
                    attempts=attempts,
                    exception=f"{type(exc).__name__}: {exc}",
                )
            )
        except Exception:
            self.logger.exception("could not publish DataStoreRetryGaveUp")
