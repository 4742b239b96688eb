"""The trust rule in real kernels: ``%load_ext nbsched`` in a folder whose store holds a cell
schedule this user did not sign runs nothing, says so, and runs it once resumed; the same
user's restart gets the schedule back running.

Each "user" is a Jupyter data directory (``$JUPYTER_DATA_DIR``, which holds the signing
secret); ``$WHO`` names the kernel in the side effect file the scheduled code writes. Real time,
as in test_kernel.py: a schedule firing every second is given three seconds to (not) run.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from kernel_helpers import KERNELS, Kernel

pytestmark = pytest.mark.slow

CODE = "import os\nwith open(f\"ran-{os.environ['WHO']}\", 'a') as f:\n    f.write('x')"


@pytest.fixture(params=list(KERNELS), ids=list(KERNELS))
def python(request: pytest.FixtureRequest) -> Path:
    path = KERNELS[request.param]
    if not path.exists():
        pytest.fail(f"{path} does not exist; `bash scripts/setup.sh` creates it", pytrace=False)
    return path


@pytest.fixture
def kernels() -> Iterator[list[Kernel]]:
    started: list[Kernel] = []
    try:
        yield started
    finally:
        for kernel in started:
            kernel.close()


def _kernel_as(
    user: str, who: str, python: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> Kernel:
    """A kernel of ``user`` (their Jupyter data directory, so their secret) named ``who``."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(cwd / f"jupyter-data-{user}"))
    monkeypatch.setenv("WHO", who)
    monkeypatch.delenv("NBSCHED_STORE", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return Kernel(python, cwd)


def _html_values(kernel: Kernel, msg_id: str) -> list[str]:
    """Every value the HTML widgets opened by the cell ``msg_id`` had."""
    values = []
    for m in kernel.messages:
        content = m["content"]
        if m["msg_type"] == "comm_open" and m["parent_header"].get("msg_id") == msg_id:
            state = content["data"]["state"]
            if state.get("_model_name") == "HTMLModel":
                values.append(state.get("value", ""))
    for comm_id in kernel.widgets_opened_by(msg_id, "HTMLModel"):
        values.extend(value for _index, value in kernel.updates(comm_id, "value"))
    return list(dict.fromkeys(values))  # each value once, in order


def _schedule_cell_in_a_file(kernel: Kernel, cwd: Path, code: str) -> None:
    kernel.execute("%load_ext nbsched")
    store = kernel.execute("%sched store schedules.db")
    expected = f"store: {cwd / 'schedules.db'}"
    kernel.wait_for(
        lambda: expected in _html_values(kernel, store), timeout=15, what="the store switch"
    )
    kernel.execute(f"%%every 1s --id sidefx\n{code}")


def _unsigned_store(cwd: Path) -> None:
    """What a script (or a cloned repository) can leave: a cell schedule, no signature."""
    from nbsched import AsyncScheduler
    from nbsched.datastores.sqlite import SQLiteDataStore
    from nbsched.notebook._cell_task import TASK_ID, run_cell
    from nbsched.notebook._state import CELL_METADATA_KEY
    from nbsched.notebook._store_choice import record_store
    from nbsched.triggers.interval import IntervalTrigger

    async def write() -> None:
        async with AsyncScheduler(SQLiteDataStore(cwd / "schedules.db")) as scheduler:
            await scheduler.configure_task(TASK_ID, func=run_cell, job_executor="loop")
            await scheduler.add_schedule(
                TASK_ID,
                IntervalTrigger(seconds=1, start_time=datetime.now(timezone.utc)),
                id="sidefx",
                kwargs={"source": CODE, "schedule_id": "sidefx"},
                metadata={CELL_METADATA_KEY: {"cell_id": None, "magic": "%%every 1s"}},
            )

    asyncio.run(write())
    record_store(str(cwd / "schedules.db"), cwd=cwd)


def _change_the_stored_code(cwd: Path) -> None:
    from nbsched import AsyncScheduler, ConflictPolicy
    from nbsched.datastores.sqlite import SQLiteDataStore

    async def edit() -> None:
        async with AsyncScheduler(SQLiteDataStore(cwd / "schedules.db")) as scheduler:
            schedule = await scheduler.get_schedule("sidefx")
            changed = schedule.copy(kwargs={**schedule.kwargs, "source": CODE})
            await scheduler.data_store.add_schedule(  # type: ignore[call-arg]
                changed, ConflictPolicy.replace
            )

    asyncio.run(edit())


@pytest.mark.parametrize(
    "origin", ["another user's secret", "unsigned, written by a script", "code changed"]
)
def test_a_store_this_user_did_not_sign_runs_nothing_until_resumed(
    python: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kernels: list[Kernel],
    origin: str,
) -> None:
    if origin == "unsigned, written by a script":
        _unsigned_store(tmp_path)
    else:
        user, code = ("other", CODE) if origin == "another user's secret" else ("me", None)
        setup = _kernel_as(user, "setup", python, tmp_path, monkeypatch)
        kernels.append(setup)
        _schedule_cell_in_a_file(setup, tmp_path, code or CODE.replace("ran-", "own-"))
        ran_there = tmp_path / ("ran-setup" if code else "own-setup")
        setup.wait_for(ran_there.exists, timeout=10, what="the schedule to run where it was made")
        setup.close()
        kernels.remove(setup)
        if origin == "code changed":
            _change_the_stored_code(tmp_path)

    kernel = _kernel_as("me", "me", python, tmp_path, monkeypatch)
    kernels.append(kernel)
    loaded = kernel.execute("%load_ext nbsched")

    def warning() -> list[str]:
        return [v for v in _html_values(kernel, loaded) if "was not signed by you" in v]

    kernel.wait_for(
        lambda: bool(kernel.widgets_opened_by(loaded, "OutputModel")),
        timeout=10,
        what="the restored schedule's output area",
    )
    kernel.pump(3.0)  # it fires every second: three fire times pass
    assert not (tmp_path / "ran-me").exists(), "code nobody signed ran at %load_ext"
    (line,) = warning()
    assert "1 cell schedule in" in line and "&#x27;sidefx&#x27;" in line
    assert "stays paused" in line

    show = kernel.execute("%sched show sidefx")
    kernel.wait_for(
        lambda: any(html.escape(CODE) in v for v in _html_values(kernel, show)),
        timeout=10,
        what="%sched show to show the code",
    )
    assert any("<b>not signed by you</b>" in v for v in _html_values(kernel, show))
    assert not (tmp_path / "ran-me").exists()

    resumed_at = datetime.now(timezone.utc)
    kernel.execute("%sched resume sidefx")
    kernel.wait_for((tmp_path / "ran-me").exists, timeout=10, what="a run after the resume")
    assert datetime.now(timezone.utc) - resumed_at < timedelta(seconds=10)


def test_the_same_users_restart_gets_the_schedule_back_running(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernels: list[Kernel]
) -> None:
    kernel = _kernel_as("me", "me", python, tmp_path, monkeypatch)
    kernels.append(kernel)
    _schedule_cell_in_a_file(kernel, tmp_path, CODE)
    ran = tmp_path / "ran-me"
    kernel.wait_for(ran.exists, timeout=10, what="a run before the restart")

    kernel.restart()
    ran.unlink()
    loaded = kernel.execute("%load_ext nbsched")
    kernel.wait_for(ran.exists, timeout=10, what="a run after the restart")
    assert not [v for v in _html_values(kernel, loaded) if "not signed" in v]
