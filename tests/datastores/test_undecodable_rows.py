"""One row that cannot be decoded fails alone, with an event; the other rows keep working.

Hostile rows are written with raw connections into real SQLite files (invalid UTF-8 in TEXT
columns, BLOBs where text belongs, numbers out of range) and real PostgreSQL schemas (infinite
timestamps, huge intervals, bad enum values, JSON of the wrong shape), and bits are flipped in
real SQLite files with fixed seeds. The memory store keeps live objects and decodes nothing.
"""

from __future__ import annotations

import random
import sqlite3
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

from nbsched import AsyncScheduler, ConflictPolicy, FakeClock, Job, Schedule, Task
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.events import (
    Event,
    JobDeserializationFailed,
    JobReleased,
    ScheduleDeserializationFailed,
)
from nbsched.triggers import IntervalTrigger

pytestmark = pytest.mark.anyio

BIG = 2**63 - 1  # fits an SQLite integer, not a datetime


def _schedule(schedule_id: str, minute: int = 1) -> Schedule:
    return Schedule(
        id=schedule_id,
        task_id="task",
        trigger=IntervalTrigger(minutes=minute, start_time=T0),
        args=(schedule_id,),
        metadata={"tag": f"meta-{schedule_id}"},
        next_fire_time=T0,
    )


def _raw(path: Path, sql: str, params: tuple[Any, ...]) -> None:
    assert execute_sqlite(path, sql, params) == 1


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "schedules.db"


@pytest.fixture
def recorder() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def store(db_path: Path, recorder: RecordingBroker) -> Any:
    store = SQLiteDataStore(db_path)
    store.start(recorder)
    store.add_task(Task(id="task", func="os.path:join"))
    yield store
    store.stop()


# --- SQLite: one hostile value in one schedule row ---------------------------------------------

INVALID_UTF8 = b"\xff\xfe broken \xc3"

SCHEDULE_CASES = {
    # column: (SQL expression for the new value, parameter, expected id in the event)
    "id as invalid UTF-8": ("id = CAST(? AS TEXT)", b"bad\xff", "bad\\xff"),
    "task_id as invalid UTF-8": ("task_id = CAST(? AS TEXT)", INVALID_UTF8, "bad"),
    "trigger as invalid UTF-8": ("trigger = CAST(? AS TEXT)", INVALID_UTF8, "bad"),
    "trigger as a BLOB": ("trigger = ?", b'{"type":"x:Y","state":{}}', "bad"),
    "coalesce as invalid UTF-8": ("coalesce = CAST(? AS TEXT)", b"lat\xffest", "bad"),
    "coalesce unknown": ("coalesce = ?", "sometimes", "bad"),
    "metadata as invalid UTF-8": ("metadata = CAST(? AS TEXT)", b'{"a":"\xff"}', "bad"),
    "metadata not a dict": ("metadata = ?", "[1, 2]", "bad"),
    "acquired_by as invalid UTF-8": ("acquired_by = CAST(? AS TEXT)", b"s\xff", "bad"),
    "args as invalid UTF-8": ("args = ?", b'{"__nbsched__":"tuple","v":["\xff"]}', "bad"),
    "args not a sequence": ("args = ?", b"42", "bad"),
    "kwargs not a dict": ("kwargs = ?", b'["x"]', "bad"),
    "next_fire_time out of range": ("next_fire_time = ?", -BIG, "bad"),
    "last_fire_time text": ("last_fire_time = ?", "yesterday", "bad"),
    "misfire_grace_time as a float": ("misfire_grace_time = ?", 1.5e300, "bad"),
    "job_result_expiration_time text": ("job_result_expiration_time = ?", "1h", "bad"),
}


