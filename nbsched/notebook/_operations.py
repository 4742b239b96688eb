"""The notebook layer's operations on the scheduler, run in the order the magics asked for them.

Magics run synchronously on the loop's thread and cannot await the scheduler, so they hand
their work to :meth:`OperationQueue.submit`, which runs it as soon as the cell returns, in
submission order (a ``%sched pause x`` never overtakes the ``%%every --id x`` cell above it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["OperationQueue", "Report"]

#: ``report(None, None)`` on success, ``report(message, exc)`` on failure
Report = Callable[[str | None, BaseException | None], None]

_logger = logging.getLogger(__name__)


class OperationQueue:
    """Runs submitted coroutines one after the other on the running loop, and keeps every
    task it started (queued operations and background work) until it is done.

    :param describe_error: one line about an operation's exception, for its failure message
    """

    def __init__(self, describe_error: Callable[[BaseException], str]) -> None:
        self._describe_error = describe_error
        self._tail: asyncio.Task[Any] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def submit(
        self,
        what: str,
        factory: Callable[[], Coroutine[Any, Any, Any]],
        *,
        report: Report | None = None,
    ) -> asyncio.Task[Any]:
        """Run ``factory()`` on the loop after every operation submitted before it.

        ``report(None, None)`` is called on success, ``report(message, exc)`` on failure
        (the message reads "could not <what>: <error>"); without ``report`` failures are logged.
        """
        loop = asyncio.get_running_loop()
        previous = self._tail

        async def run() -> Any:
            if previous is not None and not previous.done():
                await asyncio.wait({previous})
            return await factory()

        task = loop.create_task(run())
        self._tail = task
        self.track(task)

        def done(task: asyncio.Task[Any]) -> None:
            if task.cancelled():
                return
            exc = task.exception()
            message = None if exc is None else f"could not {what}: {self._describe_error(exc)}"
            if report is not None:
                report(message, exc)
            elif exc is not None:
                _logger.error("%s", message)

        task.add_done_callback(done)
        return task

    def track(self, task: asyncio.Task[Any]) -> None:
        """Keep ``task`` (a background update) until it is done; :meth:`wait` waits for it."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def wait(self) -> None:
        """Wait until every submitted operation and tracked task has finished."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
