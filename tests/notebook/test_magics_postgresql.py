"""The notebook layer on a PostgreSQL store shared with another scheduler (in this process,
standing in for another kernel): ``%sched store postgresql://...``, schedules added, paused and
removed elsewhere seen here at once, which scheduler ran a job, timelines, ``%load_ext`` from
``$NBSCHED_STORE``. Real kernels sharing a database: tests/notebook/test_kernel_postgresql.py."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from notebook_helpers import START, Notebook
from test_magics import _capture_display

from nbsched import AsyncScheduler, FakeClock, JobOutcome
from nbsched.datastores.postgresql import PostgreSQLDataStore
from nbsched.eventbrokers.postgresql import PostgreSQLEventBroker
from nbsched.events import JobReleased
from nbsched.notebook._cell_task import TASK_ID
from nbsched.notebook._cell_trust import signed_cell
from nbsched.notebook._state import CellSpec, kernel_identity
from nbsched.notebook._store_choice import describe_store, recorded_store
from nbsched.timelines import timeline
from nbsched.triggers.interval import IntervalTrigger

OTHER = "otherhost-4242-kernel"


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Wait for something another process's event causes (never for a fire: the clock is fake)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.01)


def another_kernel(dsn: str) -> AsyncScheduler:
    """A scheduler sharing the database (entered, not processing: it only acts and publishes)."""
    return AsyncScheduler(
        PostgreSQLDataStore(dsn),
        PostgreSQLEventBroker(dsn),
        identity=OTHER,
        clock=FakeClock(START),
    )


def test_describe_store_never_shows_a_password() -> None:
    text = describe_store("postgresql://alice:s3cret@db.example.com:6543/jobs")
    assert text == "PostgreSQL db.example.com:6543/jobs as user 'alice'"
    assert describe_store("/data/x.db") == "/data/x.db"
    assert describe_store(None) == "memory"


@pytest.mark.anyio
async def test_sched_store_postgresql_shares_schedules_with_other_kernels(
    notebook: Notebook, shared_dsn: str
) -> None:
    notebook.cell("%%every 10s --id mine\nprint('mine ran')")
    await notebook.settle()
    box = _capture_display(notebook, f"%sched store {shared_dsn}")
    await notebook.settle()
    holder = notebook.holder
    answer = html.unescape(box.children[0].value)  # type: ignore[attr-defined]
    assert answer == f"store: {describe_store(shared_dsn)}"
    assert isinstance(holder.scheduler.data_store, PostgreSQLDataStore)
    assert isinstance(holder.scheduler.event_broker, PostgreSQLEventBroker)
    assert holder.scheduler.identity == kernel_identity()
    assert kernel_identity().endswith("-kernel")
    assert recorded_store() == shared_dsn
    await notebook.advance(10)
    assert notebook.texts("mine") == "mine ran\n"
    board = holder.dashboard()
    await board.settle()
    assert board.rows["mine"].text()["ran on"] == "this kernel"

    async with another_kernel(shared_dsn) as other:
        assert (await other.get_schedule("mine")).next_fire_time == START + timedelta(seconds=20)

        # a cell schedule added by the other kernel (of the same user, so signed with the
        # same secret): an output area here, a dashboard row
        trigger = IntervalTrigger(seconds=10, start_time=START + timedelta(seconds=20))
        spec = CellSpec(
            schedule_id="theirs",
            cell_id=None,
            source="print('theirs ran here')",
            trigger=trigger,
            magic="%%every 10s",
        )
        kwargs, metadata = signed_cell(spec, coalesce="latest")
        await other.add_schedule(TASK_ID, trigger, id="theirs", kwargs=kwargs, metadata=metadata)
        await eventually(lambda: "theirs" in holder.outputs, "an output area for 'theirs'")
        restored = box.children[1]  # type: ignore[attr-defined]
        assert holder.outputs["theirs"].widget in restored.children
        await eventually(lambda: "theirs" in board.rows, "a dashboard row for 'theirs'")
        await notebook.advance(10)  # 09:00:20: both run here (the other one is not processing)
        assert notebook.texts("theirs") == "theirs ran here\n"
        assert notebook.texts("mine") == "mine ran\n"

        # the other kernel ran a job of 'mine': which scheduler ran it shows here
        await other.event_broker.publish(
            JobReleased(
                job_id=uuid4(),
                scheduler_id=OTHER,
                task_id=TASK_ID,
                schedule_id="mine",
                scheduled_start=START + timedelta(seconds=30),
                started_at=START + timedelta(seconds=30),
                finished_at=START + timedelta(seconds=30),
                outcome=JobOutcome.success,
            )
        )
        await eventually(
            lambda: board.rows["mine"].text()["ran on"] == OTHER, "'ran on' the other kernel"
        )
        # the status line follows within STATUS_INTERVAL (its updates are coalesced)
        await eventually(
            lambda: f"ran on {OTHER}" in holder.outputs["mine"].status.value,
            "'ran on' in the status line",
        )

        # paused there: seen here at once, and no more runs here
        await other.pause_schedule("mine")
        await eventually(
            lambda: "paused" in holder.outputs["mine"].status.value, "'mine' shown paused"
        )
        await eventually(lambda: board.rows["mine"].paused, "the dashboard shows it paused")
        runs = holder.tracker.stats["mine"].runs
        await notebook.advance(30)
        assert holder.tracker.stats["mine"].runs == runs

        await other.remove_schedule("theirs")
        await eventually(
            lambda: "removed" in holder.outputs["theirs"].status.value, "'theirs' shown removed"
        )
        await eventually(lambda: "theirs" not in board.rows, "its dashboard row gone")
    board.close()


@pytest.mark.anyio
async def test_timeline_and_list_on_postgresql(notebook: Notebook, shared_dsn: str) -> None:
    from nbsched.widgets import Timeline

    _capture_display(notebook, f"%sched store {shared_dsn}")
    notebook.cell("%%every 10s --id drawn\nprint(1)")
    await notebook.settle()
    with pytest.raises(TypeError, match=r"await nbsched.atimeline"):
        timeline(notebook.holder.scheduler)  # refused without touching the connection
    chart = _capture_display(notebook, "%sched timeline")
    answer = _capture_display(notebook, "%sched list")
    await notebook.settle()
    assert isinstance(chart, Timeline)
    await eventually(lambda: chart.frame is not None, "the timeline drawn")
    assert set(chart.frame["schedule_id"]) == {"drawn"}  # type: ignore[index]
    assert "Error" not in chart.status.value
    assert "<td>drawn</td>" in answer.value  # type: ignore[attr-defined]
    chart.close()


@pytest.mark.anyio
async def test_load_ext_with_nbsched_store_postgresql_restores_cell_schedules(
    notebook: Notebook, shared_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from nbsched.notebook import load, unload_ipython_extension

    _capture_display(notebook, f"%sched store {shared_dsn}")
    notebook.cell("%%every 10s --id kept --times 3\nprint('kept ran')")
    await notebook.advance(10)
    unload_ipython_extension(notebook.shell)
    await notebook.holder.scheduler.wait_until_stopped()
    (tmp_path / ".nbsched-store.json").unlink()  # only the environment names the store now
    monkeypatch.setenv("NBSCHED_STORE", shared_dsn)
    shown: list[object] = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    notebook.holder = holder = load(notebook.shell, clock=notebook.clock)
    await notebook.settle()
    (box,) = shown
    note = box.children[0].value  # type: ignore[attr-defined]
    assert describe_store(shared_dsn) in html.unescape(note)
    assert list(holder.outputs) == ["kept"]
    await notebook.advance(30)
    assert notebook.texts("kept") == "kept ran\n"
    assert holder.tracker.stats["kept"].runs == 2  # the third of --times 3
    assert await notebook.schedule_ids() == []


@pytest.mark.anyio
async def test_a_database_that_cannot_be_used_leaves_the_schedules_where_they_were(
    notebook: Notebook, shared_dsn: str
) -> None:
    missing = shared_dsn.rsplit("/", 1)[0] + "/nbsched_no_such_database"
    notebook.cell("%%every 10s --id stays\nprint('still here')")
    await notebook.settle()
    box = _capture_display(notebook, f"%sched store {missing}")
    await notebook.settle()
    answer = html.unescape(box.children[0].value)  # type: ignore[attr-defined]
    assert answer == (
        "<span style='color:#c62828'>could not switch the store: the scheduler stopped: "
        "DataStoreError: could not connect to PostgreSQL at "
        f"{describe_store(missing).removeprefix('PostgreSQL ')}: "
        "database 'nbsched_no_such_database' does not exist</span>"
    )
    assert notebook.holder.store_path is None
    assert recorded_store() is None
    await notebook.advance(10)
    assert notebook.texts("stays") == "still here\n"
