"""Stored type references (a trigger's class, an exception's class) never import a module.

A hostile module sits on ``sys.path`` and records, in a file, that it was imported. Rows naming
its classes are written straight into real SQLite files and PostgreSQL schemas, as anyone who
can write the store could; reading them must fail that row alone, with an event, and never
import the module. Classes the process imported or defined itself keep working.
(The memory store keeps live objects and decodes nothing, so it has nothing to test here.)
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from store_helpers import (
    LEASE,
    T0,
    RecordingBroker,
    execute_postgresql,
    execute_sqlite,
    started_postgresql_store,
)

from nbsched import ConflictPolicy, Job, JobOutcome, JobResult, Schedule, Task
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.datastores.sync_adapter import AsyncDataStoreAdapter
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.events import Event, ScheduleDeserializationFailed
from nbsched.serializers.json import UnresolvedException
from nbsched.triggers import IntervalTrigger

pytestmark = pytest.mark.anyio

HOSTILE_SOURCE = """
import pathlib
pathlib.Path({marker!r}).write_text("imported")

from nbsched.abc import Trigger


class Evil(Trigger):
    def next(self):
        return None

    def __getstate__(self):
        return {{"version": 1}}

    def __setstate__(self, state):
        pathlib.Path({marker!r}).write_text("setstate ran")


class Boom(Exception):
    pass
"""


@dataclass
class Hostile:
    """A module on sys.path that leaves ``marker`` behind when imported."""

    name: str
    marker: Path

    def assert_not_imported(self) -> None:
        assert self.name not in sys.modules
        assert not self.marker.exists(), self.marker.read_text()


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hostile]:
    name = f"nbsched_hostile_{uuid.uuid4().hex[:10]}"
    folder = tmp_path / "hostile"
    folder.mkdir()
    marker = tmp_path / "hostile-was-imported"
    (folder / f"{name}.py").write_text(HOSTILE_SOURCE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(folder))
    yield Hostile(name, marker)
    sys.modules.pop(name, None)


class RawStore:
    """A started store plus a raw connection to what it stores, to write hostile rows."""

    def __init__(self, kind: str, store: Any, events: list[Event], dsn: str | None = None):
        self.kind = kind
        self.store = store
        self.events = events
        self.dsn = dsn

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        """Run ``sql`` (written with ``?`` placeholders) on a separate raw connection."""
        if self.kind == "sqlite":
            execute_sqlite(self.store.original.path, sql, params)
        else:
            assert self.dsn is not None
            execute_postgresql(self.dsn, self.store.schema, sql, params)

    def of_type(self, kind: type[Event]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


@pytest.fixture(params=["sqlite", "postgresql"])
async def raw(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "postgresql":
        dsn = request.getfixturevalue("postgresql_dsn")
        async with started_postgresql_store(dsn, "types") as (store, published):
            yield RawStore(request.param, store, published, dsn)
        return
    inner = SQLiteDataStore(tmp_path / "schedules.db")
    adapter: Any = AsyncDataStoreAdapter(inner)
    adapter.original = inner
    broker = LocalEventBroker()
    await broker.start()
    events: list[Event] = []
    broker.subscribe(events.append)
    await adapter.start(broker)
    try:
        yield RawStore(request.param, adapter, events)
    finally:
        await adapter.stop()
        await broker.stop()


def _schedule(schedule_id: str) -> Schedule:
    return Schedule(
        id=schedule_id,
        task_id="task",
        trigger=IntervalTrigger(minutes=1, start_time=T0),
        next_fire_time=T0,
    )


async def _add_schedules(raw: RawStore, *ids: str) -> None:
    await raw.store.add_task(Task(id="task", func="os.path:join"))
    for schedule_id in ids:
        await raw.store.add_schedule(_schedule(schedule_id), ConflictPolicy.exception)


def _trigger_json(type_ref: str, state: Any) -> str:
    return json.dumps({"type": type_ref, "state": state})


@pytest.mark.parametrize(
    "nest",
    ["alone", "inside OrTrigger", "inside CellTrigger"],
)
async def test_a_stored_trigger_type_never_imports_its_module(
    raw: RawStore, hostile: Hostile, nest: str
) -> None:
    await _add_schedules(raw, "a", "bad", "z")
    evil = {"type": f"{hostile.name}:Evil", "state": {"version": 1}}
    if nest == "alone":
        text = json.dumps(evil)
    elif nest == "inside OrTrigger":
        text = _trigger_json(
            "nbsched.triggers.combining:OrTrigger",
            {"version": 1, "triggers": [evil], "next_fire_times": None},
        )
    else:
        text = _trigger_json(
            "nbsched.notebook._cell_trigger:CellTrigger",
            {"version": 1, "trigger": evil, "times": None, "fired": 0, "first_fire": None,
             "last": None},
        )  # fmt: skip
    raw.execute("UPDATE schedules SET trigger = ? WHERE id = ?", (text, "bad"))

    assert [s.id for s in await raw.store.get_schedules()] == ["a", "z"]
    acquired = await raw.store.acquire_schedules("s1", LEASE, 10, T0)
    assert sorted(s.id for s in acquired) == ["a", "z"]

    failures = raw.of_type(ScheduleDeserializationFailed)
    assert [f.schedule_id for f in failures] == ["bad", "bad"]
    assert f"{hostile.name}:Evil" in failures[0].exception
    assert "not imported" in failures[0].exception
    hostile.assert_not_imported()


@pytest.mark.parametrize(
    "type_ref",
    ["os:system", "builtins:int", "nbsched.triggers.interval:_IntervalSpec", "nbsched:Job", "x"],
)
async def test_a_stored_type_that_is_not_a_trigger_class_fails_its_row(
    raw: RawStore, type_ref: str
) -> None:
    await _add_schedules(raw, "bad", "good")
    raw.execute(
        "UPDATE schedules SET trigger = ? WHERE id = ?", (_trigger_json(type_ref, {}), "bad")
    )
    assert [s.id for s in await raw.store.get_schedules()] == ["good"]
    (failure,) = raw.of_type(ScheduleDeserializationFailed)
    assert failure.schedule_id == "bad"
    assert type_ref in failure.exception


async def test_a_lazily_exported_name_is_not_loaded_through_module_getattr(
    raw: RawStore, hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``nbsched`` exports names lazily through a module ``__getattr__`` that imports the module
    holding them: looking a stored name up must not go through it."""
    import nbsched

    monkeypatch.setitem(nbsched._LAZY, "Sneaky", hostile.name)
    await _add_schedules(raw, "bad")
    raw.execute(
        "UPDATE schedules SET trigger = ? WHERE id = ?",
        (_trigger_json("nbsched:Sneaky", {}), "bad"),
    )
    assert await raw.store.get_schedules() == []
    hostile.assert_not_imported()