@pytest.mark.parametrize("case", sorted(SCHEDULE_CASES))
def test_one_undecodable_schedule_fails_alone(db_path, store, recorder, case) -> None:
    for schedule_id in ("a", "bad", "z"):
        store.add_schedule(_schedule(schedule_id), ConflictPolicy.exception)
    assignment, value, event_id = SCHEDULE_CASES[case]
    _raw(db_path, f"UPDATE schedules SET {assignment} WHERE id = 'bad'", (value,))

    assert [s.id for s in store.get_schedules()] == ["a", "z"]
    assert [s.id for s in store.get_schedules(["a", "z"])] == ["a", "z"]
    acquired = store.acquire_schedules("s1", LEASE, 10, T0)
    assert [s.id for s in acquired] == ["a", "z"]
    assert [s.args for s in acquired] == [("a",), ("z",)]

    failures = recorder.of_type(ScheduleDeserializationFailed)
    assert [f.schedule_id for f in failures] == [event_id, event_id]
    column = case.split(" ")[0]
    assert f"column {column!r}" in failures[0].exception


def test_an_undecodable_schedule_stays_leased_instead_of_failing_on_every_pass(
    db_path, store, recorder
) -> None:
    for schedule_id in ("a", "bad"):
        store.add_schedule(_schedule(schedule_id), ConflictPolicy.exception)
    _raw(db_path, "UPDATE schedules SET id = CAST(? AS TEXT) WHERE id = 'bad'", (b"b\xffd",))
    assert [s.id for s in store.acquire_schedules("s1", LEASE, 10, T0)] == ["a"]
    assert store.acquire_schedules("s1", LEASE, 10, T0 + timedelta(seconds=1)) == []
    assert len(recorder.of_type(ScheduleDeserializationFailed)) == 1


JOB_CASES = {
    "task_id as invalid UTF-8": ("task_id = CAST(? AS TEXT)", INVALID_UTF8),
    "metadata as invalid UTF-8": ("metadata = CAST(? AS TEXT)", b'{"\xff":1}'),
    "schedule_id as invalid UTF-8": ("schedule_id = CAST(? AS TEXT)", b"s\xff"),
    "args as invalid UTF-8": ("args = ?", b'{"__nbsched__":"tuple","v":["\xff"]}'),
    "kwargs not a dict": ("kwargs = ?", b"[]"),
    "created_at out of range": ("created_at = ?", BIG),
    "jitter text": ("jitter = ?", "soon"),
}


@pytest.mark.parametrize("case", sorted(JOB_CASES))
def test_one_undecodable_job_fails_alone(db_path, store, recorder, case) -> None:
    jobs = [Job(task_id="task", args=(n,), created_at=T0 + timedelta(seconds=n)) for n in range(3)]
    for job in jobs:
        store.add_job(job)
    assignment, value = JOB_CASES[case]
    _raw(db_path, f"UPDATE jobs SET {assignment} WHERE id = ?", (value, str(jobs[1].id)))
    good = [jobs[0].id, jobs[2].id]

    assert [j.id for j in store.get_jobs()] == good
    assert [j.id for j in store.get_jobs([j.id for j in jobs])] == good
    assert [j.id for j in store.acquire_jobs("s1", LEASE, None, T0)] == good
    failures = recorder.of_type(JobDeserializationFailed)
    assert [f.job_id for f in failures] == [jobs[1].id] * 3
    column = case.split(" ")[0]
    assert f"column {column!r}" in failures[0].exception


# --- SQLite: bits flipped in a real file ---------------------------------------------------------


def _flip_bits_in_row(path: Path, needle: bytes, rng: random.Random, kind: str) -> None:
    """Flip one bit of ``needle``'s bytes where they sit in the (checkpointed) file."""
    data = bytearray(path.read_bytes())
    assert data.count(needle) == 1, "the row's bytes must appear exactly once in the file"
    at = data.index(needle) + rng.randrange(len(needle))
    if kind == "high bit":  # an ASCII byte becomes a lone UTF-8 continuation byte
        data[at] |= 0x80
    else:
        data[at] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


FLIP_SEEDS = range(12)


