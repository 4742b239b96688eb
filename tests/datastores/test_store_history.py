"""The run history in every store: one record per released job, bounded by the retention
policy, kept across a reopened SQLite file and shared on PostgreSQL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from nbsched import HistoryRetention, Job, JobOutcome, JobResult, RunRecord
from nbsched.abc import AsyncDataStore, DataStore
from nbsched.datastores.memory import MemoryDataStore
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.datastores.sync_adapter import AsyncDataStoreAdapter
from nbsched.eventbrokers.local import LocalEventBroker

pytestmark = pytest.mark.anyio


def as_async(store: AsyncDataStore | DataStore) -> AsyncDataStore:
    return AsyncDataStoreAdapter(store) if isinstance(store, DataStore) else store


T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)


def _postgresql(request: pytest.FixtureRequest, schema: str, **options: Any) -> Any:
    from nbsched.datastores.postgresql import PostgreSQLDataStore

    return PostgreSQLDataStore(request.getfixturevalue("postgresql_dsn"), schema=schema, **options)


#: name -> factory(request, **options) returning an unstarted store
FACTORIES: dict[str, Callable[..., Any]] = {
    "memory": lambda request, **options: MemoryDataStore(**options),
    "sqlite": lambda request, **options: SQLiteDataStore(
        request.getfixturevalue("tmp_path") / "schedules.db", **options
    ),
    "postgresql": lambda request, **options: _postgresql(
        request, f"history_{uuid.uuid4().hex[:12]}", **options
    ),
}


@pytest.fixture(params=sorted(FACTORIES))
async def open_store(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[..., Any]]:
    """``await open_store(**options)``: a started store of the parametrised kind."""
    opened: list[AsyncDataStore] = []
    broker = LocalEventBroker()
    await broker.start()

    async def open_(**options: Any) -> AsyncDataStore:
        store = as_async(FACTORIES[request.param](request, **options))
        await store.start(broker)
        opened.append(store)
        return store

    try:
        yield open_
    finally:
        for store in opened:
            await store.stop()
        await broker.stop()


async def release(
    store: AsyncDataStore,
    schedule_id: str | None,
    outcome: JobOutcome = JobOutcome.success,
    *,
    fire: datetime = T0,
    started: datetime | None = T0,
    finished: datetime = T0,
    exception: BaseException | None = None,
    scheduler_id: str = "s1",
) -> Job:
    """Add, acquire and release one job the way a scheduler does."""
    job = Job(task_id="task", schedule_id=schedule_id, scheduled_fire_time=fire, created_at=fire)
    if schedule_id is None:
        job.scheduled_fire_time = None
    await store.add_job(job)
    acquired = [
        j for j in await store.acquire_jobs(scheduler_id, LEASE, None, fire) if j.id == job.id
    ]
    assert acquired, "the job was not acquired"
    result = JobResult(
        job_id=job.id,
        outcome=outcome,
        started_at=started,
        finished_at=finished,
        expires_at=finished,  # results not kept: the history does not depend on them
        exception=exception,
        scheduler_id=scheduler_id,
    )
    await store.release_job(scheduler_id, acquired[0], result)
    return job


async def test_every_outcome_leaves_a_record(open_store: Callable[..., Any]) -> None:
    store = await open_store()
    second = timedelta(seconds=1)
    ok = await release(store, "a", fire=T0, started=T0 + second, finished=T0 + 3 * second)
    failed = await release(
        store,
        "a",
        JobOutcome.error,
        fire=T0 + 10 * second,
        started=T0 + 10 * second,
        finished=T0 + 11 * second,
        exception=ValueError("bad input: 42"),
    )
    missed = await release(
        store, "b", JobOutcome.missed_start_deadline, started=None, finished=T0 + 20 * second
    )
    cancelled = await release(
        store, None, JobOutcome.cancelled, started=T0 + 21 * second, finished=T0 + 22 * second
    )
    # a job whose scheduler died: the cleanup after its lease abandons it
    dead = Job(task_id="task", schedule_id="b", scheduled_fire_time=T0 + 30 * second)
    await store.add_job(dead)
    await store.acquire_jobs("dead-scheduler", LEASE, None, T0 + 30 * second)
    await store.cleanup(T0 + 30 * second + LEASE + second)

    records = await store.get_run_history()
    assert [(r.job_id, r.schedule_id, r.outcome, r.scheduler_id) for r in records] == [
        (ok.id, "a", JobOutcome.success, "s1"),
        (failed.id, "a", JobOutcome.error, "s1"),
        (missed.id, "b", JobOutcome.missed_start_deadline, "s1"),
        (cancelled.id, None, JobOutcome.cancelled, "s1"),
        (dead.id, "b", JobOutcome.abandoned, "dead-scheduler"),
    ]
    first = records[0]
    assert (first.task_id, first.fire_time, first.started_at, first.finished_at) == (
        "task",
        T0,
        T0 + second,
        T0 + 3 * second,
    )
    assert first.error is None
    assert (records[1].error_type, records[1].error_message) == ("ValueError", "bad input: 42")
    assert records[1].error == "ValueError: bad input: 42"
    assert records[2].started_at is None
    assert records[3].fire_time is None
    assert records[4].finished_at == T0 + 30 * second + LEASE + second
    assert all(r.finished_at.utcoffset() == timedelta(0) for r in records)


def _damage_job_kwargs(request: pytest.FixtureRequest, store: Any, job_id: uuid.UUID) -> None:
    """Write a job's kwargs as a JSON list through a raw connection: it can no longer be read."""
    if request.node.callspec.params["open_store"] == "sqlite":
        path = request.getfixturevalue("tmp_path") / "schedules.db"
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE jobs SET kwargs = ? WHERE id = ?", (b"[]", str(job_id)))
        return
    import psycopg

    with psycopg.connect(request.getfixturevalue("postgresql_dsn"), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{store.schema}"')
        conn.execute("UPDATE jobs SET kwargs = '[]'::bytea WHERE id = %s", (job_id,))


# the memory store keeps live objects: none of its jobs can fail to be read
@pytest.mark.parametrize("open_store", ["postgresql", "sqlite"], indirect=True)
async def test_a_job_that_cannot_be_read_leaves_a_record(
    request: pytest.FixtureRequest, open_store: Callable[..., Any]
) -> None:
    store = await open_store(history_retention=2)
    for minute in range(2):
        at = T0 + timedelta(minutes=minute)
        await release(store, "a", fire=at, started=at, finished=at)
    fire = T0 + timedelta(minutes=2)
    job = Job(task_id="task", schedule_id="a", scheduled_fire_time=fire, created_at=fire)
    await store.add_job(job)
    _damage_job_kwargs(request, store, job.id)

    now = fire + timedelta(seconds=5)
    assert await store.acquire_jobs("s1", LEASE, None, now) == []
    assert await store.get_jobs() == []  # finished: it never runs
    records = await store.get_run_history("a")
    # recorded like any release, and pruned by the same retention (the oldest run is gone)
    assert [(r.outcome, r.finished_at) for r in records] == [
        (JobOutcome.success, T0 + timedelta(minutes=1)),
        (JobOutcome.deserialization_failed, now),
    ]
    failed = records[-1]
    assert (failed.job_id, failed.task_id, failed.fire_time, failed.started_at) == (
        job.id,
        "task",
        fire,
        None,
    )
    assert failed.scheduler_id == "s1"
    assert failed.error_type == "DeserializationError"
    assert "kwargs" in (failed.error_message or "")


async def test_history_is_filtered_by_schedule_and_time(open_store: Callable[..., Any]) -> None:
    store = await open_store()
    for n in range(4):
        at = T0 + timedelta(minutes=n)
        await release(store, "a" if n % 2 else "b", fire=at, started=at, finished=at)
    assert [r.finished_at for r in await store.get_run_history("a")] == [
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=3),
    ]
    since = await store.get_run_history(since=T0 + timedelta(minutes=2))
    assert [(r.schedule_id, r.finished_at.minute) for r in since] == [("b", 2), ("a", 3)]
    assert await store.get_run_history("nobody") == []


