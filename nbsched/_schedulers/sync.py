"""The synchronous, thread-safe facade over :class:`~nbsched.AsyncScheduler`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import sys
import threading
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from .._clock import Clock
from .._context import current_scheduler
from .._enums import RunState
from .._exceptions import SchedulerNotRunningError
from ..abc import AsyncDataStore, AsyncEventBroker, DataStore, Subscription
from ..events import Event
from .async_ import AsyncScheduler

__all__ = ["Scheduler"]

T = TypeVar("T")
P = ParamSpec("P")


def _blocking(
    method: Callable[Concatenate[AsyncScheduler, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Scheduler, P], T]:
    """A :class:`Scheduler` method that runs ``method`` on the scheduler's thread and waits
    for its result; it keeps the signature and docstring of the ``AsyncScheduler`` method."""

    @functools.wraps(method)
    def blocking(self: Scheduler, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(method(self._async, *args, **kwargs))

    blocking.__module__ = __name__
    blocking.__qualname__ = f"Scheduler.{method.__name__}"
    return blocking


def _setting(name: str) -> Any:
    """A read-only property showing the wrapped scheduler's attribute ``name``."""
    return property(
        lambda self: getattr(self._async, name),
        doc=f"The wrapped :class:`~nbsched.AsyncScheduler`'s ``{name}``.",
    )


# how long (in seconds) the first processing round after start_in_background() waits for the
# caller's next call, at most
_FIRST_ROUND_WAIT = 0.05

