"""Fixtures for the scheduler tests: a fake clock, a scheduler on it, an event recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from scheduler_helpers import START, Recorder

from nbsched import AsyncScheduler, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def scheduler(clock: FakeClock) -> AsyncIterator[AsyncScheduler]:
    """An entered scheduler on the fake clock; its processing loop is not started."""
    async with AsyncScheduler(clock=clock, identity="test-scheduler") as scheduler:
        yield scheduler


@pytest.fixture
def recorder(scheduler: AsyncScheduler) -> Recorder:
    recorder = Recorder()
    scheduler.subscribe(recorder)
    return recorder
