"""Running :class:`~nbsched.AsyncScheduler` on an event loop: entering and leaving it,
starting it in the background on a loop somebody else runs (a notebook's), the run of the
processing loop, and stopping. The state of a run is kept by :class:`._lifecycle.Lifecycle`."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import TypeVar

from .._cancel_scopes import shielded_from_cancel_scopes
from .._context import current_job
from .._enums import RunState
from .._exceptions import DataStoreUnavailableError, SchedulerNotRunningError
from ..events import (
    JobAdded,
    JobReleased,
    ScheduleAdded,
    SchedulerStarted,
    SchedulerStopped,
    ScheduleUpdated,
)
from ._core import SchedulerCore
from ._lifecycle import Run, StartInBackground

__all__ = ["SchedulerRun"]

_S = TypeVar("_S", bound="SchedulerRun")
# the events that can make the sleeping processing loop look at the store again
_WAKE_EVENTS = (ScheduleAdded, ScheduleUpdated, JobAdded, JobReleased)


class SchedulerRun(SchedulerCore):
    """``async with``, :meth:`start_in_background`, :meth:`run_until_stopped` and :meth:`stop`
    for :class:`~nbsched.AsyncScheduler`."""

    @property
    def state(self) -> RunState:
        """Where the scheduler is in its run: starting, started, stopping or stopped."""
        return self._lifecycle.state

    @property
    def event_loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the scheduler was entered on (``None`` before it was entered)."""
        return self._loop

    @property
    def _stop_requested(self) -> bool:
        return self._lifecycle.stop_requested

    @property
    def _host_task(self) -> asyncio.Task[None] | None:
        """The task started by :meth:`start_in_background` (None if it never was)."""
        return self._lifecycle.host_task

    async def __aenter__(self: _S) -> _S:
        if self._entered:
            raise RuntimeError("this scheduler has already been entered")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        await self.event_broker.start()
        await self._call("start", self.data_store.start, self.event_broker)
        for executor in self.job_executors.values():
            await executor.start()
        add_listener = getattr(self.data_store, "add_listener", None)
        if add_listener is not None:
            # everything in the store changes in this process: it tells us itself
            add_listener(self._store_changes)
            self._store_listens = True
        else:
            self._subscriptions.append(self.event_broker.subscribe(self._on_event, _WAKE_EVENTS))
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.state is not RunState.stopped or self._lifecycle.host_running():
            self.request_stop()
            await self.wait_until_stopped()
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions.clear()
        remove_listener = getattr(self.data_store, "remove_listener", None)
        if remove_listener is not None:
            remove_listener(self._store_changes)
            self._store_listens = False
        for executor in self.job_executors.values():
            await executor.stop()
        try:
            await self.data_store.stop(force=exc is not None)
        finally:
            await self.event_broker.stop(force=exc is not None)
            self._entered = False
            self._tasks.clear()
            self._runnables.clear()

    async def _usable(self) -> None:
        """Wait until a run that is starting has started (so that SchedulerStarted comes before
        anything this call publishes); refuse if the scheduler is not entered."""
        await self._lifecycle.wait_started()
        if self._entered:
            return
        raise SchedulerNotRunningError(
            "the scheduler has not been started: use `async with scheduler:` or "
            "scheduler.start_in_background() first"
        )

    def start_in_background(self) -> StartInBackground:
        """Start the scheduler as one task on the running event loop.

        For code that runs on a loop somebody else runs: a Jupyter cell, an extension's
        ``load_ipython_extension``, a web application. The task enters the scheduler (starts the
        store and the broker) unless it is entered already, and runs the processing loop until
        :meth:`stop`. Methods called meanwhile wait until it has started.

        Both forms work::

            await scheduler.start_in_background()   # returns once started (APScheduler 4)
            scheduler.start_in_background()         # fire and forget (a notebook cell)

        :return: an awaitable that completes once the scheduler has started (``SchedulerStarted``
            published), or has been stopped before it started; it raises what made the start
            fail. Leaving it unawaited warns about nothing. The jobs already due run only after
            the awaiting code has gone on to its next ``await``, so a :meth:`subscribe` right
            after it sees all their events, as in APScheduler 4.
        :raises RuntimeError: when no event loop is running in this thread (use
            :class:`nbsched.Scheduler`, or :meth:`run_until_stopped` under ``asyncio.run``),
            or the scheduler is already running
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "AsyncScheduler.start_in_background() needs a running asyncio event loop in "
                "this thread (as in a Jupyter cell or inside async code). In a plain script, "
                "use nbsched.Scheduler (it runs its own loop in a thread), or "
                "`async with AsyncScheduler() as s: await s.run_until_stopped()` under "
                "asyncio.run()."
            ) from None
        lifecycle = self._lifecycle
        if lifecycle.host_running():
            raise RuntimeError("the scheduler is already running in the background")
        run = lifecycle.begin()
        lifecycle.host_task = loop.create_task(
            self._host(run), name=f"nbsched scheduler {self.identity}"
        )
        return StartInBackground(run)

    async def _host(self, run: Run) -> None:
        """The background task: enter (if needed), run until stopped, exit."""
        failure: BaseException | None = None
        try:
            if run.stop_requested:
                return  # asked to stop before this task's first step: it never starts
            if self._entered:
                await self.run_until_stopped()
            else:
                async with self:
                    await self.run_until_stopped()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = exc
            self.logger.exception("the scheduler %s crashed", self.identity)
            if not run.ended:
                # failed before the processing loop could publish this itself
                self._lifecycle.end(run, exc)
                try:
                    await self.event_broker.publish(
                        SchedulerStopped(
                            timestamp=self.clock.now(),
                            scheduler_id=self.identity,
                            exception=f"{type(exc).__name__}: {exc}",
                        )
                    )
                except Exception:
                    self.logger.exception("could not publish SchedulerStopped")
        finally:
            self._lifecycle.end(run, failure)

    def request_stop(self) -> None:
        """Ask the scheduler to stop (the processing loop finishes the step it is in); returns
        at once.

        The request holds whatever the run is doing (even if it has not started yet: then it
        never starts); when nothing runs, there is nothing to stop. Safe to call from the
        loop's thread or from any other thread."""
        self._lifecycle.request_stop()

    def _inside_own_job(self) -> bool:
        """Whether the caller is one of this scheduler's running jobs (it cannot wait for the
        end of the run it belongs to: that run waits for it)."""
        job = current_job.get(None)
        return job is not None and any(job.id == j.id for _, j in self._running_jobs.values())

    async def stop(self) -> None:
        """Stop the processing loop and wait until it has stopped.

        Jobs running on the event loop are cancelled (outcome ``cancelled``). Jobs in a thread or
        a process cannot be: the scheduler waits up to ``stop_grace_time`` for them and records
        their real outcome; one still running then is recorded ``abandoned`` (it runs on).

        Called from one of the scheduler's own jobs, it asks for the stop and returns at once
        (the job cannot wait for the end of the run it is part of)."""
        self.request_stop()
        if not self._inside_own_job():
            await self.wait_until_stopped()

    async def wait_until_stopped(self) -> None:
        """Return once the processing loop (and a background host task) has ended."""
        await self._lifecycle.wait_until_stopped()

    async def run_until_stopped(self) -> None:
        """Run the processing loop in this task until :meth:`stop` is called.

        :raises SchedulerNotRunningError: outside ``async with scheduler``
        """
        if not self._entered:
            raise SchedulerNotRunningError(
                "enter the scheduler first: `async with scheduler: await "
                "scheduler.run_until_stopped()`"
            )
        lifecycle = self._lifecycle
        run = lifecycle.join()
        if run.stop_requested:
            lifecycle.end(run)  # asked to stop while it was starting: it never starts
            return
        activity = self._activity
        self.clock.register_activity(activity)
        current = asyncio.current_task()
        assert current is not None
        aux_tasks = [
            asyncio.ensure_future(self._lease_renewal_loop()),
            asyncio.ensure_future(self._cleanup_loop()),
        ]
        for task in (current, *aux_tasks):
            activity.track(task)
        failure: BaseException | None = None
        try:
            lifecycle.mark_started(run)
            await self.event_broker.publish(
                SchedulerStarted(timestamp=self.clock.now(), scheduler_id=self.identity)
            )
            lifecycle.announce_started(run)
            await lifecycle.wait_unheld(run)
            try:
                await self._process_loop()
            except DataStoreUnavailableError:
                if not self._stop_requested:
                    raise
                # asked to stop while waiting for the store to come back: a clean stop
        except BaseException as exc:
            failure = exc
            if not isinstance(exc, asyncio.CancelledError):
                self.logger.exception("the scheduler's processing loop failed")
            raise
        finally:
            # under a cancelled anyio scope (move_on_after() around this call) the winding
            # down would otherwise stop at its first await, leaving the run "stopping" for good
            with shielded_from_cancel_scopes():
                lifecycle.mark_stopping(run)
                for task in aux_tasks:
                    task.cancel()
                await self._stop_running_jobs()
                await asyncio.gather(*aux_tasks, return_exceptions=True)
                await self._release_unstarted_jobs()
                for task in (current, *aux_tasks):
                    activity.untrack(task)
                self.clock.unregister_activity(activity)
                lifecycle.mark_stopped(run)
                reason = None
                if failure is not None and not isinstance(failure, asyncio.CancelledError):
                    reason = f"{type(failure).__name__}: {failure}"
                try:
                    await self.event_broker.publish(
                        SchedulerStopped(
                            timestamp=self.clock.now(),
                            scheduler_id=self.identity,
                            exception=reason,
                        )
                    )
                except Exception:
                    self.logger.exception("could not publish SchedulerStopped")
                lifecycle.end(run, failure if isinstance(failure, Exception) else None)
