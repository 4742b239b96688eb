"""The one retry policy for every data store call the scheduler makes.

Only the exceptions a store class lists in ``temporary_errors`` are retried (a lost connection,
``database is locked``, a full disk); anything else is permanent and raised at once, also when
it follows temporary ones. Retries back off exponentially up to ``max_wait`` between attempts,
each one logged at WARNING.

How long a call keeps trying depends on who made it (``persist``, asked when a call first
fails):

* the scheduler's own calls (its processing loop, job runners) never give up: once they have
  failed for ``max_time`` seconds the store is marked unavailable (``outage``), further retries
  are logged at DEBUG, and the first success marks it usable again;
* any other call (``add_schedule`` and the like) retries for at most ``max_time`` seconds of
  waiting, then marks the store unavailable, calls ``on_give_up`` and raises
  :class:`~nbsched.DataStoreUnavailableError` (from the last error); while the store is marked
  unavailable such a call makes one attempt and raises at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from ._protocols import StoreWrapper

__all__ = ["Outage", "RetryPolicy", "temporary_errors_of"]

T = TypeVar("T")

SleepFunc = Callable[[float], Awaitable[None]]
GiveUpCallback = Callable[[str, int, BaseException], Awaitable[None]]


class Outage(Protocol):
    """What the policy tells about the store's availability (see :mod:`nbsched._store_outage`)."""

    unavailable_since: datetime | None

    def now(self) -> datetime: ...

    def failed(self, operation: str, exc: BaseException) -> None: ...

    async def unavailable(self, operation: str, exc: BaseException, since: datetime) -> None: ...

    async def recovered(self, operation: str) -> None: ...

    def error(
        self, operation: str, exc: BaseException, since: datetime | None = None
    ) -> Exception: ...


def temporary_errors_of(store: object) -> tuple[type[BaseException], ...]:
    """Return the temporary errors a store declares, and those of the store it wraps (a
    :class:`~nbsched.abc.StoreWrapper`, like the sync-store adapter)."""
    errors: list[type[BaseException]] = list(getattr(type(store), "temporary_errors", ()))
    if isinstance(store, StoreWrapper):
        errors.extend(type(store.original).temporary_errors)
    return tuple(dict.fromkeys(errors))


