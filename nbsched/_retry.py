"""The one retry policy for every data store call the scheduler makes.

Only the exceptions a store class lists in ``temporary_errors`` are retried (a lost connection,
``database is locked``); anything else is permanent and raised at once. Retries back off
exponentially, each one is logged at WARNING, and the total time spent waiting is bounded; when
the policy gives up it calls ``on_give_up`` (the scheduler publishes
:class:`~nbsched.events.DataStoreRetryGaveUp`) and re-raises the last error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

__all__ = ["RetryPolicy", "temporary_errors_of"]

T = TypeVar("T")

SleepFunc = Callable[[float], Awaitable[None]]
GiveUpCallback = Callable[[str, int, BaseException], Awaitable[None]]


def temporary_errors_of(store: object) -> tuple[type[BaseException], ...]:
    """Return the temporary errors a store declares, looking through a sync-store adapter."""
    errors: list[type[BaseException]] = list(getattr(type(store), "temporary_errors", ()))
    for attribute in ("original", "store", "_store", "wrapped"):
        inner = getattr(store, attribute, None)
        if inner is not None and inner is not store:
            errors.extend(getattr(type(inner), "temporary_errors", ()))
    return tuple(dict.fromkeys(errors))


class RetryPolicy:
    """Retries a store call on the store's temporary errors.

    :param temporary_errors: exception classes worth retrying
    :param max_time: the most seconds spent waiting between attempts before giving up
    :param initial_wait: the first wait in seconds; each next one doubles, up to ``max_wait``
    :param max_wait: the longest single wait in seconds
    :param sleep: the coroutine function that waits (the scheduler passes its clock's, so tests
        never really sleep)
    :param on_give_up: awaited with (operation, attempts, last exception) before re-raising
    :param logger: where each retry is logged
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

    def _retrying(self, operation: str) -> AsyncRetrying:
        max_time = self.max_time
        initial_wait = self.initial_wait

        def stop(state: RetryCallState) -> bool:
            # Bounded by the time spent waiting (not the wall clock), so that a fake clock
            # bounds it too.
            waited = initial_wait + state.idle_for + (state.upcoming_sleep or 0.0)
            return waited > max_time

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self._logger.warning(
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
            before_sleep=log_retry,
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
            return await func(*args, **kwargs)
        except self.temporary_errors:
            pass
        return await self._call_retrying(operation, func, args, kwargs)

    async def _call_retrying(
        self, operation: str, func: Callable[..., Awaitable[T]], args: Any, kwargs: Any
    ) -> T:
        retrying = self._retrying(operation)
        attempts = 1  # the fast path's failed attempt
        self._logger.warning(
            "data store operation %s failed with a temporary error; attempt 1, retrying in %.2f s",
            operation,
            self.initial_wait,
        )
        try:
            await self._sleep(self.initial_wait)
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    return await func(*args, **kwargs)
        except self.temporary_errors as exc:
            self._logger.error(
                "data store operation %s gave up after %d attempts: %s: %s",
                operation,
                attempts,
                type(exc).__name__,
                exc,
            )
            if self._on_give_up is not None:
                await self._on_give_up(operation, attempts, exc)
            raise
        raise AssertionError("unreachable")  # pragma: no cover
