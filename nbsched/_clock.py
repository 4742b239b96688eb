"""Where the scheduler gets the time from: the system clock, or a fake one tests drive by hand.

The scheduler reads the time only through :meth:`Clock.now` and waits only through
:meth:`Clock.sleep_until` (or on events), so a :class:`FakeClock` makes every moment of its life
reproducible::

    clock = FakeClock()
    async with AsyncScheduler(clock=clock) as scheduler:
        await scheduler.add_schedule(tick, IntervalTrigger(seconds=10))
        scheduler.start_in_background()
        await clock.advance(60)   # returns once the due jobs have run
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from abc import ABCMeta, abstractmethod
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["Clock", "SystemClock", "FakeClock", "Activity"]


class Activity:
    """Which of a scheduler's tasks are working right now, for :class:`FakeClock`: it waits
    until none is, to know that the scheduler has caught up after the time moved.

    The one rule: a task the scheduler tracks (:meth:`track`) counts as working from then
    until it is untracked (:meth:`untrack`), except inside ``with activity.waiting:`` blocks,
    where it waits on the clock or on code that is not the scheduler's (a job's own
    coroutine). The processing loop, the housekeeping loops and one task per job are tracked;
    nothing else counts.
    """

    __slots__ = ("_count", "_idle", "_tasks", "waiting")

    def __init__(self) -> None:
        self._count = 0
        self._idle: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: ``with activity.waiting:`` in a tracked task: it does not count as working inside
        self.waiting = _Waiting(self)

    @property
    def busy_count(self) -> int:
        """How many tracked tasks are working (not inside a ``waiting`` block)."""
        return self._count

    def track(self, task: asyncio.Task[Any]) -> None:
        """``task`` counts as working until :meth:`untrack` (or inside ``waiting``)."""
        self._tasks.add(task)
        self._count += 1

    def untrack(self, task: asyncio.Task[Any]) -> None:
        """Undo :meth:`track` (called by the task itself, or for it once it has ended)."""
        self._tasks.discard(task)
        self._count -= 1  # _done(), inline: once per job
        if self._count == 0 and self._idle is not None:
            self._idle.set()

    def tracks(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether ``task`` is tracked."""
        return task in self._tasks

    def _done(self) -> None:
        self._count -= 1
        if self._count == 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self) -> None:
        """Return when nothing is busy."""
        while self._count:
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            await self._idle.wait()


class _Waiting:
    """``with activity.waiting:``: the tracked task running the block is not working inside
    it. One object serves every task (it keeps no state of a block)."""

    __slots__ = ("_activity",)

    def __init__(self, activity: Activity) -> None:
        self._activity = activity

    def __enter__(self) -> None:
        activity = self._activity
        activity._count -= 1  # _done(), inline: once per job
        if activity._count == 0 and activity._idle is not None:
            activity._idle.set()

    def __exit__(self, *exc_info: object) -> None:
        self._activity._count += 1


class Clock(metaclass=ABCMeta):
    """The scheduler's source of time. Subclass it to supply your own."""

    __slots__ = ()

    @abstractmethod
    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""

    @abstractmethod
    async def sleep_until(self, deadline: datetime) -> None:
        """Return at ``deadline`` (at once if it has passed)."""

    def register_activity(self, activity: Activity) -> None:  # noqa: B027 (optional hook)
        """Called by a scheduler that uses this clock; a fake clock waits for it to go idle."""

    def unregister_activity(self, activity: Activity) -> None:  # noqa: B027 (optional hook)
        """Undo :meth:`register_activity`."""


