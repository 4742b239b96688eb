"""A scheduler's run state, and the one object that changes it.

A *run* is one stretch of processing: it begins when ``start_in_background()`` or
``run_until_stopped()`` is called and ends when its processing loop (and, in the background, the
host task) has finished. The state goes ``stopped -> starting -> started -> stopping ->
stopped``. A stop request belongs to the run it was made in: it is kept until that run ends,
whatever the run is doing when the request arrives (the host task has not taken its first step,
the store is starting, ``SchedulerStarted`` is being published...). A request made while
nothing runs has nothing to stop and is ignored; a new run starts with no request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator
from typing import Any

from .._enums import RunState

__all__ = ["Lifecycle", "Run", "StartInBackground"]


class Run:
    """One run of a scheduler: whether it was asked to stop, and how its start ended."""

    __slots__ = ("started", "stopped", "stop_requested", "ended", "holds", "unheld")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        #: resolved when the start sequence is over: ``None`` once started (or stopped before
        #: it started), else the exception that failed it. Never holds an exception itself,
        #: so that nobody has to retrieve one from it.
        self.started: asyncio.Future[BaseException | None] = loop.create_future()
        self.stopped = asyncio.Event()
        self.stop_requested = False
        self.ended = False
        #: how many callers hold the first processing round back (see :meth:`hold`); set
        #: while none does
        self.holds = 0
        self.unheld = asyncio.Event()
        self.unheld.set()

    def hold(self) -> Callable[[], None]:
        """Keep the first processing round back until the returned function is called (on the
        loop's thread; calling it again does nothing). A stop request lets it go too."""
        self.holds += 1
        self.unheld.clear()
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self.holds -= 1
            if not self.holds:
                self.unheld.set()

        return release


def _nothing() -> None:
    pass


class StartInBackground:
    """What :meth:`AsyncScheduler.start_in_background` returns: the start already runs.

    ``await`` it to wait until the scheduler has started (``SchedulerStarted`` published); it
    raises what made the start fail, and returns at once if the scheduler was stopped before it
    started. Awaited, it holds the first processing round back until the awaiting code runs
    again, so that the jobs already due do not run before the caller can subscribe. Leaving it
    unawaited (a notebook cell's fire-and-forget call) is fine: it is not a coroutine and warns
    about nothing.
    """

    __slots__ = ("_run",)

    def __init__(self, run: Run) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, None]:
        return self._wait().__await__()

    async def _wait(self) -> None:
        # let the first round go only once the awaiting code is running again: whatever it
        # does before its next await (subscribe()) comes before the jobs already due run
        (await self.held())()

    async def held(self) -> Callable[[], None]:
        """Wait as ``await`` does, holding the first processing round back meanwhile; return
        what lets it go (the caller must call it, on the loop's thread)."""
        run = self._run
        release = _nothing if run.started.done() else run.hold()
        try:
            failure = await asyncio.shield(run.started)
        except BaseException:
            release()
            raise
        if failure is not None:
            release()
            raise failure
        return release

    def done(self) -> bool:
        """Whether the start sequence is over (started, failed or stopped before starting)."""
        return self._run.started.done()

    def __repr__(self) -> str:
        return f"<StartInBackground {'done' if self.done() else 'pending'}>"


class Lifecycle:
    """The run state of one scheduler: its state, its current run, its background host task.

    :param wake: called (on the loop's thread) when a stop is requested, to wake the
        processing loop
    """

    __slots__ = ("state", "run", "host_task", "_loop", "_loop_thread", "_wake")

    def __init__(self, wake: Callable[[], None]) -> None:
        self.state = RunState.stopped
        self.run: Run | None = None
        self.host_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake = wake

    @property
    def stop_requested(self) -> bool:
        """Whether the current run was asked to stop."""
        run = self.run
        return run is not None and run.stop_requested

    def host_running(self) -> bool:
        """Whether a background host task exists that has not finished."""
        return self.host_task is not None and not self.host_task.done()

    def begin(self) -> Run:
        """Begin a run on the running loop (state ``starting``).

        :raises RuntimeError: when a run is already going on
        """
        if self.state is not RunState.stopped:
            raise RuntimeError(f"the scheduler is already {self.state.name}")
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._loop_thread = threading.get_ident()
        run = self.run = Run(loop)
        self.state = RunState.starting
        return run

    def join(self) -> Run:
        """The run ``run_until_stopped()`` is to carry out: the background run when called by
        the host task, else a new one.

        :raises RuntimeError: when another run is going on
        """
        run = self.run
        if (
            run is not None
            and self.state is RunState.starting
            and self.host_task is asyncio.current_task()
        ):
            return run
        return self.begin()

    def mark_started(self, run: Run) -> None:
        """The run's processing is set up; ``SchedulerStarted`` is about to be published."""
        if self.run is run:
            self.state = RunState.started

    def announce_started(self, run: Run) -> None:
        """``SchedulerStarted`` is published: let who waits for the start go on."""
        if not run.started.done():
            run.started.set_result(None)

    async def wait_unheld(self, run: Run) -> None:
        """Before the first processing round: wait until those who awaited the start have
        gone on (see :meth:`StartInBackground.held`), or a stop is requested."""
        if run.holds and not run.stop_requested:
            await run.unheld.wait()

    def mark_stopping(self, run: Run) -> None:
        if self.run is run:
            self.state = RunState.stopping

    def mark_stopped(self, run: Run) -> None:
        """The run's processing has ended; ``SchedulerStopped`` is about to be published."""
        if self.run is run:
            self.state = RunState.stopped

    def end(self, run: Run, failure: BaseException | None = None) -> None:
        """The run is over (``failure``: what ended it before it started, if anything)."""
        if run.ended:
            return
        run.ended = True
        if not run.started.done():
            run.started.set_result(failure)
        if self.run is run:
            self.run = None
            self.state = RunState.stopped
        run.stopped.set()

    def starting(self) -> bool:
        """Whether a run's start sequence is under way (see :meth:`wait_started`)."""
        run = self.run
        return run is not None and not run.started.done()

    async def wait_started(self) -> None:
        """If a run is starting (and the caller is not its host task), wait until its start
        sequence is over."""
        run = self.run
        if (
            run is not None
            and not run.started.done()
            and asyncio.current_task() is not self.host_task
        ):
            await asyncio.shield(run.started)

    def request_stop(self) -> None:
        """Ask the current run to stop; from any thread, returns at once."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            try:
                loop.call_soon_threadsafe(self._request_stop_here)
            except RuntimeError:  # the loop is closed: nothing runs on it any more
                pass
            return
        self._request_stop_here()

    def _request_stop_here(self) -> None:
        run = self.run
        if run is None or run.stop_requested:
            return
        run.stop_requested = True
        run.unheld.set()
        self._wake()

    async def wait_until_stopped(self) -> None:
        """Return once the current run (and a background host task) has ended."""
        host = self.host_task
        if host is not None and not host.done():
            if host is not asyncio.current_task():
                await asyncio.wait({host})
            return
        run = self.run
        if run is not None:
            await run.stopped.wait()
