"""The trust rule: stored cell schedules this user did not sign come back paused, named in a
warning, reviewable with ``%sched show``, and run only once resumed (which signs them).

In an IPython shell on a fake clock; the real-kernel tests are in test_kernel_trust.py.
Each "user" is a Jupyter data directory (``$JUPYTER_DATA_DIR``) holding its own secret.
"""

from __future__ import annotations

import html
import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from notebook_helpers import START, Notebook

from nbsched import AsyncScheduler, ConflictPolicy, FakeClock
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.notebook import load, unload_ipython_extension
from nbsched.notebook._cell_task import TASK_ID, UntrustedCellError, run_cell
from nbsched.notebook._cell_trigger import CellTrigger
from nbsched.notebook._state import CELL_METADATA_KEY
from nbsched.notebook._store_choice import record_store
from nbsched.notebook._trust import (
    SECRET_FILE_NAME,
    CellSigner,
    current_signer,
    read_or_create_secret,
    trigger_fingerprint,
)
from nbsched.triggers.cron import CronTrigger
from nbsched.triggers.date import DateTrigger
from nbsched.triggers.interval import IntervalTrigger

SIDE_EFFECT = "with open('ran', 'a') as f:\n    f.write('x')"

# --- the secret and the signatures -------------------------------------------------------------


def test_the_secret_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / SECRET_FILE_NAME
    key = read_or_create_secret(path)
    assert len(key) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_secret(path) == key
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE_NAME]  # no draft left


def test_a_file_too_short_to_be_a_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE_NAME).write_text("short\n")
    with pytest.raises(ValueError, match="holds 5 bytes, too few for a signing secret"):
        read_or_create_secret(tmp_path / SECRET_FILE_NAME)


def test_without_a_usable_secret_a_key_for_this_kernel_only_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "a-file" / "jupyter"))
    signer = current_signer()
    assert signer.problem is not None and "cannot use the signing secret" in signer.problem
    signature = signer.sign_code("x", "print(1)")
    assert signer.code_is_signed("x", "print(1)", signature)


def test_each_run_checks_a_known_good_signature_without_recomputing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every run of a scheduled cell checks its code signature: once found good, it is not
    # computed again, and the secret's path is worked out once per environment
    from nbsched.notebook import _trust

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "first"))
    located: list[Path] = []
    original = _trust.secret_path

    def counting_secret_path() -> Path:
        located.append(original())
        return located[-1]

    monkeypatch.setattr(_trust, "secret_path", counting_secret_path)
    signer = current_signer()
    assert current_signer() is signer and located == [tmp_path / "first" / SECRET_FILE_NAME]
    signature = signer.sign_code("x", "print(1)")
    computed: list[str] = []
    sign = signer._sign

    def counted_sign(*args: Any) -> Any:
        computed.append(args[0])
        return sign(*args)

    monkeypatch.setattr(signer, "_sign", counted_sign)
    for _ in range(3):
        assert signer.code_is_signed("x", "print(1)", signature)
    assert len(computed) == 1
    # what was not found good is checked (and refused) every time
    for _ in range(2):
        assert not signer.code_is_signed("x", "print(2)", signature)
        assert not signer.code_is_signed("x", "print(1)", "0" * 64)
    assert len(computed) == 5
    # another data directory: another secret, another signer
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "second"))
    other = current_signer()
    assert other is not signer and located[-1] == tmp_path / "second" / SECRET_FILE_NAME
    assert not other.code_is_signed("x", "print(1)", signature)


def _magic_triggers() -> list[Any]:
    start = START + timedelta(seconds=1)
    return [
        IntervalTrigger(seconds=30.0, start_time=start),
        CellTrigger(IntervalTrigger(seconds=0.5, start_time=start), times=3, first_fire=START),
        CellTrigger(CronTrigger.from_crontab("*/5 * * * *", start_time=START), first_fire=START),
        DateTrigger(START + timedelta(hours=1)),
        CellTrigger(DateTrigger(START + timedelta(hours=1)), first_fire=START),
    ]


@pytest.mark.parametrize("trigger", _magic_triggers(), ids=str)
def test_the_fingerprint_stays_while_the_trigger_fires_and_after_a_store_round_trip(
    trigger: Any,
) -> None:
    from nbsched._marshalling import trigger_from_state, trigger_to_state

    fingerprint = trigger_fingerprint(trigger)
    for _ in range(4):
        trigger.next()
        assert trigger_fingerprint(trigger) == fingerprint
    stored = json.loads(json.dumps(trigger_to_state(trigger)))
    assert trigger_fingerprint(trigger_from_state(stored)) == fingerprint