async def test_a_release_that_does_not_count_leaves_no_record(
    open_store: Callable[..., Any],
) -> None:
    store = await open_store()
    job = Job(task_id="task", schedule_id="a", scheduled_fire_time=T0)
    await store.add_job(job)
    [acquired] = await store.acquire_jobs("s1", LEASE, None, T0)
    result = JobResult(job_id=job.id, outcome=JobOutcome.success, finished_at=T0, expires_at=T0)
    await store.release_job("s2", acquired, result)  # not the lease holder
    assert await store.get_run_history() == []
    result_by_holder = JobResult(
        job_id=job.id, outcome=JobOutcome.success, finished_at=T0, expires_at=T0
    )
    await store.release_job("s1", acquired, result_by_holder)
    await store.release_job("s1", acquired, result_by_holder)  # released twice: one record
    assert len(await store.get_run_history()) == 1


async def test_retention_keeps_the_last_runs_of_each_schedule(
    open_store: Callable[..., Any],
) -> None:
    store = await open_store(history_retention=3)
    for n in range(7):
        at = T0 + timedelta(minutes=n)
        await release(store, "busy", fire=at, started=at, finished=at)
    for n in range(2):
        at = T0 + timedelta(minutes=n)
        await release(store, "quiet", fire=at, started=at, finished=at)
    for n in range(5):
        at = T0 + timedelta(minutes=n)
        await release(store, None, fire=at, started=at, finished=at)  # run_job/add_job jobs
    busy = await store.get_run_history("busy")
    assert [r.finished_at.minute for r in busy] == [4, 5, 6]
    assert len(await store.get_run_history("quiet")) == 2
    unscheduled = [r for r in await store.get_run_history() if r.schedule_id is None]
    assert [r.finished_at.minute for r in unscheduled] == [2, 3, 4]


