"""What only the SQLite store has: its file (checks, permissions, WAL, schema version), stored
rows that fail to read back, the busy error, leases shared by several connections."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from store_helpers import LEASE, T0, RecordingBroker

from nbsched import (
    ConflictPolicy,
    DataStoreError,
    Job,
    JobOutcome,
    JobResult,
    Schedule,
    SerializationError,
    Task,
)
from nbsched._retry import temporary_errors_of
from nbsched.datastores._sqlite_schema import APPLICATION_ID, SCHEMA_VERSION
from nbsched.datastores.sqlite import SQLiteBusyError, SQLiteDataStore
from nbsched.datastores.sync_adapter import AsyncDataStoreAdapter
from nbsched.events import JobDeserializationFailed, ScheduleDeserializationFailed
from nbsched.serializers import PickleSerializer
from nbsched.triggers.interval import IntervalTrigger


class Unpicklable:
    def __reduce__(self):
        raise TypeError("no pickling")


class Point:  # picklable, but not JSON
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return isinstance(other, Point) and other.x == self.x


def schedule(schedule_id: str, *, start: datetime = T0, **changes) -> Schedule:
    trigger = IntervalTrigger(minutes=1, start_time=start)
    return Schedule(
        id=schedule_id, task_id="task", trigger=trigger, next_fire_time=trigger.next(), **changes
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "schedules.db"


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def store(db_path, broker):
    store = SQLiteDataStore(db_path)
    store.start(broker)
    yield store
    store.stop()


def make_store_file(path: Path, schedules: int = 20) -> None:
    store = SQLiteDataStore(path)
    store.start(RecordingBroker())
    for i in range(schedules):
        store.add_schedule(
            schedule(f"s{i:03}", metadata={"pad": "x" * 500}), ConflictPolicy.exception
        )
    store.stop()
    assert not Path(f"{path}-wal").exists()  # checkpointed on close: all data in the main file


def assert_refused(path: Path, match: str) -> None:
    before = path.read_bytes()
    mode = path.stat().st_mode
    store = SQLiteDataStore(path)
    with pytest.raises(DataStoreError, match=match) as exc_info:
        store.start(RecordingBroker())
    assert str(path) in str(exc_info.value)
    assert path.read_bytes() == before
    assert path.stat().st_mode == mode


# --- the file ----------------------------------------------------------------------------------


def test_new_file_is_private_wal_and_versioned(db_path, store):
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        version = conn.execute(
            "SELECT value FROM nbsched_meta WHERE key = 'schema_version'"
        ).fetchone()[0]
        assert int(version) == SCHEMA_VERSION
    finally:
        conn.close()


def test_new_file_private_even_with_permissive_umask(db_path):
    old = os.umask(0)
    try:
        store = SQLiteDataStore(db_path)
        store.start(RecordingBroker())
        store.add_schedule(schedule("s"), ConflictPolicy.exception)
        assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(Path(f"{db_path}-wal").stat().st_mode) == 0o600
        store.stop()
    finally:
        os.umask(old)


@pytest.mark.parametrize("level, value", [("FULL", 2), ("normal", 1)])
def test_synchronous_level(db_path, level, value):
    store = SQLiteDataStore(db_path, synchronous=level)
    store.start(RecordingBroker())
    try:
        assert store._conn is not None
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == value
    finally:
        store.stop()


def test_data_survives_reopening(db_path, store):
    store.add_task(Task(id="task", func="os.path:join", metadata={"cell": "print(1)"}))
    store.add_schedule(schedule("s", args=(1,)), ConflictPolicy.exception)
    store.add_job(Job(task_id="task", kwargs={"when": T0}))
    store.stop()
    reopened = SQLiteDataStore(db_path)
    reopened.start(RecordingBroker())
    try:
        assert reopened.get_task("task").metadata == {"cell": "print(1)"}
        assert [(s.id, s.args) for s in reopened.get_schedules()] == [("s", (1,))]
        assert [j.kwargs for j in reopened.get_jobs()] == [{"when": T0}]
    finally:
        reopened.stop()


def test_missing_directory(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "schedules.db"
    with pytest.raises(DataStoreError, match="directory .* does not exist"):
        SQLiteDataStore(path).start(RecordingBroker())
    assert not (tmp_path / "no").exists()


def test_not_an_sqlite_file(db_path):
    db_path.write_text("name,when\nreport,18:00\n" * 20)
    assert_refused(db_path, "not an SQLite database")


def test_other_programs_database(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.commit()
    conn.close()
    assert_refused(db_path, "some other program, not an nbsched data store")


def test_a_store_another_process_is_creating_is_taken_up(db_path):
    # two kernels opening one new file at once: the first one's switch to WAL writes the
    # file's header before its schema commits; the second one sees an SQLite file without
    # tables, which is a store about to be, not "some other program's database"
    creating = sqlite3.connect(db_path, isolation_level=None)
    try:
        assert creating.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        store = SQLiteDataStore(db_path)
        store.start(RecordingBroker())
        try:
            store.add_task(Task(id="task", func="builtins:print"))
            assert [task.id for task in store.get_tasks()] == ["task"]
        finally:
            store.stop()
    finally:
        creating.close()


def test_newer_schema_version_refused(db_path):
    make_store_file(db_path)
    conn = sqlite3.connect(db_path)
    conn.execute(
        "UPDATE nbsched_meta SET value = ? WHERE key = 'schema_version'",
        (str(SCHEMA_VERSION + 1),),
    )
    conn.commit()
    conn.close()
    assert_refused(db_path, f"newer nbsched \\(schema version {SCHEMA_VERSION + 1}")


def test_truncated_file(db_path):
    make_store_file(db_path)
    data = db_path.read_bytes()
    assert len(data) > 8192
    db_path.write_bytes(data[: len(data) // 2])
    assert_refused(db_path, "corrupt or truncated")


def test_truncated_header(db_path):
    make_store_file(db_path)
    db_path.write_bytes(db_path.read_bytes()[:40])
    assert_refused(db_path, "truncated or corrupt")


def test_corrupt_file(db_path):
    make_store_file(db_path)
    data = bytearray(db_path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(1, len(data) // page_size):  # garble every page but the first
        start = page * page_size
        data[start : start + 64] = b"\xa5" * 64
    db_path.write_bytes(bytes(data))
    assert_refused(db_path, "corrupt")


def test_read_only_file(db_path):
    make_store_file(db_path)
    db_path.chmod(0o444)
    assert_refused(db_path, "read-only \\(permissions 0444\\)")


def test_path_is_a_directory(tmp_path):
    with pytest.raises(DataStoreError, match="not a regular file"):
        SQLiteDataStore(tmp_path).start(RecordingBroker())


def test_empty_file_becomes_a_store(db_path):
    db_path.touch()
    store = SQLiteDataStore(db_path)
    store.start(RecordingBroker())
    store.add_schedule(schedule("s"), ConflictPolicy.exception)
    store.stop()
    assert db_path.read_bytes().startswith(b"SQLite format 3\x00")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"path": 3}, TypeError, "path: expected a file path"),
        ({"path": ":memory:"}, ValueError, "use MemoryDataStore"),
        ({"path": "x.db", "synchronous": "OFF"}, ValueError, "synchronous: 'OFF'"),
        ({"path": "x.db", "busy_timeout": -1}, ValueError, "busy_timeout: -1"),
        ({"path": "x.db", "poll_interval": 0}, ValueError, "poll_interval: 0"),
        ({"path": "x.db", "poll_interval": "1"}, TypeError, "poll_interval"),
        ({"path": "x.db", "serializer": "json"}, TypeError, "serializer"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SQLiteDataStore(**kwargs)


def test_not_started(db_path):
    with pytest.raises(DataStoreError, match="not started"):
        SQLiteDataStore(db_path).get_schedules()


# --- what is stored ----------------------------------------------------------------------------


def test_stored_rows_hold_no_code(db_path, store):
    store.add_task(Task(id="task", func=os.path.join))
    store.add_schedule(schedule("s", args=(T0,)), ConflictPolicy.exception)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT func FROM tasks").fetchone()[0] == "posixpath:join"
        trigger, args = conn.execute("SELECT trigger, args FROM schedules").fetchone()
    finally:
        conn.close()
    assert trigger.startswith('{"type":"nbsched.triggers.interval:IntervalTrigger","state":{')
    assert b"__nbsched__" in args and b"pickle" not in args
    assert store.get_task("task").func == "posixpath:join"  # a reference; nothing imported


def test_unstorable_values_store_nothing(store, broker):
    with pytest.raises(SerializationError, match="func: .* no import path"):
        store.add_task(Task(id="task", func=lambda: None))
    with pytest.raises(SerializationError, match="metadata: schedule 's'"):
        store.add_schedule(schedule("s", metadata={"x": object()}), ConflictPolicy.exception)
    with pytest.raises(SerializationError, match="args of schedule 's'"):
        store.add_schedule(schedule("s", args=(Point(1),)), ConflictPolicy.exception)
    assert store.get_tasks() == []
    assert store.get_schedules() == []
    assert broker.events == []


class Greeter:  # a method of one of these names its class's function, not the instance
    def hello(self) -> str:
        return "hello"

    @classmethod
    def make(cls) -> Greeter:
        return cls()


def test_a_method_bound_to_an_object_is_refused_and_one_bound_to_a_class_kept(store, broker):
    """A method bound to an instance has no import path that leads back to it: its reference
    would name the class's function, which another process would call without the instance.
    A classmethod's reference leads back to it, bound to its class."""
    with pytest.raises(SerializationError, match="func: .*Greeter.hello.* bound to an object"):
        store.add_task(Task(id="bound", func=Greeter().hello))
    assert store.get_tasks() == []
    store.add_task(Task(id="classmethod", func=Greeter.make))
    assert store.get_task("classmethod").func == f"{__name__}:Greeter.make"