def test_signatures_depend_on_the_key_the_code_and_what_decides_when() -> None:
    mine, theirs = CellSigner(b"a" * 64), CellSigner(b"b" * 64)
    signature = mine.sign_code("x", "print(1)")
    assert mine.code_is_signed("x", "print(1)", signature)
    assert not theirs.code_is_signed("x", "print(1)", signature)
    assert not mine.code_is_signed("x", "print(2)", signature)
    assert not mine.code_is_signed("y", "print(1)", signature)
    assert not mine.code_is_signed("x", "print(1)", None)

    def schedule_signature(**changes: Any) -> str:
        fields: dict[str, Any] = {
            "schedule_id": "x",
            "task_id": TASK_ID,
            "args": (),
            "kwargs": {"source": "print(1)", "schedule_id": "x"},
            "cell": {"magic": "%%every 30s", "append": False},
            "trigger": IntervalTrigger(seconds=30, start_time=START),
            "coalesce": "latest",
            "misfire_grace_time": None,
            "max_jitter": None,
        }
        return mine.sign_schedule(**{**fields, **changes})

    base = schedule_signature()
    assert schedule_signature(kwargs={"source": "print(1)", "schedule_id": "x"}) == base
    assert schedule_signature(trigger=IntervalTrigger(seconds=30.0, start_time=START)) == base
    variants: list[dict[str, Any]] = [
        {"trigger": IntervalTrigger(seconds=1, start_time=START)},
        {"trigger": IntervalTrigger(seconds=30, start_time=START + timedelta(seconds=1))},
        {"cell": {"magic": "%%every 30s", "append": True}},
        {"coalesce": "all"},
        {"misfire_grace_time": timedelta(seconds=5)},
        {"kwargs": {"source": "print(1)", "schedule_id": "x", "extra": 1}},
    ]
    for changed in variants:
        assert schedule_signature(**changed) != base, changed


# --- stores in a shell ---------------------------------------------------------------------------


def _as_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / f"jupyter-data-{name}"))


async def _restart(notebook: Notebook) -> Any:
    """What a kernel restart and ``%load_ext nbsched`` do to the shell (same fake clock)."""
    unload_ipython_extension(notebook.shell)
    await notebook.holder.scheduler.wait_until_stopped()
    notebook.holder = load(notebook.shell, clock=notebook.clock)
    await notebook.settle()
    return notebook.holder


def _shown(notebook: Notebook, line: str) -> Any:
    """Run a line magic; return the widget it displayed."""
    shown: list[Any] = []
    original = notebook.shell.display_formatter.format

    def keep(obj: Any, *args: Any, **kwargs: Any) -> Any:
        shown.append(obj)
        return original(obj, *args, **kwargs)

    notebook.shell.display_formatter.format = keep  # type: ignore[method-assign]
    try:
        result = notebook.shell.run_cell(line, store_history=False)
    finally:
        notebook.shell.display_formatter.format = original  # type: ignore[method-assign]
    assert result.success, result.error_in_exec
    (widget,) = shown
    return widget


async def _store_with_cell(notebook: Notebook, source: str = SIDE_EFFECT) -> None:
    """``%sched store schedules.db`` and a cell every 10 s, by the current user."""
    _shown(notebook, "%sched store schedules.db")
    await notebook.settle()
    notebook.cell(f"%%every 10s --id sidefx\n{source}")
    await notebook.settle()


async def _edit_stored(path: Path, **changes: Any) -> None:
    """Change the stored 'sidefx' schedule as a script with write access to the file would."""
    async with AsyncScheduler(SQLiteDataStore(path), clock=FakeClock(START)) as scheduler:
        schedule = await scheduler.get_schedule("sidefx")
        changed = {
            key: value(schedule) if callable(value) else value for key, value in changes.items()
        }
        await scheduler.data_store.add_schedule(  # type: ignore[call-arg]
            schedule.copy(**changed), ConflictPolicy.replace
        )


async def _unsigned_store(path: Path) -> None:
    """A store written by a script: a cell schedule with code and no signature (the attack)."""
    async with AsyncScheduler(SQLiteDataStore(path), clock=FakeClock(START)) as scheduler:
        await scheduler.configure_task(TASK_ID, func=run_cell, job_executor="loop")
        await scheduler.add_schedule(
            TASK_ID,
            IntervalTrigger(seconds=10, start_time=START + timedelta(seconds=10)),
            id="sidefx",
            kwargs={"source": SIDE_EFFECT, "schedule_id": "sidefx"},
            metadata={CELL_METADATA_KEY: {"cell_id": None, "magic": "%%every 10s"}},
        )
    record_store(str(path))