async def test_retention_forgets_runs_older_than_the_maximum_age(
    open_store: Callable[..., Any],
) -> None:
    store = await open_store(
        history_retention=HistoryRetention(max_runs=None, max_age=timedelta(hours=1))
    )
    for minutes, schedule_id in [(0, "a"), (30, "b"), (50, "a"), (100, "a")]:
        at = T0 + timedelta(minutes=minutes)
        await release(store, schedule_id, fire=at, started=at, finished=at)
    # the release at 100 min dropped what of its schedule finished before 40 min
    assert [r.finished_at for r in await store.get_run_history("a")] == [
        T0 + timedelta(minutes=50),
        T0 + timedelta(minutes=100),
    ]
    # the periodic cleanup prunes every schedule, those that no longer run too
    await store.cleanup(T0 + timedelta(minutes=100))
    assert [(r.schedule_id, r.finished_at - T0) for r in await store.get_run_history()] == [
        ("a", timedelta(minutes=50)),
        ("a", timedelta(minutes=100)),
    ]
    await store.cleanup(T0 + timedelta(minutes=155))
    assert [r.finished_at for r in await store.get_run_history()] == [T0 + timedelta(minutes=100)]


async def test_retention_zero_keeps_no_history(open_store: Callable[..., Any]) -> None:
    store = await open_store(history_retention=0)
    await release(store, "a")
    assert await store.get_run_history() == []
    assert await store.get_run_history("a") == []