@pytest.mark.parametrize("column", ["trigger", "metadata", "args"])
@pytest.mark.parametrize("kind", ["high bit", "any bit"])
@pytest.mark.parametrize("seed", FLIP_SEEDS)
def test_a_bit_flipped_in_one_row_never_stops_the_others(db_path, column, kind, seed) -> None:
    rng = random.Random(f"{column}-{kind}-{seed}")
    store = SQLiteDataStore(db_path)
    store.start(RecordingBroker())
    store.add_task(Task(id="task", func="os.path:join"))
    ids = [f"s{n:02d}" for n in range(10)]
    for n, schedule_id in enumerate(ids):
        store.add_schedule(_schedule(schedule_id, minute=n + 1), ConflictPolicy.exception)
    before = {s.id: s for s in store.get_schedules()}
    victim = rng.choice(ids)
    conn = sqlite3.connect(db_path)
    (needle,) = conn.execute(f"SELECT {column} FROM schedules WHERE id = ?", (victim,)).fetchone()
    conn.close()
    store.stop()  # the last connection checkpoints: every row is in the main file
    assert not Path(f"{db_path}-wal").exists()
    _flip_bits_in_row(db_path, needle if isinstance(needle, bytes) else needle.encode(), rng, kind)

    recorder = RecordingBroker()
    store = SQLiteDataStore(db_path)
    store.start(recorder)
    try:
        listed = {s.id: s for s in store.get_schedules()}
        acquired = {s.id: s for s in store.acquire_schedules("s1", LEASE, 20, T0)}
    finally:
        store.stop()
    others = [i for i in ids if i != victim]
    for found in (listed, acquired):
        assert [i for i in others if i in found] == others
        for schedule_id in others:
            assert found[schedule_id].trigger.__getstate__() == (
                before[schedule_id].trigger.__getstate__()
            )
            assert found[schedule_id].args == before[schedule_id].args
    failed = {e.schedule_id for e in recorder.of_type(ScheduleDeserializationFailed)}
    # the victim was either read (possibly with silently different data: SQLite keeps no
    # checksums) or reported; never both, never neither
    assert (victim in listed) != (victim in failed)
    if kind == "high bit" and column != "args":
        assert victim in failed  # invalid UTF-8 in a TEXT column is always noticed


calls: list[str] = []


def record_call(name: str) -> None:
    calls.append(name)


async def test_the_scheduler_keeps_running_the_other_schedules(db_path: Path) -> None:
    calls.clear()
    store = SQLiteDataStore(db_path)
    store.start(RecordingBroker())
    store.add_task(Task(id="task", func=f"{__name__}:record_call"))
    for schedule_id in ("a", "bad", "z"):
        store.add_schedule(_schedule(schedule_id), ConflictPolicy.exception)
    store.stop()
    _raw(
        db_path, "UPDATE schedules SET trigger = CAST(? AS TEXT) WHERE id = 'bad'", (INVALID_UTF8,)
    )

    clock = FakeClock(T0 - timedelta(seconds=1))
    events: list[Event] = []
    async with AsyncScheduler(SQLiteDataStore(db_path), clock=clock) as scheduler:
        scheduler.subscribe(events.append)
        scheduler.start_in_background()
        await clock.settle()
        await clock.advance(60 * 3 + 1)
        await clock.settle()
        await scheduler.stop()
    assert sorted(set(calls)) == ["a", "z"]
    assert calls.count("a") == calls.count("z") >= 3
    assert "bad" in {e.schedule_id for e in events if isinstance(e, ScheduleDeserializationFailed)}
    assert all(e.outcome.value == "success" for e in events if isinstance(e, JobReleased))


# --- PostgreSQL: hostile rows ----------------------------------------------------------------


@pytest.fixture
async def pg(request: pytest.FixtureRequest) -> Any:
    dsn = request.getfixturevalue("postgresql_dsn")
    async with started_postgresql_store(dsn, "rows") as (store, events):
        await store.add_task(Task(id="task", func="os.path:join"))
        store.events = events
        store.test_dsn = dsn
        yield store