class RetryPolicy:
    """Retries a store call on the store's temporary errors.

    :param temporary_errors: exception classes worth retrying
    :param max_time: the retry window: seconds spent waiting between attempts before a call
        gives up (or, for a call that persists, before the store is marked unavailable)
    :param initial_wait: the first wait in seconds; each next one doubles, up to ``max_wait``
    :param max_wait: the longest single wait in seconds
    :param sleep: the coroutine function that waits (the scheduler passes its clock's, so tests
        never really sleep)
    :param on_give_up: awaited with (operation, attempts, last exception) before a call that
        does not persist raises
    :param logger: where each retry is logged
    :param outage: told when the store becomes unavailable and usable again
    :param persist: asked when a call fails and before each retry: True while the call should
        keep trying past ``max_time`` (the scheduler's own calls, until it is asked to stop)
    """

    def __init__(
        self,
        temporary_errors: tuple[type[BaseException], ...],
        *,
        max_time: float = 30.0,
        initial_wait: float = 0.05,
        max_wait: float = 5.0,
        sleep: SleepFunc,
        on_give_up: GiveUpCallback | None = None,
        logger: logging.Logger | None = None,
        outage: Outage | None = None,
        persist: Callable[[], bool] | None = None,
    ) -> None:
        if max_time < 0:
            raise ValueError(f"max_time: {max_time!r} is negative")
        self.temporary_errors = temporary_errors
        self.max_time = max_time
        self.initial_wait = initial_wait
        self.max_wait = max_wait
        self._sleep = sleep
        self._on_give_up = on_give_up
        self._logger = logger or logging.getLogger("nbsched.retry")
        self._outage = outage
        self._persist = persist or (lambda: False)

    def _waited(self, state: RetryCallState) -> float:
        # Bounded by the time spent waiting (not the wall clock), so that a fake clock
        # bounds it too.
        return self.initial_wait + state.idle_for + (state.upcoming_sleep or 0.0)

    def _retrying(self, operation: str, persistent: bool, since: datetime | None) -> AsyncRetrying:
        max_time = self.max_time
        outage = self._outage
        persist = self._persist

        def stop(state: RetryCallState) -> bool:
            if persistent:
                return not persist()
            return self._waited(state) > max_time

        async def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            # (by now idle_for includes the sleep about to start)
            past_window = self.initial_wait + state.idle_for > max_time
            if past_window and outage is not None and exc is not None and since is not None:
                await outage.unavailable(operation, exc, since)
            self._logger.log(
                logging.DEBUG if past_window else logging.WARNING,
                "data store operation %s failed with a temporary error (%s: %s); "
                "attempt %d, retrying in %.2f s",
                operation,
                type(exc).__name__,
                exc,
                state.attempt_number,
                state.upcoming_sleep,
            )

        return AsyncRetrying(
            retry=retry_if_exception_type(self.temporary_errors),
            wait=wait_exponential(
                multiplier=self.initial_wait, min=self.initial_wait, max=self.max_wait
            ),
            stop=stop,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )

    async def call(
        self, operation: str, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
    ) -> T:
        """Await ``func(*args, **kwargs)``, retrying it on temporary errors."""
        if not self.temporary_errors:
            return await func(*args, **kwargs)
        # Fast path: the first attempt costs nothing beyond a try block.
        try:
            result = await func(*args, **kwargs)
        except self.temporary_errors as exc:
            return await self._call_retrying(operation, func, args, kwargs, exc)
        outage = self._outage
        if outage is not None and outage.unavailable_since is not None:
            await outage.recovered(operation)
        return result

    async def _call_retrying(
        self,
        operation: str,
        func: Callable[..., Awaitable[T]],
        args: Any,
        kwargs: Any,
        first_error: BaseException,
    ) -> T:
        outage = self._outage
        persistent = self._persist()
        if outage is not None:
            outage.failed(operation, first_error)
        if not persistent and outage is not None and outage.unavailable_since is not None:
            # the store is known to be down: fail now rather than wait out another window
            raise outage.error(operation, first_error) from first_error
        since = outage.now() if outage is not None else None
        retrying = self._retrying(operation, persistent, since)
        attempts = 1  # the fast path's failed attempt
        self._logger.warning(
            "data store operation %s failed with a temporary error (%s: %s); attempt 1, "
            "retrying in %.2f s",
            operation,
            type(first_error).__name__,
            first_error,
            self.initial_wait,
        )
        try:
            await self._sleep(self.initial_wait)
            last_error = first_error
            async for attempt in retrying:
                if persistent and not self._persist():
                    raise last_error  # asked to stop during the wait: no further attempt
                succeeded = False
                with attempt:
                    attempts += 1
                    result = await func(*args, **kwargs)
                    succeeded = True
                if succeeded:
                    if outage is not None:
                        await outage.recovered(operation)
                    return result
                outcome = attempt.retry_state.outcome
                last_error = (outcome.exception() if outcome else None) or last_error
        except self.temporary_errors as exc:
            if persistent:  # asked to stop while waiting for the store
                if outage is not None:
                    raise outage.error(operation, exc, since) from exc
                raise
            self._logger.error(
                "data store operation %s gave up after %d attempts: %s: %s",
                operation,
                attempts,
                type(exc).__name__,
                exc,
            )
            if outage is not None and since is not None:
                await outage.unavailable(operation, exc, since)
            if self._on_give_up is not None:
                await self._on_give_up(operation, attempts, exc)
            if outage is not None:
                raise outage.error(operation, exc, since) from exc
            raise
        raise AssertionError("unreachable")  # pragma: no cover