async def test_default_retention_is_a_hundred_runs_and_thirty_days(
    open_store: Callable[..., Any],
) -> None:
    store = await open_store()
    for n in range(102):
        at = T0 + timedelta(minutes=n)
        await release(store, "a", fire=at, started=at, finished=at)
    assert len(await store.get_run_history("a")) == 100
    await store.cleanup(T0 + timedelta(days=30, minutes=50))
    # 30 days after the 50th minute: the runs of minutes 50 to 101 are kept (one that finished
    # exactly 30 days ago is not older than that)
    kept = await store.get_run_history("a")
    assert [r.finished_at - T0 for r in kept] == [timedelta(minutes=n) for n in range(50, 102)]


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (-1, ValueError, "history_retention: -1 is negative"),
        ("100", TypeError, "history_retention: expected"),
        (True, TypeError, "history_retention: expected"),
        (timedelta(0), ValueError, "history_retention: .* positive"),
    ],
)
@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_bad_retention_is_refused(
    request: pytest.FixtureRequest, kind: str, value: Any, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        FACTORIES[kind](request, history_retention=value)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"max_runs": 0}, ValueError, "max_runs: 0 must be at least 1"),
        ({"max_runs": 2.5}, TypeError, "max_runs: expected an int"),
        ({"max_age": 60}, TypeError, "max_age: expected a timedelta"),
        ({"max_age": -timedelta(seconds=1)}, ValueError, "max_age: .* must be positive"),
        ({"max_runs": None, "max_age": None}, ValueError, "grow without bound"),
    ],
)
def test_bad_retention_policy_is_refused(options: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        HistoryRetention(**options)


async def test_sqlite_history_survives_reopening_the_file(tmp_path: Any) -> None:
    path = tmp_path / "schedules.db"
    broker = LocalEventBroker()
    first = as_async(SQLiteDataStore(path))
    await first.start(broker)
    job = await release(first, "a", JobOutcome.error, exception=KeyError("k"))
    await first.stop()

    second = as_async(SQLiteDataStore(path))
    await second.start(broker)
    try:
        [record] = await second.get_run_history()
    finally:
        await second.stop()
    assert (record.job_id, record.outcome, record.error) == (
        job.id,
        JobOutcome.error,
        "KeyError: 'k'",
    )


async def test_sqlite_file_from_before_the_history_gets_its_table(tmp_path: Any) -> None:
    path = tmp_path / "schedules.db"
    broker = LocalEventBroker()
    store = as_async(SQLiteDataStore(path))
    await store.start(broker)
    await store.stop()
    with sqlite3.connect(path) as conn:  # what a file written before the history looks like
        conn.execute("DROP TABLE job_history")
    reopened = as_async(SQLiteDataStore(path))
    await reopened.start(broker)
    try:
        job = await release(reopened, "a")
        assert [r.job_id for r in await reopened.get_run_history()] == [job.id]
    finally:
        await reopened.stop()


async def test_postgresql_stores_on_one_schema_share_the_history(
    request: pytest.FixtureRequest,
) -> None:
    schema = f"shared_{uuid.uuid4().hex[:12]}"
    broker = LocalEventBroker()
    one, two = _postgresql(request, schema), _postgresql(request, schema)
    await one.start(broker)
    await two.start(broker)
    try:
        await release(one, "a", scheduler_id="one")
        await release(two, "a", fire=T0 + timedelta(minutes=1), scheduler_id="two")
        for store in (one, two):
            assert [r.scheduler_id for r in await store.get_run_history("a")] == ["one", "two"]
    finally:
        await one.stop()
        await two.stop()


async def test_a_custom_store_without_history_returns_none() -> None:
    class Minimal(MemoryDataStore):
        pass

    # the interface's default: a third-party store that knows nothing of the history
    assert await AsyncDataStore.get_run_history(Minimal()) == []
    assert DataStore.get_run_history(SQLiteDataStore.__new__(SQLiteDataStore)) == []


def test_run_record_error_text() -> None:
    record = RunRecord(
        job_id=uuid.uuid4(),
        schedule_id="a",
        task_id="t",
        fire_time=None,
        started_at=None,
        finished_at=T0,
        outcome=JobOutcome.error,
        error_type="RuntimeError",
        error_message="",
    )
    assert record.error == "RuntimeError"