def _pg_raw(store: Any, sql: str, params: tuple[Any, ...]) -> None:
    assert execute_postgresql(store.test_dsn, store.schema, sql, params) == 1


PG_SCHEDULE_CASES = {
    "next_fire_time infinite": "next_fire_time = '-infinity'",
    "last_fire_time beyond year 9999": "last_fire_time = '20000-01-01 00:00:00+00'",
    "misfire_grace_time beyond timedelta": "misfire_grace_time = '100000000 years'",
    "coalesce unknown": "coalesce = 'sometimes'",
    "metadata not a dict": "metadata = '\"text\"'",
    "trigger not JSON": "trigger = '{not json'",
    "args not a sequence": "args = '42'::bytea",
}


@pytest.mark.parametrize("case", sorted(PG_SCHEDULE_CASES))
async def test_postgresql_one_hostile_schedule_fails_alone(pg: Any, case: str) -> None:
    for schedule_id in ("a", "bad", "z"):
        await pg.add_schedule(_schedule(schedule_id), ConflictPolicy.exception)
    _pg_raw(pg, f"UPDATE schedules SET {PG_SCHEDULE_CASES[case]} WHERE id = %s", ("bad",))

    assert [s.id for s in await pg.get_schedules()] == ["a", "z"]
    acquired = await pg.acquire_schedules("s1", LEASE, 10, T0)
    assert [s.id for s in acquired] == ["a", "z"]
    failures = [e for e in pg.events if isinstance(e, ScheduleDeserializationFailed)]
    assert [f.schedule_id for f in failures] == ["bad", "bad"]
    column = case.split(" ")[0]
    assert f"column {column!r}" in failures[0].exception


PG_JOB_CASES = {
    "created_at infinite": "created_at = 'infinity'",
    "jitter beyond timedelta": "jitter = '100000000 years'",
    "metadata not JSON": "metadata = '{'",
    "kwargs not a dict": "kwargs = '[]'::bytea",
}


@pytest.mark.parametrize("case", sorted(PG_JOB_CASES))
async def test_postgresql_one_hostile_job_fails_alone(pg: Any, case: str) -> None:
    jobs = [Job(task_id="task", args=(n,), created_at=T0 + timedelta(seconds=n)) for n in range(3)]
    for job in jobs:
        await pg.add_job(job)
    _pg_raw(pg, f"UPDATE jobs SET {PG_JOB_CASES[case]} WHERE id = %s", (jobs[1].id,))
    good = [jobs[0].id, jobs[2].id]

    assert [j.id for j in await pg.get_jobs()] == good
    assert [j.id for j in await pg.acquire_jobs("s1", LEASE, None, T0)] == good
    failures = [e for e in pg.events if isinstance(e, JobDeserializationFailed)]
    assert [f.job_id for f in failures] == [jobs[1].id] * 2
    column = case.split(" ")[0]
    assert f"column {column!r}" in failures[0].exception


def test_an_undecodable_job_result_fails_alone(db_path, store) -> None:
    from nbsched import DeserializationError, JobOutcome, JobResult

    jobs = [
        Job(task_id="task", result_expiration_time=timedelta(hours=1), created_at=T0)
        for _ in range(2)
    ]
    for job in jobs:
        store.add_job(job)
    for job in store.acquire_jobs("s1", LEASE, None, T0):
        result = JobResult(
            job_id=job.id,
            outcome=JobOutcome.success,
            finished_at=T0,
            expires_at=T0 + timedelta(hours=1),
            return_value=42,
        )
        store.release_job("s1", job, result)
    _raw(
        db_path,
        "UPDATE job_results SET scheduler_id = CAST(? AS TEXT) WHERE job_id = ?",
        (b"s\xff", str(jobs[0].id)),
    )
    with pytest.raises(DeserializationError, match="column 'scheduler_id'.*not valid UTF-8"):
        store.get_job_result(jobs[0].id)
    assert store.get_job_result(jobs[1].id).return_value == 42


