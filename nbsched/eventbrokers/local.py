"""The in-process event broker."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from inspect import iscoroutinefunction
from typing import Any

from ..abc import AsyncEventBroker, EventCallback, Subscription
from ..events import Event

__all__ = ["LocalEventBroker"]

_logger = logging.getLogger(__name__)


class _LocalSubscription(Subscription):
    __slots__ = ("broker", "callback", "event_types", "one_shot", "is_async", "active")

    def __init__(
        self,
        broker: LocalEventBroker,
        callback: EventCallback,
        event_types: tuple[type[Event], ...] | None,
        one_shot: bool,
    ) -> None:
        self.broker = broker
        self.callback = callback
        self.event_types = event_types
        self.one_shot = one_shot
        self.is_async = iscoroutinefunction(callback)
        self.active = True

    def unsubscribe(self) -> None:
        self.broker._remove(self)


class LocalEventBroker(AsyncEventBroker):
    """Delivers events to subscribers in this process.

    Callbacks may be plain functions (called at once, on the thread that publishes: the
    scheduler's event loop thread) or coroutine functions (run as tasks on that loop). A callback
    that raises is logged and the others still get the event. Subscribing and unsubscribing are
    thread-safe. Publishing an event that nobody subscribed to costs a dictionary lookup.
    """

    def __init__(self) -> None:
        self._subscriptions: list[_LocalSubscription] = []
        self._lock = threading.Lock()
        # event class -> the subscriptions that want it, rebuilt lazily after any change
        self._by_type: dict[type[Event], tuple[_LocalSubscription, ...]] = {}
        self._background_tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        pass

    async def stop(self, *, force: bool = False) -> None:
        tasks = list(self._background_tasks)
        if force:
            for task in tasks:
                task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def subscribe(
        self,
        callback: EventCallback,
        event_types: Iterable[type[Event]] | None = None,
        *,
        one_shot: bool = False,
    ) -> Subscription:
        if not callable(callback):
            raise TypeError(f"callback: expected a callable, got {callback!r}")
        types: tuple[type[Event], ...] | None = None
        if event_types is not None:
            given: Any = event_types
            types = (given,) if isinstance(given, type) else tuple(given)
            for event_type in types:
                if not (isinstance(event_type, type) and issubclass(event_type, Event)):
                    raise TypeError(
                        f"event_types: {event_type!r} is not a subclass of nbsched.events.Event"
                    )
        subscription = _LocalSubscription(self, callback, types, one_shot)
        with self._lock:
            self._subscriptions.append(subscription)
            self._by_type = {}
        return subscription

    def _remove(self, subscription: _LocalSubscription) -> None:
        with self._lock:
            if subscription.active:
                subscription.active = False
                self._subscriptions.remove(subscription)
                self._by_type = {}

    def _subscribers_of(self, event_type: type[Event]) -> tuple[_LocalSubscription, ...]:
        with self._lock:
            subscribers = tuple(
                s
                for s in self._subscriptions
                if s.event_types is None or issubclass(event_type, s.event_types)
            )
            self._by_type[event_type] = subscribers
        return subscribers

    def has_subscribers(self, event_type: type[Event]) -> bool:
        """Whether an event of this class would reach anyone (publishers may skip building
        events nobody receives)."""
        subscribers = self._by_type.get(event_type)
        if subscribers is None:
            subscribers = self._subscribers_of(event_type)
        return bool(subscribers)

    async def publish(self, event: Event) -> None:
        """Deliver ``event`` to the subscribers (this broker spans only this process)."""
        self.publish_sync(event)

    async def publish_local(self, event: Event) -> None:
        self.publish_sync(event)

    def publish_sync(self, event: Event) -> None:
        """Deliver ``event`` at once; async callbacks are started as tasks on the running loop."""
        event_type = type(event)
        subscribers = self._by_type.get(event_type)
        if subscribers is None:
            subscribers = self._subscribers_of(event_type)
        if not subscribers:
            return
        for subscription in subscribers:
            if not subscription.active:
                continue
            if subscription.one_shot:
                self._remove(subscription)
            self._deliver(subscription, event)

    def _deliver(self, subscription: _LocalSubscription, event: Event) -> None:
        try:
            if subscription.is_async:
                task = asyncio.get_running_loop().create_task(
                    self._run_async_callback(subscription, event)
                )
                self._background_tasks.add(task)
                task.add_done_callback(self._background_tasks.discard)
            else:
                subscription.callback(event)
        except Exception:
            _logger.exception(
                "event callback %r raised while handling %r", subscription.callback, event
            )

    @staticmethod
    async def _run_async_callback(subscription: _LocalSubscription, event: Event) -> None:
        try:
            await subscription.callback(event)
        except Exception:
            _logger.exception(
                "event callback %r raised while handling %r", subscription.callback, event
            )

    def __repr__(self) -> str:
        return f"LocalEventBroker(subscriptions={len(self._subscriptions)})"
