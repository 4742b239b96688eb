"""Fixtures of the notebook tests: ``notebook``, an IPython shell with nbsched loaded on a fake
clock inside the test's event loop; ``kernel``, a real kernel through jupyter_client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from kernel_helpers import KERNELS, Kernel
from notebook_helpers import START, FakeKernel, Notebook

from nbsched import FakeClock, _warmup
from nbsched.notebook import load, unload_ipython_extension


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
    # this user's signing secret (nbsched_secret) is made here, not in the real home
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    shell = InteractiveShell.instance()
    kernel = FakeKernel()
    monkeypatch.setattr(shell, "kernel", kernel, raising=False)
    holder = load(shell, clock=clock)
    # %load_ext imports the chart modules in a thread; tests that draw charts don't race it
    assert _warmup.wait(timeout=60)
    book = Notebook(shell, holder, clock, kernel)
    await book.settle()
    try:
        yield book
    finally:
        unload_ipython_extension(shell)
        await holder.scheduler.wait_until_stopped()
        await holder.settle()


@pytest.fixture
def shared_dsn(postgresql_dsn: str) -> str:
    """The session's PostgreSQL database with no nbsched tables in it yet: the store the
    notebook layer opens for ``%sched store postgresql://...`` (schema and channel
    ``nbsched``, the defaults) starts empty for each test."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    with psycopg.connect(postgresql_dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS nbsched CASCADE")
    params = conninfo_to_dict(postgresql_dsn)  # as the URL a user types
    user = f"{params['user']}@" if params.get("user") else ""
    where = f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}"
    return f"postgresql://{user}{where}/{params['dbname']}"


@pytest.fixture(params=list(KERNELS), ids=list(KERNELS))
def kernel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kernel]:
    """A real kernel, once on the newest ipykernel and once on the oldest supported one."""
    python = KERNELS[request.param]
    if not python.exists():
        # never a skip: both ends of the supported ipykernel range must be tested
        pytest.fail(
            f"{python} does not exist; `bash scripts/setup.sh` creates it (or: python3 -m venv "
            f".venv-kernel-min && .venv-kernel-min/bin/pip install 'ipykernel==6.29.*' "
            f"'ipywidgets>=8.1' -e .)",
            pytrace=False,
        )
    started = Kernel(python, tmp_path)
    try:
        yield started
    finally:
        started.close()
