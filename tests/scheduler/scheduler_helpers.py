"""Helpers shared by the scheduler tests (pytest puts this folder on sys.path)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from nbsched import AsyncScheduler, FakeClock
from nbsched.events import Event

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Recorder:
    """Collects every event published, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, *types: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, types)]

    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


async def start(scheduler: AsyncScheduler, clock: FakeClock) -> None:
    """Start the processing loop in the background and let it settle."""
    scheduler.start_in_background()
    await clock.settle()


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
