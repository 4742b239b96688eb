"""The local event broker: filters, one-shot subscriptions, async callbacks, failures."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any
from uuid import uuid4

import pytest

from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.events import (
    DataStoreEvent,
    Event,
    JobAdded,
    ScheduleAdded,
    SchedulerStarted,
    TaskAdded,
)

pytestmark = pytest.mark.anyio


async def test_type_filters_match_subclasses() -> None:
    broker = LocalEventBroker()
    everything: list[Event] = []
    store_events: list[Event] = []
    tasks_only: list[Event] = []
    broker.subscribe(everything.append)
    broker.subscribe(store_events.append, [DataStoreEvent])
    broker.subscribe(tasks_only.append, {TaskAdded})
    events = [
        TaskAdded(task_id="t"),
        SchedulerStarted(scheduler_id="s"),
        JobAdded(job_id=uuid4(), task_id="t", schedule_id=None),
    ]
    for event in events:
        await broker.publish(event)
    assert everything == events
    assert store_events == [events[0], events[2]]
    assert tasks_only == [events[0]]


async def test_one_shot_and_unsubscribe() -> None:
    broker = LocalEventBroker()
    once: list[Any] = []
    until_unsubscribed: list[Any] = []
    broker.subscribe(once.append, one_shot=True)
    subscription = broker.subscribe(until_unsubscribed.append)
    await broker.publish(TaskAdded(task_id="a"))
    subscription.unsubscribe()
    subscription.unsubscribe()  # harmless twice
    await broker.publish(TaskAdded(task_id="b"))
    assert [e.task_id for e in once] == ["a"]
    assert [e.task_id for e in until_unsubscribed] == ["a"]


async def test_subscription_as_context_manager() -> None:
    broker = LocalEventBroker()
    seen: list[Any] = []
    with broker.subscribe(seen.append):
        await broker.publish(TaskAdded(task_id="in"))
    await broker.publish(TaskAdded(task_id="out"))
    assert [e.task_id for e in seen] == ["in"]


async def test_async_callbacks_run_on_the_loop() -> None:
    broker = LocalEventBroker()
    seen: list[str] = []
    done = asyncio.Event()

    async def callback(event: Event) -> None:
        assert isinstance(event, TaskAdded)
        await asyncio.sleep(0)
        seen.append(event.task_id)
        done.set()

    broker.subscribe(callback, [TaskAdded])
    await broker.publish(TaskAdded(task_id="x"))
    await done.wait()
    assert seen == ["x"]
    await broker.stop()


async def test_a_failing_callback_is_logged_and_the_others_still_get_the_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = LocalEventBroker()
    seen: list[Event] = []

    def bad(event: Event) -> None:
        raise ZeroDivisionError("bad callback")

    async def bad_async(event: Event) -> None:
        raise KeyError("bad async callback")

    broker.subscribe(bad)
    broker.subscribe(bad_async)
    broker.subscribe(seen.append)
    with caplog.at_level(logging.ERROR):
        await broker.publish(TaskAdded(task_id="x"))
        await broker.stop()
    assert len(seen) == 1
    assert "bad callback" in caplog.text and "bad async callback" in caplog.text


async def test_subscriptions_change_the_delivery_of_later_events() -> None:
    broker = LocalEventBroker()
    await broker.publish(ScheduleAdded(schedule_id="s", task_id="t", next_fire_time=None))
    late: list[Event] = []
    broker.subscribe(late.append, [ScheduleAdded])
    await broker.publish(ScheduleAdded(schedule_id="s2", task_id="t", next_fire_time=None))
    assert len(late) == 1


def test_subscribe_from_many_threads() -> None:
    broker = LocalEventBroker()
    counts = [0] * 8

    def subscribe_many(i: int) -> None:
        for _ in range(100):
            subscription = broker.subscribe(lambda e: None)
            subscription.unsubscribe()

        def count(event: Event) -> None:
            counts[i] += 1

        broker.subscribe(count)

    threads = [threading.Thread(target=subscribe_many, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    broker.publish_sync(TaskAdded(task_id="x"))
    assert counts == [1] * 8


def test_bad_arguments() -> None:
    broker = LocalEventBroker()
    with pytest.raises(TypeError, match="callback"):
        broker.subscribe("not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="event_types: <class 'int'>"):
        broker.subscribe(print, [int])  # type: ignore[list-item]