def test_pickle_serializer_is_opt_in(db_path):
    store = SQLiteDataStore(db_path, serializer=PickleSerializer())
    store.start(RecordingBroker())
    try:
        store.add_schedule(schedule("s", args=(Point(1),)), ConflictPolicy.exception)
        assert store.get_schedules()[0].args == (Point(1),)
        with pytest.raises(SerializationError, match="cannot pickle"):
            store.add_job(Job(task_id="task", args=(Unpicklable(),)))
        assert store.get_jobs() == []
    finally:
        store.stop()


def test_unstorable_return_value_recorded_as_error(store):
    job = Job(task_id="task")
    store.add_job(job)
    [acquired] = store.acquire_jobs("s1", LEASE, None, T0)
    result = JobResult(
        job_id=job.id,
        outcome=JobOutcome.success,
        finished_at=T0,
        expires_at=T0 + timedelta(hours=1),
        return_value=Point(3),
    )
    store.release_job("s1", acquired, result)
    stored = store.get_job_result(job.id)
    assert stored.outcome is JobOutcome.error
    assert isinstance(stored.exception, SerializationError)
    assert "return value" in str(stored.exception)


def _corrupt_trigger(db_path: Path, schedule_id: str) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(
        "UPDATE schedules SET trigger = ? WHERE id = ?",
        ('{"type": "nbsched_gone_module:OldTrigger", "state": {}}', schedule_id),
    )
    conn.commit()
    conn.close()