async def test_a_stored_exception_type_never_imports_its_module(
    raw: RawStore, hostile: Hostile
) -> None:
    job = Job(task_id="task", result_expiration_time=timedelta(hours=1), created_at=T0)
    await raw.store.add_task(Task(id="task", func="os.path:join"))
    await raw.store.add_job(job)
    (acquired,) = await raw.store.acquire_jobs("s1", LEASE, None, T0)
    result = JobResult(
        job_id=job.id,
        outcome=JobOutcome.error,
        finished_at=T0,
        expires_at=T0 + timedelta(hours=1),
        exception=ValueError("replaced below"),
    )
    await raw.store.release_job("s1", acquired, result)
    hostile_exception = json.dumps(
        {"__nbsched__": "exception", "v": f"{hostile.name}:Boom", "args": ["x"], "message": "x"}
    ).encode()
    raw.execute(
        "UPDATE job_results SET exception = ? WHERE job_id = ?",
        (hostile_exception, job.id if raw.kind == "postgresql" else str(job.id)),
    )

    stored = await raw.store.get_job_result(job.id)
    assert stored.outcome is JobOutcome.error
    assert isinstance(stored.exception, UnresolvedException)
    assert stored.exception.type_ref == f"{hostile.name}:Boom"
    assert stored.exception.message == "x"
    hostile.assert_not_imported()


async def test_a_stored_exception_in_job_arguments_never_imports_its_module(
    raw: RawStore, hostile: Hostile
) -> None:
    await raw.store.add_task(Task(id="task", func="os.path:join"))
    job = Job(task_id="task", args=("placeholder",), created_at=T0)
    await raw.store.add_job(job)
    args = json.dumps(
        {"__nbsched__": "tuple", "v": [
            {"__nbsched__": "exception", "v": f"{hostile.name}:Boom", "args": [], "message": "m"}
        ]}
    ).encode()  # fmt: skip
    raw.execute(
        "UPDATE jobs SET args = ? WHERE id = ?",
        (args, job.id if raw.kind == "postgresql" else str(job.id)),
    )
    (restored,) = await raw.store.get_jobs()
    assert isinstance(restored.args[0], UnresolvedException)
    hostile.assert_not_imported()


