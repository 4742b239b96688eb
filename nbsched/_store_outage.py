"""Whether a scheduler's data store is usable, and telling the user when that changes.

The retry policy (:mod:`nbsched._retry`) reports here: a store call that kept failing with
temporary errors for longer than the retry window marks the store *unavailable*
(:class:`~nbsched.events.DataStoreUnavailable`, logged at ERROR); the next call that succeeds
marks it usable again (:class:`~nbsched.events.DataStoreRecovered`). Meanwhile the scheduler's
own calls keep retrying, and a call a user makes fails at once with
:class:`~nbsched.DataStoreUnavailableError` instead of waiting out another window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, tzinfo

from ._exceptions import DataStoreUnavailableError
from ._protocols import StoreWrapper
from .abc import AsyncEventBroker
from .events import DataStoreRecovered, DataStoreUnavailable

__all__ = ["StoreOutage", "describe_outage"]


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def describe_outage(since: datetime, reason: str | None, tz: tzinfo | None = None) -> str:
    """``"store unavailable since 14:02:07 (reason)"``, the time shown in ``tz`` (default: as
    given), for status lines and dashboards."""
    shown = since.astimezone(tz) if tz is not None else since
    text = f"store unavailable since {shown:%H:%M:%S}"
    return f"{text} ({reason})" if reason else text


class StoreOutage:
    """The data store's availability as one scheduler sees it.

    :param store: the store (named in events and errors by its ``repr``)
    :param broker: where the events are published
    :param now: the scheduler's clock
    :param scheduler_id: the scheduler's identity, for the events
    :param logger: where the changes are logged
    """

    def __init__(
        self,
        store: object,
        broker: AsyncEventBroker,
        now: Callable[[], datetime],
        scheduler_id: str,
        logger: logging.Logger,
    ) -> None:
        # the store itself, not the adapter the scheduler wraps a synchronous one in
        self.store_name = repr(store.original if isinstance(store, StoreWrapper) else store)
        self.now = now
        self._broker = broker
        self._scheduler_id = scheduler_id
        self._logger = logger
        #: when the store became unavailable (when the call that found out first failed)
        self.unavailable_since: datetime | None = None
        #: the last temporary error, as ``"Type: message"``
        self.reason: str | None = None
        # the operations that failed during this outage: only one of them succeeding shows the
        # store is usable again (with SQLite's write lock held elsewhere, reads still work)
        self._failed_operations: set[str] = set()

    def failed(self, operation: str, exc: BaseException) -> None:
        """A call failed with a temporary error (it is about to be retried or given up)."""
        self._failed_operations.add(operation)
        if self.unavailable_since is not None:
            self.reason = _reason(exc)

    async def unavailable(self, operation: str, exc: BaseException, since: datetime) -> None:
        """A call has failed with temporary errors for the whole retry window."""
        self._failed_operations.add(operation)
        self.reason = _reason(exc)
        if self.unavailable_since is not None:
            return
        self.unavailable_since = since
        self._logger.error(
            "data store %s unavailable since %s (%s); the scheduler keeps retrying %s and "
            "carries on when it is back",
            self.store_name,
            since.isoformat(),
            self.reason,
            operation,
        )
        await self._publish(
            DataStoreUnavailable(
                timestamp=self.now(),
                scheduler_id=self._scheduler_id,
                store=self.store_name,
                since=since,
                operation=operation,
                exception=self.reason,
            )
        )

    async def recovered(self, operation: str) -> None:
        """A call succeeded while the store was marked unavailable: if the same operation
        failed during the outage, the store is usable again."""
        since = self.unavailable_since
        if since is None:
            self._failed_operations.discard(operation)  # a blip, over
            return
        if operation not in self._failed_operations:
            return
        self.unavailable_since = None
        self.reason = None
        self._failed_operations.clear()
        now = self.now()
        self._logger.warning(
            "data store %s is usable again (%s succeeded) after being unavailable for %.0f s",
            self.store_name,
            operation,
            (now - since).total_seconds(),
        )
        await self._publish(
            DataStoreRecovered(
                timestamp=now,
                scheduler_id=self._scheduler_id,
                store=self.store_name,
                unavailable_since=since,
            )
        )

    def error(
        self, operation: str, exc: BaseException, since: datetime | None = None
    ) -> DataStoreUnavailableError:
        """The error a given-up call raises (chain it from ``exc``)."""
        return DataStoreUnavailableError(
            self.store_name,
            operation,
            self.unavailable_since or since or self.now(),
            _reason(exc),
        )

    async def _publish(self, event: DataStoreUnavailable | DataStoreRecovered) -> None:
        try:
            await self._broker.publish(event)
        except Exception:
            self._logger.exception("could not publish %s", type(event).__name__)