async def test_postgresql_the_scheduler_keeps_running_the_other_schedules(pg: Any) -> None:
    from nbsched.datastores.postgresql import PostgreSQLDataStore

    calls.clear()
    await pg.add_task(Task(id="task", func=f"{__name__}:record_call"))
    for schedule_id in ("a", "bad", "z"):
        await pg.add_schedule(_schedule(schedule_id), ConflictPolicy.exception)
    _pg_raw(pg, "UPDATE schedules SET last_fire_time = 'infinity' WHERE id = %s", ("bad",))

    clock = FakeClock(T0 - timedelta(seconds=1))
    events: list[Event] = []
    store = PostgreSQLDataStore(pg.test_dsn, schema=pg.schema)
    async with AsyncScheduler(store, clock=clock) as scheduler:
        scheduler.subscribe(events.append)
        scheduler.start_in_background()
        await clock.settle()
        await clock.advance(60 * 3 + 1)
        await clock.settle()
        await scheduler.stop()
    assert sorted(set(calls)) == ["a", "z"]
    assert calls.count("a") == calls.count("z") >= 3
    assert "bad" in {e.schedule_id for e in events if isinstance(e, ScheduleDeserializationFailed)}


@pytest.mark.parametrize(
    "damage",
    [
        ("metadata = CAST(? AS TEXT)", b'{"\xff":1}'),  # not UTF-8: fails when fetched
        ("metadata = ?", "[1]"),  # fetched fine, fails to decode
    ],
    ids=["invalid UTF-8", "not a dict"],
)
async def test_an_undecodable_task_stops_only_its_own_schedules(db_path: Path, damage) -> None:
    calls.clear()
    store = SQLiteDataStore(db_path)
    store.start(RecordingBroker())
    store.add_task(Task(id="good", func=f"{__name__}:record_call"))
    store.add_task(Task(id="broken", func=f"{__name__}:record_call"))
    for schedule_id, task_id in (("a", "good"), ("b", "broken"), ("z", "good")):
        store.add_schedule(_schedule(schedule_id).copy(task_id=task_id), ConflictPolicy.exception)
    store.stop()
    _raw(db_path, f"UPDATE tasks SET {damage[0]} WHERE id = 'broken'", (damage[1],))

    clock = FakeClock(T0 - timedelta(seconds=1))
    async with AsyncScheduler(SQLiteDataStore(db_path), clock=clock) as scheduler:
        scheduler.start_in_background()
        await clock.settle()
        await clock.advance(60 * 3 + 1)
        await clock.settle()
        assert scheduler.state.name == "started"
        await scheduler.stop()
    assert sorted(set(calls)) == ["a", "z"]
    assert calls.count("a") >= 3


async def test_postgresql_an_undecodable_task_stops_only_its_own_schedules(pg: Any) -> None:
    from nbsched.datastores.postgresql import PostgreSQLDataStore

    calls.clear()
    await pg.add_task(Task(id="good", func=f"{__name__}:record_call"))
    await pg.add_task(Task(id="broken", func=f"{__name__}:record_call"))
    for schedule_id, task_id in (("a", "good"), ("b", "broken"), ("z", "good")):
        await pg.add_schedule(
            _schedule(schedule_id).copy(task_id=task_id), ConflictPolicy.exception
        )
    _pg_raw(
        pg, "UPDATE tasks SET misfire_grace_time = '100000000 years' WHERE id = %s", ("broken",)
    )

    clock = FakeClock(T0 - timedelta(seconds=1))
    store = PostgreSQLDataStore(pg.test_dsn, schema=pg.schema)
    async with AsyncScheduler(store, clock=clock) as scheduler:
        scheduler.start_in_background()
        await clock.settle()
        await clock.advance(60 * 3 + 1)
        await clock.settle()
        assert scheduler.state.name == "started"
        await scheduler.stop()
    assert sorted(set(calls)) == ["a", "z"]
    assert calls.count("a") >= 3
