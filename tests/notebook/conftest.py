"""An IPython shell with nbsched loaded on a fake clock, inside the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from notebook_helpers import START, FakeKernel, Notebook

from nbsched import FakeClock
from nbsched.notebook import load, unload_ipython_extension


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the 'local' zone Europe/Berlin, whatever the machine says."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    return "Europe/Berlin"


@pytest.fixture
async def notebook(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, local_zone: str
) -> AsyncIterator[Notebook]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBSCHED_STORE", raising=False)
    shell = InteractiveShell.instance()
    kernel = FakeKernel()
    monkeypatch.setattr(shell, "kernel", kernel, raising=False)
    holder = load(shell, clock=clock)
    book = Notebook(shell, holder, clock, kernel)
    await book.settle()
    try:
        yield book
    finally:
        unload_ipython_extension(shell)
        await holder.scheduler.wait_until_stopped()
        await holder.settle()