@pytest.mark.parametrize(
    "origin",
    [
        "another user's secret",
        "unsigned, written by a script",
        "code changed in the file",
        "trigger changed in the file",
        "cell options changed in the file",
    ],
)
@pytest.mark.anyio
async def test_a_cell_schedule_this_user_did_not_sign_stays_paused_until_resumed(
    notebook: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, origin: str
) -> None:
    db = tmp_path / "schedules.db"
    if origin == "another user's secret":
        _as_user(monkeypatch, tmp_path, "other")
        await _store_with_cell(notebook)
        _as_user(monkeypatch, tmp_path, "me")
    elif origin == "unsigned, written by a script":
        unload_ipython_extension(notebook.shell)
        await notebook.holder.scheduler.wait_until_stopped()
        await _unsigned_store(db)
    else:
        await _store_with_cell(notebook, "with open('own', 'a') as f:\n    f.write('x')")
        unload_ipython_extension(notebook.shell)
        await notebook.holder.scheduler.wait_until_stopped()
        if origin == "code changed in the file":
            await _edit_stored(db, kwargs=lambda s: {**s.kwargs, "source": SIDE_EFFECT})
        elif origin == "trigger changed in the file":
            await _edit_stored(
                db, trigger=IntervalTrigger(seconds=1, start_time=START + timedelta(seconds=10))
            )
        else:
            await _edit_stored(
                db,
                metadata=lambda s: {
                    CELL_METADATA_KEY: {**s.metadata[CELL_METADATA_KEY], "append": True}
                },
            )

    holder = await _restart(notebook)
    assert holder.store_path == str(db)
    schedule = await holder.scheduler.get_schedule("sidefx")
    assert schedule.paused
    warnings = [
        w.value for w in holder.restored_area.children if "not signed" in getattr(w, "value", "")
    ]
    assert len(warnings) == 1, warnings  # named once, though pausing it also publishes an event
    warning = warnings[0]
    assert "1 cell schedule in" in warning and "was not signed by you and stays paused" in warning
    assert "<code>&#x27;sidefx&#x27;</code>" in warning
    assert "%sched show ID" in warning
    assert "paused: not signed by you" in holder.outputs["sidefx"].status.value

    await notebook.advance(35)  # it would have fired three times
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "own").exists()

    shown = _shown(notebook, "%sched show sidefx")
    await notebook.settle()
    assert "<b>not signed by you</b>" in shown.value
    source = (await holder.scheduler.get_schedule("sidefx")).kwargs["source"]
    assert html.escape(source) in shown.value

    answer = _shown(notebook, "%sched resume sidefx")
    await notebook.settle()
    assert answer.value == "resumed &#x27;sidefx&#x27;"
    assert "not signed" not in holder.outputs["sidefx"].status.value
    await notebook.advance(10)
    ran = (tmp_path / "ran").exists() or (tmp_path / "own").exists()
    assert ran, "the resumed schedule did not run"

    # resuming signed it: the next load trusts it
    holder = await _restart(notebook)
    assert not (await holder.scheduler.get_schedule("sidefx")).paused
    assert not [
        w for w in holder.restored_area.children if "not signed" in getattr(w, "value", "")
    ]
    shown = _shown(notebook, "%sched show sidefx")
    await notebook.settle()
    assert "</code> · signed by you<br>active" in shown.value


@pytest.mark.anyio
async def test_the_same_users_store_runs_after_a_restart_without_a_warning(
    notebook: Notebook, tmp_path: Path
) -> None:
    await _store_with_cell(notebook)
    holder = await _restart(notebook)
    assert not (await holder.scheduler.get_schedule("sidefx")).paused
    assert holder.restored_area.children == (holder.outputs["sidefx"].widget,)  # no warning
    await notebook.advance(10)
    assert (tmp_path / "ran").read_text() == "x"


@pytest.mark.anyio
async def test_a_job_carrying_unsigned_code_is_refused_without_running_it(
    notebook: Notebook, tmp_path: Path
) -> None:
    scheduler = notebook.holder.scheduler
    kwargs = {"source": SIDE_EFFECT, "schedule_id": "forged"}
    for signature in (None, "0" * 64, current_signer().sign_code("forged", "print(1)")):
        with pytest.raises(UntrustedCellError, match="cell schedule 'forged' was not run"):
            await scheduler.run_job(TASK_ID, kwargs={**kwargs, "signature": signature})
    assert not (tmp_path / "ran").exists()
    signed = current_signer().sign_code("forged", SIDE_EFFECT)
    await scheduler.run_job(TASK_ID, kwargs={**kwargs, "signature": signed})
    assert (tmp_path / "ran").read_text() == "x"