def test_undecodable_schedule_reported_others_keep_running(db_path, store, broker):
    for schedule_id in ("bad", "good1", "good2"):
        store.add_schedule(schedule(schedule_id), ConflictPolicy.exception)
    _corrupt_trigger(db_path, "bad")
    broker.events.clear()
    assert [s.id for s in store.get_schedules()] == ["good1", "good2"]
    acquired = store.acquire_schedules("s1", LEASE, 10, T0)
    assert [s.id for s in acquired] == ["good1", "good2"]
    failures = [e for e in broker.events if isinstance(e, ScheduleDeserializationFailed)]
    assert [e.schedule_id for e in failures] == ["bad", "bad"]
    assert "nbsched_gone_module" in failures[0].exception
    # the bad row stays leased: it is not retried (and reported) on every pass
    assert store.acquire_schedules("s1", LEASE, 10, T0 + timedelta(seconds=1)) == []
    assert store.get_next_schedule_run_time() == T0 + LEASE + timedelta(microseconds=1)


def test_undecodable_job_finished_as_deserialization_failed(db_path, store, broker):
    store.add_task(Task(id="task", func="os.path:join"))
    bad = Job(task_id="task", result_expiration_time=timedelta(hours=1), created_at=T0)
    good = Job(task_id="task", created_at=T0 + timedelta(seconds=1))
    store.add_job(bad)
    store.add_job(good)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE jobs SET args = ? WHERE id = ?", (b"{not json", str(bad.id)))
    conn.commit()
    conn.close()
    assert [j.id for j in store.acquire_jobs("s1", LEASE, None, T0)] == [good.id]
    assert [e.job_id for e in broker.events if isinstance(e, JobDeserializationFailed)] == [bad.id]
    assert [j.id for j in store.get_jobs()] == [good.id]
    assert store.get_job_result(bad.id).outcome is JobOutcome.deserialization_failed
    assert store.get_task("task").running_jobs == 1


# --- several connections (as several processes would have) -----------------------------------


def test_two_stores_on_one_file_share_leases(db_path, store):
    other = SQLiteDataStore(db_path)
    other.start(RecordingBroker())
    try:
        for i in range(10):
            store.add_schedule(schedule(f"s{i}"), ConflictPolicy.exception)
        first = store.acquire_schedules("a", LEASE, 6, T0)
        second = other.acquire_schedules("b", LEASE, 100, T0)
        assert len(first) == 6 and len(second) == 4
        assert not {s.id for s in first} & {s.id for s in second}
    finally:
        other.stop()


def test_expired_job_lease_taken_over(db_path, store):
    store.add_task(Task(id="task", func="os.path:join", max_running_jobs=1))
    job = Job(task_id="task", created_at=T0)
    store.add_job(job)
    store.acquire_jobs("dead", LEASE, None, T0)
    assert store.acquire_jobs("alive", LEASE, None, T0 + LEASE) == []  # holds through it
    [taken] = store.acquire_jobs("alive", LEASE, None, T0 + LEASE + timedelta(microseconds=1))
    assert (taken.id, taken.acquired_by) == (job.id, "alive")
    assert store.get_task("task").running_jobs == 1  # counted once, not twice
    result = JobResult(job_id=job.id, outcome=JobOutcome.success, finished_at=T0, expires_at=T0)
    store.release_job("dead", taken, result)  # the old holder is ignored
    assert store.get_task("task").running_jobs == 1
    store.release_job("alive", taken, result)
    assert store.get_task("task").running_jobs == 0
    assert store.get_jobs() == []


def test_locked_file_is_a_temporary_error(db_path):
    store = SQLiteDataStore(db_path, busy_timeout=0.05)
    store.start(RecordingBroker())
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(SQLiteBusyError, match="locked by another connection"):
            store.add_schedule(schedule("s"), ConflictPolicy.exception)
        assert store.get_schedules() == []  # reads go on while another process writes
        blocker.execute("ROLLBACK")
        store.add_schedule(schedule("s"), ConflictPolicy.exception)
        assert [s.id for s in store.get_schedules()] == ["s"]
    finally:
        blocker.close()
        store.stop()
    adapter = AsyncDataStoreAdapter(store)
    assert SQLiteBusyError in temporary_errors_of(adapter)
    assert not issubclass(DataStoreError, temporary_errors_of(adapter))
    assert adapter.original is store
    assert adapter.poll_interval == store.poll_interval == 1.0


# --- under a scheduler -------------------------------------------------------------------------

RUNS: list[str] = []


async def record_run(label: str) -> None:
    RUNS.append(label)


@pytest.mark.anyio
async def test_schedules_survive_a_restart_and_catch_up(db_path):
    from nbsched import AsyncScheduler, FakeClock

    RUNS.clear()
    clock = FakeClock(T0)
    async with AsyncScheduler(
        SQLiteDataStore(db_path, poll_interval=30), clock=clock
    ) as scheduler:
        start = T0 + timedelta(minutes=1)
        await scheduler.add_schedule(
            record_run, IntervalTrigger(minutes=1, start_time=start), id="minutely", args=("m",)
        )
        await scheduler.add_schedule(
            record_run,
            IntervalTrigger(minutes=1, start_time=start),
            id="paused",
            args=("p",),
            paused=True,
        )
        scheduler.start_in_background()
        await clock.advance(timedelta(minutes=3))
    assert RUNS == ["m", "m", "m"]

    # a new kernel: a new scheduler and store on the same file, ten minutes later
    clock = FakeClock(T0 + timedelta(minutes=13, seconds=30))
    async with AsyncScheduler(
        SQLiteDataStore(db_path, poll_interval=30), clock=clock
    ) as scheduler:
        schedules = {s.id: s for s in await scheduler.get_schedules()}
        assert set(schedules) == {"minutely", "paused"}
        assert schedules["paused"].paused
        assert schedules["minutely"].next_fire_time == T0 + timedelta(minutes=4)
        scheduler.start_in_background()
        await clock.advance(0)  # the missed fires coalesce into one run (policy: latest)
        assert RUNS == ["m"] * 4
        await clock.advance(timedelta(seconds=30))
        assert RUNS == ["m"] * 5
        [stored] = [s for s in await scheduler.get_schedules() if s.id == "minutely"]
        assert stored.last_fire_time == T0 + timedelta(minutes=14)


@pytest.mark.anyio
async def test_busy_file_retried_by_the_scheduler_policy(db_path):
    from nbsched._retry import RetryPolicy
    from nbsched.eventbrokers.local import LocalEventBroker

    adapter = AsyncDataStoreAdapter(SQLiteDataStore(db_path, busy_timeout=0.01))
    await adapter.start(LocalEventBroker())
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the other process finishes while we wait
        waits.append(seconds)
        if len(waits) == 2 and blocker.in_transaction:
            blocker.execute("COMMIT")

    policy = RetryPolicy(temporary_errors_of(adapter), sleep=sleep)
    try:
        await policy.call(
            "add_schedule", adapter.add_schedule, schedule("s"), ConflictPolicy.exception
        )
        assert len(waits) == 2
        assert [s.id for s in await adapter.get_schedules()] == ["s"]
        # a permanent error is not retried
        waits.clear()
        with pytest.raises(TypeError):
            await policy.call(
                "add_schedule", adapter.add_schedule, "bad", ConflictPolicy.exception
            )
        assert waits == []
    finally:
        blocker.close()
        await adapter.stop()


@pytest.mark.anyio
async def test_changes_by_another_process_noticed_within_poll_interval(db_path):
    from nbsched import AsyncScheduler, FakeClock

    RUNS.clear()
    clock = FakeClock(T0)
    store = SQLiteDataStore(db_path, poll_interval=5)
    async with AsyncScheduler(store, clock=clock) as scheduler:
        await scheduler.configure_task("record", func=record_run)
        scheduler.start_in_background()
        await clock.advance(0)
        # another process (its own connection, no event reaches this scheduler) adds a
        # schedule due at once
        other = SQLiteDataStore(db_path)
        other.start(RecordingBroker())
        trigger = IntervalTrigger(hours=1, start_time=T0)
        other.add_schedule(
            Schedule(
                id="foreign",
                task_id="record",
                trigger=trigger,
                args=("foreign",),
                next_fire_time=trigger.next(),
            ),
            ConflictPolicy.exception,
        )
        other.stop()
        await clock.advance(timedelta(seconds=4))
        assert RUNS == []  # still asleep: nothing told it
        await clock.advance(timedelta(seconds=1))
        assert RUNS == ["foreign"]  # looked again after poll_interval and found it


def test_one_job_per_fire(store, broker):
    first = Job(task_id="task", schedule_id="s", scheduled_fire_time=T0)
    again = Job(task_id="task", schedule_id="s", scheduled_fire_time=T0)
    store.add_job(first)
    store.add_job(again)  # the same fire, from a second pass over the schedule: dropped
    store.add_job(Job(task_id="task", schedule_id="s", scheduled_fire_time=T0 + LEASE))
    store.add_job(Job(task_id="task"))  # jobs without a schedule are never merged
    store.add_job(Job(task_id="task"))
    assert [j.id for j in store.get_jobs()][0] == first.id
    assert len(store.get_jobs()) == 4
    assert again.id not in [e.job_id for e in broker.events]
    with pytest.raises(ValueError, match=f"job: a job with id {first.id} is already stored"):
        store.add_job(first.copy(scheduled_fire_time=None))


# --- the due-schedule index ----------------------------------------------------------------------


def _schedule_indexes(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'schedules' "
        "AND sql IS NOT NULL"
    )
    return dict(rows.fetchall())


def test_due_schedules_sharing_a_fire_time_are_read_in_index_order(store):
    for i in range(200):
        store.add_schedule(schedule(f"s{i:03}"), ConflictPolicy.exception)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    try:
        acquired = store.acquire_schedules("s1", LEASE, 10, T0)
    finally:
        store._conn.set_trace_callback(None)
    assert [s.id for s in acquired] == [f"s{i:03}" for i in range(10)]
    [select] = [s for s in statements if s.startswith("SELECT") and "FROM schedules" in s]
    plan = [row[3] for row in store._conn.execute(f"EXPLAIN QUERY PLAN {select}")]
    # no sort of every due schedule on each batch: the index gives the order
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert any("schedules_due_order" in step for step in plan), plan


def test_a_file_with_the_older_index_gets_the_ordered_one(db_path):
    make_store_file(db_path)
    conn = sqlite3.connect(db_path)
    conn.execute("DROP INDEX schedules_due_order")
    conn.execute("CREATE INDEX schedules_due ON schedules (paused, next_fire_time)")
    conn.commit()
    conn.close()
    store = SQLiteDataStore(db_path)
    store.start(RecordingBroker())
    try:
        assert store._conn is not None
        indexes = _schedule_indexes(store._conn)
        assert "schedules_due" not in indexes
        assert "(paused, next_fire_time, id)" in indexes["schedules_due_order"]
        assert len(store.get_schedules()) == 20
    finally:
        store.stop()