_CLOSED = (
    "this Scheduler was closed when its `with Scheduler()` block ended; create a new "
    "Scheduler (or enter this one again with `with`)"
)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the calls still waiting on a loop that stopped, so that the threads that made
    them get an error instead of waiting forever."""
    loop.run_until_complete(asyncio.sleep(0))  # calls submitted meanwhile become tasks
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


class Scheduler:
    """A scheduler for synchronous code: the same methods as :class:`~nbsched.AsyncScheduler`,
    as plain functions, safe to call from any number of threads at once.

    It runs an :class:`~nbsched.AsyncScheduler` on an event loop of its own, in a daemon thread
    started on first use (or by ``with``). Leaving ``with Scheduler()`` ends that thread for
    good: a later call, from any thread, raises :class:`~nbsched.SchedulerNotRunningError`
    instead of starting a thread that nobody would end. Without ``with``, :meth:`stop` ends the
    thread and a later call starts a new one.

    Event callbacks given to :meth:`subscribe` and jobs run with the ``"loop"`` executor run on
    that thread; from there, do not call this facade's blocking methods (they would wait for
    the thread they block): they raise ``RuntimeError``.

    Takes the arguments of :class:`~nbsched.AsyncScheduler`. In a script::

        with Scheduler() as scheduler:
            scheduler.add_schedule(tick, IntervalTrigger(seconds=10))
            scheduler.run_until_stopped()   # Ctrl-C stops it
    """

    def __init__(
        self,
        data_store: AsyncDataStore | DataStore | None = None,
        event_broker: AsyncEventBroker | None = None,
        **options: Any,
    ) -> None:
        self._async = AsyncScheduler(data_store, event_broker, **options)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._in_context = False
        self._closed = False  # its `with` block has ended: nothing may start the thread again
        # lets the first processing round of a start go (see start_in_background)
        self._first_round: Callable[[], None] | None = None

    # --- attributes of the wrapped scheduler ---

    @property
    def async_scheduler(self) -> AsyncScheduler:
        """The :class:`~nbsched.AsyncScheduler` doing the work."""
        return self._async

    @property
    def data_store(self) -> AsyncDataStore:
        return self._async.data_store

    @property
    def event_broker(self) -> AsyncEventBroker:
        return self._async.event_broker

    @property
    def identity(self) -> str:
        return self._async.identity

    @property
    def clock(self) -> Clock:
        return self._async.clock

    @property
    def state(self) -> RunState:
        return self._async.state

    @property
    def event_loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the scheduler's own thread runs (``None`` until that thread starts)."""
        return self._loop

    max_concurrent_jobs = _setting("max_concurrent_jobs")
    lease_duration = _setting("lease_duration")
    cleanup_interval = _setting("cleanup_interval")
    stop_grace_time = _setting("stop_grace_time")
    batch_size = _setting("batch_size")
    job_executors = _setting("job_executors")
    default_job_executor = _setting("default_job_executor")
    logger = _setting("logger")

    @property
    def store_unavailable_since(self) -> datetime | None:
        """See :attr:`AsyncScheduler.store_unavailable_since`."""
        return self._async.store_unavailable_since

    @property
    def store_unavailable_reason(self) -> str | None:
        """See :attr:`AsyncScheduler.store_unavailable_reason`."""
        return self._async.store_unavailable_reason

    def __repr__(self) -> str:
        return f"Scheduler({self._async!r})"

    # --- the loop thread ---

    def _ensure_running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            return self._loop_or_start()

    def _loop_or_start(self) -> asyncio.AbstractEventLoop:
        """The running loop, started if needed; call with ``self._lock`` held."""
        if self._loop is not None:
            return self._loop
        if self._closed:
            raise SchedulerNotRunningError(_CLOSED)
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                _cancel_leftovers(loop)
                loop.close()

        thread = threading.Thread(target=run, name="nbsched-scheduler", daemon=True)
        thread.start()
        ready.wait()
        try:
            asyncio.run_coroutine_threadsafe(self._async.__aenter__(), loop).result()
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            raise
        self._loop = loop
        self._thread = thread
        return loop

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._thread is not None and threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(
                "a blocking Scheduler method was called on the scheduler's own thread (from an "
                "event callback or a 'loop' job); use the AsyncScheduler methods there "
                "(scheduler.async_scheduler)"
            )
        self._let_first_round_go()
        try:
            # under the lock: a call is submitted before a shutdown begins (and is cancelled by
            # it if still waiting) or after it has ended (and then refused), never during it
            with self._lock:
                future = asyncio.run_coroutine_threadsafe(coro, self._loop_or_start())
        except BaseException:
            coro.close()
            raise
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            # only the loop thread's shutdown cancels these calls
            raise SchedulerNotRunningError(
                "the scheduler was closed while this call waited for it"
            ) from None

    def _shutdown(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            try:
                asyncio.run_coroutine_threadsafe(
                    self._async.__aexit__(None, None, None), loop
                ).result()
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join()
                self._loop = self._thread = None
                self._first_round = None

    def __enter__(self) -> Scheduler:
        self._closed = False
        self._ensure_running()
        self._in_context = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._in_context = False
        self._closed = True
        self._shutdown()

    # --- running ---

    def start_in_background(self) -> None:
        """Start processing schedules and jobs on the scheduler's thread; return once started
        (``SchedulerStarted`` published).

        The jobs already due wait for this thread's next call on the scheduler (at most 50 ms),
        so a :meth:`subscribe` right after this call sees all their events.

        :raises RuntimeError: under uWSGI started without ``--enable-threads`` (the scheduler's
            thread would never run)
        :raises: what made the start fail
        """
        uwsgi = sys.modules.get("uwsgi")
        if uwsgi is not None and not getattr(uwsgi, "has_threads", True):
            raise RuntimeError(
                "this process runs under uWSGI with threads disabled, so the scheduler's thread "
                "would never run: start uWSGI with --enable-threads"
            )

        # The first processing round waits for this thread's next call on the scheduler (a
        # subscribe() goes in first), or _FIRST_ROUND_WAIT at most: letting it go from here,
        # as the async start does, would race the caller's subscribe() on the other thread.
        async def start() -> Callable[[], None]:
            current_scheduler.set(self)  # the run's tasks, and so its jobs, start from here
            release = await self._async.start_in_background().held()
            timer = asyncio.get_running_loop().call_later(_FIRST_ROUND_WAIT, release)

            def let_go() -> None:
                timer.cancel()
                release()

            return let_go

        self._first_round = self._run(start())

    def _let_first_round_go(self) -> None:
        let_go, self._first_round = self._first_round, None
        loop = self._loop
        if let_go is not None and loop is not None:
            try:
                loop.call_soon_threadsafe(let_go)
            except RuntimeError:  # the loop has closed: nothing is held any more
                pass

    def run_until_stopped(self) -> None:
        """Process schedules and jobs until :meth:`stop` is called (from another thread, a
        job, or Ctrl-C)."""
        self.start_in_background()
        try:
            self._run(self._async.wait_until_stopped())
        except KeyboardInterrupt:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop processing and wait for it to end. Outside a ``with`` block this also ends
        the scheduler's thread (a later call starts a new one). From one of the scheduler's
        own jobs it only asks for the stop (the job cannot wait for its own run to end)."""
        if self._loop is None:
            return
        if self._async._inside_own_job():
            self._async.request_stop()  # a job cannot wait for the end of its own run
            return
        self._run(self._async.stop())
        if not self._in_context:
            self._shutdown()

    def request_stop(self) -> None:
        """Ask the scheduler to stop; returns at once."""
        self._async.request_stop()

    def wait_until_stopped(self) -> None:
        """Block until processing has stopped."""
        if self._loop is not None:
            self._run(self._async.wait_until_stopped())

    # --- forwarding: each method below blocks on its AsyncScheduler namesake ---

    configure_task = _blocking(AsyncScheduler.configure_task)
    add_schedule = _blocking(AsyncScheduler.add_schedule)
    get_schedule = _blocking(AsyncScheduler.get_schedule)
    get_schedules = _blocking(AsyncScheduler.get_schedules)
    remove_schedule = _blocking(AsyncScheduler.remove_schedule)
    pause_schedule = _blocking(AsyncScheduler.pause_schedule)
    unpause_schedule = _blocking(AsyncScheduler.unpause_schedule)
    add_job = _blocking(AsyncScheduler.add_job)
    get_jobs = _blocking(AsyncScheduler.get_jobs)
    get_job_result = _blocking(AsyncScheduler.get_job_result)
    run_job = _blocking(AsyncScheduler.run_job)
    get_tasks = _blocking(AsyncScheduler.get_tasks)
    cleanup = _blocking(AsyncScheduler.cleanup)
    get_next_event = _blocking(AsyncScheduler.get_next_event)

    def subscribe(
        self,
        callback: Callable[[Event], Any],
        event_types: Iterable[type[Event]] | type[Event] | None = None,
        *,
        one_shot: bool = False,
    ) -> Subscription:
        """See :meth:`AsyncScheduler.subscribe`. Callbacks run on the scheduler's thread."""
        subscription = self._async.subscribe(callback, event_types, one_shot=one_shot)
        self._let_first_round_go()
        return subscription


def run_blocking(scheduler: Scheduler, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on ``scheduler``'s thread and return its result, as every blocking method
    does: for nbsched's own readers of the store through the facade, where it has no method
    (the run history).

    :raises RuntimeError: called on the scheduler's own thread (``coro`` is closed)
    :raises SchedulerNotRunningError: the scheduler was closed while the call waited
    """
    return scheduler._run(coro)