@pytest.mark.anyio
async def test_moving_stores_keeps_own_schedules_signed_and_others_paused(
    notebook: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _unsigned_store(tmp_path / "theirs.db")
    holder = await _restart(notebook)
    assert (await holder.scheduler.get_schedule("sidefx")).paused
    notebook.cell("%%every 10s --id mine\nwith open('mine', 'a') as f:\n    f.write('x')")
    await notebook.settle()
    _shown(notebook, "%sched store mine.db")
    await notebook.settle()
    assert notebook.holder.store_path == str(tmp_path / "mine.db")
    holder = await _restart(notebook)
    schedules = {s.id: s.paused for s in await holder.scheduler.get_schedules()}
    assert schedules == {"mine": False, "sidefx": True}
    await notebook.advance(30)
    assert (tmp_path / "mine").exists()
    assert not (tmp_path / "ran").exists()


@pytest.mark.anyio
async def test_sched_run_refuses_a_schedule_this_user_did_not_sign(
    notebook: Notebook, tmp_path: Path
) -> None:
    await _unsigned_store(tmp_path / "theirs.db")
    await _restart(notebook)
    answer = _shown(notebook, "%sched run sidefx")
    await notebook.settle()
    assert answer.value == (
        "<span style='color:#c62828'>could not run &#x27;sidefx&#x27;: UntrustedCellError: it "
        "is not signed by you; review it with %sched show sidefx, then %sched resume sidefx "
        "signs it</span>"
    )
    assert not (tmp_path / "ran").exists()


@pytest.mark.anyio
async def test_the_dashboards_resume_button_signs_and_runs_it(
    notebook: Notebook, tmp_path: Path
) -> None:
    await _unsigned_store(tmp_path / "theirs.db")
    holder = await _restart(notebook)
    board = holder.dashboard()
    await board.settle()
    await notebook.advance(25)
    assert not (tmp_path / "ran").exists()
    board.rows["sidefx"].resume_button.click()
    await board.settle()
    await notebook.settle()
    schedule = await holder.scheduler.get_schedule("sidefx")
    assert (schedule.paused, schedule.next_fire_time) == (False, START + timedelta(seconds=30))
    await notebook.advance(10)
    assert (tmp_path / "ran").read_text() == "x"
    board.close()


@pytest.mark.anyio
async def test_load_ext_says_when_the_secret_cannot_be_used(
    notebook: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _store_with_cell(notebook)
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "a-file" / "jupyter"))
    holder = await _restart(notebook)
    lines = [w.value for w in holder.restored_area.children[:2]]
    assert lines[0].startswith("<span style='color:#b26a00'>nbsched: 1 cell schedule in")
    assert lines[1].startswith("<span style='color:#b26a00'>nbsched: cannot use the signing")
    assert "will come back paused after a restart" in lines[1]
    assert (await holder.scheduler.get_schedule("sidefx")).paused  # signed with another key


@pytest.mark.anyio
async def test_a_run_due_while_the_store_is_restored_waits_for_its_output_area(
    notebook: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a real kernel the scheduler may start an overdue run before ``%load_ext`` has made
    the restored schedule's output area: that run waits for it instead of printing elsewhere."""
    import asyncio

    from nbsched.notebook._state import NotebookScheduler

    await _store_with_cell(notebook, "print('restored run')")
    unload_ipython_extension(notebook.shell)
    await notebook.holder.scheduler.wait_until_stopped()
    await notebook.clock.advance(15)  # the fire at 09:00:10 is overdue when the store opens

    restoring = asyncio.Event()
    prepare = NotebookScheduler._prepare

    async def slow_prepare(self: NotebookScheduler, restored: Any) -> list[str]:
        await restoring.wait()
        return await prepare(self, restored)

    monkeypatch.setattr(NotebookScheduler, "_prepare", slow_prepare)
    notebook.holder = load(notebook.shell, clock=notebook.clock)
    scheduler = notebook.holder.scheduler
    for _ in range(500):  # the scheduler acquires the overdue fire and starts its job
        await notebook.clock.settle()
        if await scheduler.get_jobs():
            break
        await asyncio.sleep(0.01)  # store calls hop to a thread: give them real time
    jobs = await scheduler.get_jobs()
    assert [job.schedule_id for job in jobs] == ["sidefx"]  # started, waiting
    assert notebook.holder.outputs == {}  # restoring has not made its area yet
    restoring.set()
    await notebook.settle()
    assert notebook.texts("sidefx") == "restored run\n"
