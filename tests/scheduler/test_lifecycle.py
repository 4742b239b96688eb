"""The scheduler's lifecycle: a stop request is never lost, whatever the timing, and
``start_in_background()`` can be awaited (APScheduler 4) or fired and forgotten (a notebook)."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from scheduler_helpers import START, Recorder

from nbsched import AsyncScheduler, FakeClock, RunState, Scheduler, SystemClock
from nbsched.datastores.memory import MemoryDataStore
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.events import (
    Event,
    JobAcquired,
    JobAdded,
    JobReleased,
    SchedulerStarted,
    SchedulerStopped,
    TaskAdded,
)
from nbsched.triggers.date import DateTrigger

CLOCKS = {"fake clock": lambda: FakeClock(START), "real loop": SystemClock}

# where in the start sequence the stop request arrives
BEFORE_FIRST_STEP = "before the host task's first step"
STORE_STARTING = "while the store is starting"
PUBLISHING_STARTED = "while SchedulerStarted is being published"
AFTER_START = "after the start"


class Boom(Exception):
    pass


class GatedStore(MemoryDataStore):
    """A memory store whose ``start`` waits for ``gate`` (when gated); counts starts/stops."""

    def __init__(self, gated: bool) -> None:
        super().__init__()
        self.gated = gated
        self.starting = asyncio.Event()
        self.gate = asyncio.Event()
        self.started = self.stopped = 0

    async def start(self, event_broker: Any) -> None:
        self.starting.set()
        if self.gated:
            await self.gate.wait()
        await super().start(event_broker)
        self.started += 1

    async def stop(self, *, force: bool = False) -> None:
        await super().stop(force=force)
        self.stopped += 1


class GatedBroker(LocalEventBroker):
    """Holds the publication of SchedulerStarted until ``gate`` opens (when gated)."""

    def __init__(self, gated: bool) -> None:
        super().__init__()
        self.gated = gated
        self.publishing_started = asyncio.Event()
        self.gate = asyncio.Event()

    async def publish(self, event: Event) -> None:
        if self.gated and isinstance(event, SchedulerStarted):
            self.publishing_started.set()
            await self.gate.wait()
        await super().publish(event)


def _make(point: str, clock_name: str) -> tuple[AsyncScheduler, GatedStore, GatedBroker]:
    store = GatedStore(gated=point == STORE_STARTING)
    broker = GatedBroker(gated=point == PUBLISHING_STARTED)
    scheduler = AsyncScheduler(store, broker, clock=CLOCKS[clock_name]())
    return scheduler, store, broker


async def _reach(point: str, scheduler: AsyncScheduler, store: GatedStore, broker: GatedBroker):
    """Let the start sequence get to ``point``; return what opens the gate held there."""
    if point == STORE_STARTING:
        await store.starting.wait()
        return store.gate.set
    if point == PUBLISHING_STARTED:
        await broker.publishing_started.wait()
        return broker.gate.set
    if point == AFTER_START:
        # polls the public state: the moment it flips is what this point pins, and no event
        # marks it
        while scheduler.state is not RunState.started:  # noqa: ASYNC110
            await asyncio.sleep(0)
        if isinstance(scheduler.clock, FakeClock):
            await scheduler.clock.settle()
    return lambda: None


async def _guarded(awaitable: Awaitable[Any], what: str) -> Any:
    """Await with a generous bound, so that a hang fails this test instead of the whole run."""
    try:
        with anyio.fail_after(30):  # in this task: the timing of a stop request is kept
            return await awaitable
    except TimeoutError:
        pytest.fail(f"{what} hung")


def _leftover_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


@pytest.mark.parametrize("clock_name", list(CLOCKS))
@pytest.mark.parametrize(
    "point", [BEFORE_FIRST_STEP, STORE_STARTING, PUBLISHING_STARTED, AFTER_START]
)
def test_stop_after_start_in_background_returns_at_every_point(
    point: str, clock_name: str
) -> None:
    async def main() -> None:
        scheduler, store, broker = _make(point, clock_name)
        recorder = Recorder()
        scheduler.subscribe(recorder, [SchedulerStarted, SchedulerStopped])
        scheduler.start_in_background()
        open_gate = await _reach(point, scheduler, store, broker)
        asyncio.get_running_loop().call_soon(open_gate)  # runs after stop() asked to stop
        await _guarded(scheduler.stop(), "stop()")
        assert scheduler.state is RunState.stopped
        assert store.started == store.stopped  # the host task closed what it opened
        if point in (BEFORE_FIRST_STEP, STORE_STARTING):
            assert recorder.events == []  # stopped before it started: it never started
        else:
            assert [type(e) for e in recorder.events] == [SchedulerStarted, SchedulerStopped]
        assert _leftover_tasks() == []

    asyncio.run(main())


@pytest.mark.parametrize("clock_name", list(CLOCKS))
@pytest.mark.parametrize("point", [BEFORE_FIRST_STEP, PUBLISHING_STARTED, AFTER_START])
def test_an_exception_in_async_with_after_start_in_background_propagates(
    point: str, clock_name: str
) -> None:
    async def main() -> None:
        scheduler, store, broker = _make(point, clock_name)
        with pytest.raises(Boom):
            async with scheduler:
                scheduler.start_in_background()
                open_gate = await _reach(point, scheduler, store, broker)
                asyncio.get_running_loop().call_soon(open_gate)
                raise Boom
        assert scheduler.state is RunState.stopped
        assert store.started == store.stopped == 1
        assert _leftover_tasks() == []

    asyncio.run(_guarded(main(), "leaving `async with`"))


@pytest.mark.parametrize("clock_name", list(CLOCKS))
def test_leaving_async_with_right_after_start_in_background_stops_it(clock_name: str) -> None:
    async def main() -> None:
        async with AsyncScheduler(clock=CLOCKS[clock_name]()) as scheduler:
            scheduler.start_in_background()
        assert scheduler.state is RunState.stopped
        assert _leftover_tasks() == []

    asyncio.run(_guarded(main(), "leaving `async with`"))


@pytest.mark.parametrize("clock_name", list(CLOCKS))
def test_request_stop_from_another_thread_before_the_first_step(clock_name: str) -> None:
    async def main() -> None:
        scheduler = AsyncScheduler(clock=CLOCKS[clock_name]())
        scheduler.start_in_background()
        await asyncio.to_thread(scheduler.request_stop)
        await _guarded(scheduler.wait_until_stopped(), "wait_until_stopped()")
        assert scheduler.state is RunState.stopped

    asyncio.run(main())


def test_a_stopped_scheduler_starts_again_and_a_stop_is_not_carried_over() -> None:
    async def main() -> None:
        clock = FakeClock(START)
        scheduler = AsyncScheduler(clock=clock)
        scheduler.start_in_background()
        await _guarded(scheduler.stop(), "stop()")
        scheduler.request_stop()  # nothing is running: there is nothing to stop
        await _guarded(scheduler.start_in_background(), "start_in_background()")
        assert scheduler.state is RunState.started
        await clock.settle()
        assert scheduler.state is RunState.started
        await _guarded(scheduler.stop(), "stop()")

    asyncio.run(main())


@pytest.mark.parametrize("clock_name", list(CLOCKS))
def test_run_until_stopped_ended_by_an_anyio_cancel_scope_stops(clock_name: str) -> None:
    # APScheduler 4's own tests bound a run with anyio's move_on_after(); such a scope cancels
    # again at every await until it is left, the run's winding down included
    async def main() -> list[str]:
        scheduler = AsyncScheduler(clock=CLOCKS[clock_name]())
        recorder = Recorder()
        scheduler.subscribe(recorder, [SchedulerStarted, SchedulerStopped])

        async def bounded_run() -> None:
            async with scheduler:
                with anyio.CancelScope() as scope:
                    scheduler.subscribe(lambda event: scope.cancel(), SchedulerStarted)
                    await scheduler.run_until_stopped()
                assert scope.cancelled_caught
                assert scheduler.state is RunState.stopped

        await _guarded(bounded_run(), "a run ended by a cancel scope")
        assert _leftover_tasks() == []
        return recorder.names()

    assert asyncio.run(main()) == ["SchedulerStarted", "SchedulerStopped"]


# --- start_in_background(): awaited and fire-and-forget ---------------------------------------


@pytest.mark.parametrize("clock_name", list(CLOCKS))
@pytest.mark.parametrize("entered", [False, True], ids=["unentered", "in async with"])
def test_awaiting_start_in_background_returns_once_started(clock_name: str, entered: bool) -> None:
    async def run(scheduler: AsyncScheduler, recorder: Recorder) -> None:
        await _guarded(scheduler.start_in_background(), "await start_in_background()")
        assert scheduler.state is RunState.started
        assert recorder.names() == ["SchedulerStarted"]
        await scheduler.stop()

    async def main() -> None:
        scheduler = AsyncScheduler(clock=CLOCKS[clock_name]())
        recorder = Recorder()
        scheduler.subscribe(recorder, SchedulerStarted)
        if entered:
            async with scheduler:
                await run(scheduler, recorder)
        else:
            await run(scheduler, recorder)
        assert _leftover_tasks() == []

    asyncio.run(main())


def test_start_in_background_left_unawaited_does_not_warn() -> None:
    async def main() -> None:
        scheduler = AsyncScheduler(clock=FakeClock(START))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scheduler.start_in_background()  # as in a notebook cell: nothing awaited
            gc.collect()
            await scheduler.clock.settle()  # type: ignore[attr-defined]
            assert scheduler.state is RunState.started
            await scheduler.stop()
            gc.collect()
        assert [str(w.message) for w in caught] == []

    asyncio.run(main())


def test_awaiting_start_in_background_raises_what_failed_the_start() -> None:
    class BrokenStore(MemoryDataStore):
        async def start(self, event_broker: Any) -> None:
            raise Boom("the store would not open")

    async def main() -> None:
        scheduler = AsyncScheduler(BrokenStore(), clock=FakeClock(START))
        with pytest.raises(Boom, match="would not open"):
            await _guarded(scheduler.start_in_background(), "await start_in_background()")
        assert scheduler.state is RunState.stopped

    asyncio.run(main())


def test_awaiting_start_in_background_after_a_stop_request_returns() -> None:
    async def main() -> None:
        scheduler = AsyncScheduler(clock=FakeClock(START))
        starting = scheduler.start_in_background()
        scheduler.request_stop()
        await _guarded(starting, "await start_in_background()")
        assert scheduler.state is RunState.stopped

    asyncio.run(main())


async def _double(x: int) -> int:
    return 2 * x


@pytest.mark.parametrize("clock_name", list(CLOCKS))
@pytest.mark.parametrize(
    "add",
    [
        lambda s: s.add_job(_double, args=[1]),
        lambda s: s.configure_task(_double),
    ],
    ids=["add_job", "configure_task"],
)
def test_scheduler_started_comes_before_the_runs_job_and_task_events(
    clock_name: str, add: Callable[[AsyncScheduler], Awaitable[Any]]
) -> None:
    class YieldingBroker(LocalEventBroker):
        """Lets other tasks run while SchedulerStarted is on its way, as a networked broker
        does."""

        async def publish(self, event: Event) -> None:
            if isinstance(event, SchedulerStarted):
                for _ in range(10):
                    await asyncio.sleep(0)
            await super().publish(event)

    async def main() -> list[str]:
        scheduler = AsyncScheduler(None, YieldingBroker(), clock=CLOCKS[clock_name]())
        recorder = Recorder()
        scheduler.subscribe(recorder, [SchedulerStarted, TaskAdded, JobAdded])
        scheduler.start_in_background()
        await add(scheduler)
        await scheduler.stop()
        return recorder.names()

    names = asyncio.run(main())
    assert names[0] == "SchedulerStarted"
    assert "TaskAdded" in names[1:]


def test_sync_start_in_background_returns_once_started() -> None:
    with Scheduler() as scheduler:
        recorder = Recorder()
        scheduler.subscribe(recorder, SchedulerStarted)
        scheduler.start_in_background()
        assert scheduler.state is RunState.started
        assert recorder.names() == ["SchedulerStarted"]
    assert scheduler.state is RunState.stopped


def _quick() -> str:
    return "done"


@pytest.mark.parametrize("job", [_double, _quick], ids=["coroutine function", "plain function"])
def test_a_subscriber_added_right_after_awaiting_the_start_sees_the_due_jobs_events(
    job: Callable[..., Any],
) -> None:
    """As in APScheduler 4, ``await start_in_background()`` returns before the first round of
    processing runs the jobs already due: subscribing next misses none of their events."""

    async def main() -> list[Event]:
        clock = FakeClock(START)
        async with AsyncScheduler(clock=clock) as scheduler:
            job_id = await scheduler.add_job(job, args=[1] if job is _double else [])
            await scheduler.add_schedule(
                job, DateTrigger(START), args=[1] if job is _double else [], id="due"
            )
            await _guarded(scheduler.start_in_background(), "await start_in_background()")
            recorder = Recorder()
            scheduler.subscribe(recorder)
            await clock.settle()
            await scheduler.stop()
        assert any(isinstance(e, JobReleased) and e.job_id == job_id for e in recorder.events)
        return recorder.events

    events = asyncio.run(main())
    names = [type(e).__name__ for e in events]
    assert names.count("JobAcquired") == 2 and names.count("JobReleased") == 2, names
    assert [e.schedule_id for e in events if isinstance(e, JobAdded)] == ["due"]


def test_a_subscriber_added_right_after_the_sync_start_sees_the_due_jobs_events() -> None:
    with Scheduler() as scheduler:
        job_id = scheduler.add_job(_quick, result_expiration_time=10)
        scheduler.start_in_background()
        recorder = Recorder()
        scheduler.subscribe(recorder)
        assert scheduler.get_job_result(job_id).return_value == "done"
        scheduler.stop()
    assert [type(e).__name__ for e in recorder.of(JobAcquired, JobReleased)] == [
        "JobAcquired",
        "JobReleased",
    ]


def test_after_the_sync_start_the_due_jobs_run_without_any_further_call() -> None:
    """The first round waits for the caller's next call only briefly: a script that starts
    the scheduler and then only sleeps still gets its jobs run."""
    ran = threading.Event()
    with Scheduler() as scheduler:
        scheduler.add_job(ran.set)
        scheduler.start_in_background()
        assert ran.wait(30), "the job due at the start never ran"
