"""The sync ``Scheduler`` facade's own thread: who starts it, who ends it."""

from __future__ import annotations

import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import pytest

from nbsched import RunState, Scheduler, SchedulerNotRunningError
from nbsched.events import JobReleased


def square(x: int) -> int:
    return x * x


_threads_before: set[threading.Thread] = set()


@pytest.fixture(autouse=True)
def _note_threads() -> None:
    _threads_before.clear()
    _threads_before.update(threading.enumerate())


def _scheduler_threads() -> list[threading.Thread]:
    """Scheduler threads started during this test that are still alive."""
    return [
        t
        for t in threading.enumerate()
        if t.name == "nbsched-scheduler" and t not in _threads_before
    ]


def test_calls_after_leaving_with_raise_instead_of_starting_a_new_thread() -> None:
    with Scheduler() as scheduler:
        scheduler.start_in_background()
        assert scheduler.run_job(square, args=[3]) == 9
    assert _scheduler_threads() == []

    def late_call() -> object:
        return scheduler.add_job(square, args=[2])

    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(SchedulerNotRunningError, match="`with Scheduler\\(\\)` block"):
            pool.submit(late_call).result()
    with pytest.raises(SchedulerNotRunningError, match="create a new Scheduler"):
        scheduler.start_in_background()
    assert _scheduler_threads() == []  # nothing left running that nobody would close
    scheduler.stop()  # nothing to stop: a no-op
    scheduler.request_stop()
    scheduler.wait_until_stopped()
    assert scheduler.state is RunState.stopped


def test_entering_again_after_leaving_with_works() -> None:
    scheduler = Scheduler()
    with scheduler:
        assert scheduler.get_schedules() == []
    with scheduler:
        scheduler.start_in_background()
        assert scheduler.run_job(square, args=[4]) == 16
    assert _scheduler_threads() == []


def test_without_with_stop_ends_the_thread_and_a_later_call_starts_one() -> None:
    scheduler = Scheduler()
    scheduler.start_in_background()
    assert scheduler.run_job(square, args=[5]) == 25
    scheduler.stop()
    assert _scheduler_threads() == []
    scheduler.start_in_background()
    assert scheduler.run_job(square, args=[6]) == 36
    scheduler.stop()
    assert _scheduler_threads() == []


def test_a_call_still_waiting_when_with_ends_raises_instead_of_hanging() -> None:
    outcome: list[BaseException | object] = []
    waiting = threading.Event()

    def wait_for_an_event_that_never_comes(scheduler: Scheduler) -> None:
        waiting.set()
        try:
            outcome.append(scheduler.get_next_event(JobReleased))
        except BaseException as exc:
            outcome.append(exc)

    with Scheduler() as scheduler:
        scheduler.start_in_background()
        waiter = threading.Thread(target=wait_for_an_event_that_never_comes, args=[scheduler])
        waiter.start()
        waiting.wait(30)
    waiter.join(30)
    assert not waiter.is_alive(), "the waiting call hung after the with block ended"
    (error,) = outcome
    assert isinstance(error, SchedulerNotRunningError)
    assert "closed" in str(error)


@pytest.mark.parametrize("has_threads", [False, True])
def test_start_in_background_under_uwsgi_needs_its_threads(
    monkeypatch: pytest.MonkeyPatch, has_threads: bool
) -> None:
    # uWSGI without --enable-threads never runs the scheduler's thread: jobs would silently
    # never run (APScheduler 4 refuses to start there too)
    uwsgi = types.ModuleType("uwsgi")
    uwsgi.has_threads = has_threads  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "uwsgi", uwsgi)
    with Scheduler() as scheduler:
        if has_threads:
            scheduler.start_in_background()
            assert scheduler.state is RunState.started
        else:
            with pytest.raises(RuntimeError, match="uWSGI.*--enable-threads"):
                scheduler.start_in_background()
            assert scheduler.state is RunState.stopped