class SystemClock(Clock):
    """The real time, read from :func:`datetime.now` and waited for on the event loop."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep_until(self, deadline: datetime) -> None:
        # Sleeping in small steps at the end corrects for the wall clock and the loop's
        # monotonic clock drifting apart over a long sleep.
        while True:
            delay = (deadline - datetime.now(timezone.utc)).total_seconds()
            if delay <= 0:
                return
            if delay > 60:
                await asyncio.sleep(delay - 30)
            else:
                await asyncio.sleep(delay)
                if datetime.now(timezone.utc) >= deadline:
                    return

    def __repr__(self) -> str:
        return "SystemClock()"


_DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


class FakeClock(Clock):
    """A clock that moves only when told to; for tests and for exploring schedules.

    :param start: the starting time (aware); default 2026-01-01 00:00 UTC

    :meth:`advance` and :meth:`set` move the time forward, wake what was sleeping until then and
    return only once every scheduler using this clock has processed what became due and every
    job it started has finished or is blocked on something other than the scheduler. So a test
    reads::

        await clock.advance(60)
        assert len(calls) == 6

    with no real sleep anywhere.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = _DEFAULT_START
        if not isinstance(start, datetime):
            raise TypeError(f"start: expected a datetime, got {type(start).__name__} {start!r}")
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start: {start!r} is a naive datetime; give it a tzinfo")
        self._now = start.astimezone(timezone.utc)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()
        self._activities: list[Activity] = []

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, deadline: datetime) -> None:
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._counter), future))
        try:
            await future
        finally:
            if not future.done():
                future.cancel()  # the heap entry is dropped when it surfaces

    def register_activity(self, activity: Activity) -> None:
        if activity not in self._activities:
            self._activities.append(activity)

    def unregister_activity(self, activity: Activity) -> None:
        if activity in self._activities:
            self._activities.remove(activity)

    async def advance(self, by: timedelta | float) -> None:
        """Move the time forward by ``by`` (a timedelta or seconds) and let everything due run."""
        if isinstance(by, bool) or not isinstance(by, (timedelta, int, float)):
            raise TypeError(
                f"by: expected a timedelta or a number of seconds, got {type(by).__name__} {by!r}"
            )
        if not isinstance(by, timedelta):
            by = timedelta(seconds=by)
        if by < timedelta(0):
            raise ValueError(f"by: {by!r} is negative; a clock only moves forward")
        await self.set(self._now + by)

    async def set(self, to: datetime) -> None:
        """Move the time forward to ``to`` (aware) and let everything due run."""
        if not isinstance(to, datetime):
            raise TypeError(f"to: expected a datetime, got {type(to).__name__} {to!r}")
        if to.tzinfo is None or to.utcoffset() is None:
            raise ValueError(f"to: {to!r} is a naive datetime; give it a tzinfo")
        if to < self._now:
            raise ValueError(f"to: {to!r} is before the clock's time {self._now!r}")
        await self.settle()
        # Step from one sleeper's deadline to the next, so that a scheduler sees every
        # intermediate time a real clock would have shown it (a job that sleeps until a
        # later fire time, a lease renewal...), not just the final one.
        to = to.astimezone(timezone.utc)
        while True:
            self._drop_cancelled()
            if not self._sleepers or self._sleepers[0][0] > to:
                break
            self._now = max(self._now, self._sleepers[0][0])
            self._wake_due()
            await self.settle()
        self._now = to
        await self.settle()

    async def set_before(self, to: datetime) -> None:
        """Move the time forward to ``to`` (aware), letting run only what was due *before*
        it: what sleeps until ``to`` itself is still asleep when this returns (stop a scheduler
        then, and it stops at ``to`` without having handled what ``to`` brought)."""
        if not isinstance(to, datetime) or to.tzinfo is None or to.utcoffset() is None:
            raise TypeError(f"to: expected an aware datetime, got {to!r}")
        to = to.astimezone(timezone.utc)
        if to <= self._now:
            raise ValueError(f"to: {to!r} is not after the clock's time {self._now!r}")
        await self.set(to - _MICROSECOND)
        self._now = to

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    async def settle(self) -> None:
        """Return when every registered scheduler is idle and no other task is ready to run."""
        loop = asyncio.get_running_loop()
        quiet_rounds = 0
        while quiet_rounds < 3:
            await asyncio.sleep(0)
            busy = [activity for activity in self._activities if activity.busy_count]
            if busy:
                quiet_rounds = 0
                for activity in busy:
                    await activity.wait_idle()
                continue
            # ``_ready`` is asyncio's queue of callbacks to run next; empty means every task is
            # waiting on something. Without it (another loop implementation), a few rounds of
            # yielding stand in for it.
            ready = getattr(loop, "_ready", None)
            if ready is not None and len(ready):
                quiet_rounds = 0
                continue
            quiet_rounds += 1

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"