USER_TRIGGER_SOURCE = '''
from datetime import datetime, timedelta, timezone

from nbsched.abc import Trigger


class EveryOtherMinute(Trigger):
    """A user's own trigger, as the extension guide writes one."""

    def __init__(self, start):
        self.at = start

    def next(self):
        self.at += timedelta(minutes=2)
        return self.at

    def __getstate__(self):
        return {"version": 1, "at": self.at.isoformat()}

    def __setstate__(self, state):
        self.at = datetime.fromisoformat(state["at"])
'''


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"nbsched_user_triggers_{uuid.uuid4().hex[:10]}"
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / f"{name}.py").write_text(USER_TRIGGER_SOURCE)
    monkeypatch.syspath_prepend(str(folder))
    yield name
    sys.modules.pop(name, None)


async def test_a_custom_trigger_works_once_its_module_is_imported(
    raw: RawStore, user_module: str
) -> None:
    module = importlib.import_module(user_module)
    await raw.store.add_task(Task(id="task", func="os.path:join"))
    schedule = Schedule(
        id="custom", task_id="task", trigger=module.EveryOtherMinute(T0), next_fire_time=T0
    )
    await raw.store.add_schedule(schedule, ConflictPolicy.exception)
    (restored,) = await raw.store.get_schedules()
    assert type(restored.trigger) is module.EveryOtherMinute
    assert restored.trigger.next() == T0 + timedelta(minutes=2)

    # a later process that has not imported the module: the row fails, nothing is imported ...
    del sys.modules[user_module]
    assert await raw.store.get_schedules() == []
    assert user_module not in sys.modules
    (failure,) = raw.of_type(ScheduleDeserializationFailed)
    assert f"import {user_module}" in failure.exception
    # ... until the user's own code imports it
    module = importlib.import_module(user_module)
    (restored,) = await raw.store.get_schedules()
    assert type(restored.trigger) is module.EveryOtherMinute


async def test_a_trigger_defined_in_main_works(raw: RawStore, monkeypatch) -> None:
    """A notebook's classes live in ``__main__`` (the kernel's user module)."""
    import types

    main = types.ModuleType("__main__")
    exec(compile(USER_TRIGGER_SOURCE, "<notebook cell>", "exec"), main.__dict__)
    main.EveryOtherMinute.__module__ = "__main__"
    monkeypatch.setitem(sys.modules, "__main__", main)
    await raw.store.add_task(Task(id="task", func="os.path:join"))
    schedule = Schedule(
        id="nb", task_id="task", trigger=main.EveryOtherMinute(T0), next_fire_time=T0
    )
    await raw.store.add_schedule(schedule, ConflictPolicy.exception)
    (restored,) = await raw.store.get_schedules()
    assert type(restored.trigger) is main.EveryOtherMinute


FRESH_PROCESS_READER = """
import sys

from nbsched.abc import EventBroker
from nbsched.datastores.sqlite import SQLiteDataStore

events = []


class Recorder(EventBroker):
    def start(self): pass
    def stop(self, *, force=False): pass
    def publish(self, event): events.append(event)
    def publish_local(self, event): events.append(event)
    def subscribe(self, *args, **kwargs): raise NotImplementedError


store = SQLiteDataStore(sys.argv[1])
store.start(Recorder())
for schedule in store.get_schedules():
    print(schedule.id, type(schedule.trigger).__name__)
print("events", events)
store.stop()
"""


def test_built_in_triggers_are_read_by_a_fresh_process(tmp_path: Path) -> None:
    """nbsched's own trigger modules are the only ones it imports on demand."""
    from nbsched.notebook._cell_trigger import CellTrigger
    from nbsched.triggers import (
        AndTrigger,
        CalendarIntervalTrigger,
        CronTrigger,
        DateTrigger,
        OrTrigger,
    )

    path = tmp_path / "schedules.db"
    store = SQLiteDataStore(path)
    store.start(RecordingBroker())
    store.add_task(Task(id="task", func="os.path:join"))
    triggers = {
        "and": AndTrigger([IntervalTrigger(hours=1, start_time=T0), CronTrigger(minute=0)]),
        "calendar": CalendarIntervalTrigger(days=1, timezone="UTC"),
        "cell": CellTrigger(IntervalTrigger(minutes=5, start_time=T0), times=3),
        "cron": CronTrigger.from_crontab("0 9 * * mon-fri", timezone="Europe/Berlin"),
        "date": DateTrigger(T0),
        "interval": IntervalTrigger(minutes=1, start_time=T0),
        "or": OrTrigger([DateTrigger(T0), IntervalTrigger(days=1, start_time=T0)]),
    }
    for schedule_id, trigger in triggers.items():
        store.add_schedule(
            Schedule(id=schedule_id, task_id="task", trigger=trigger, next_fire_time=T0),
            ConflictPolicy.exception,
        )
    store.stop()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FRESH_PROCESS_READER), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[:-1] == [
        f"{schedule_id} {type(trigger).__name__}" for schedule_id, trigger in triggers.items()
    ]
    assert lines[-1] == "events []"
