"""What only the PostgreSQL store has: connection failures told apart, schema versions, and
several stores (several schedulers, several machines) sharing one database."""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from nbsched import AsyncScheduler, DataStoreError
from nbsched._enums import ConflictPolicy, JobOutcome
from nbsched._structures import Job, JobResult, Schedule, ScheduleResult, Task
from nbsched.datastores._postgresql_connect import PostgreSQLConnectionLost
from nbsched.datastores._postgresql_schema import SCHEMA_VERSION
from nbsched.datastores.postgresql import PostgreSQLDataStore
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.triggers import IntervalTrigger

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def with_params(dsn: str, **changes: Any) -> str:
    params = conninfo_to_dict(dsn)
    params.update(changes)
    return make_conninfo("", **params)


@pytest.fixture
def schema() -> str:
    return f"pgtest_{uuid.uuid4().hex[:16]}"


@pytest.fixture
async def broker() -> AsyncIterator[LocalEventBroker]:
    broker = LocalEventBroker()
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture
async def store(
    postgresql_dsn: str, schema: str, broker: LocalEventBroker
) -> AsyncIterator[PostgreSQLDataStore]:
    store = PostgreSQLDataStore(postgresql_dsn, schema=schema)
    await store.start(broker)
    yield store
    await store.stop()


async def terminate_backends(dsn: str, schema_user: str = "postgres") -> int:
    """Kill every other connection to the test database, as a server restart would."""
    dbname = conninfo_to_dict(dsn)["dbname"]
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


# --- permanent failures: at once, with a clear message ---------------------------------------


class FakeServer:
    """Speaks just enough of PostgreSQL's protocol to ask for a password and refuse it, the way
    a server with password authentication does (the test server trusts every local user)."""

    def __init__(self) -> None:
        self.connections = 0
        self.passwords: list[bytes] = []
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                length, code = struct.unpack("!ii", await reader.readexactly(8))
                if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: not offered
                    writer.write(b"N")
                    continue
                await reader.readexactly(length - 8)  # the rest of the StartupMessage
                break
            writer.write(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            await writer.drain()
            kind, length = struct.unpack("!ci", await reader.readexactly(5))
            assert kind == b"p"
            self.passwords.append((await reader.readexactly(length - 4)).rstrip(b"\0"))
            fields = [
                b"SFATAL",
                b"VFATAL",
                b"C28P01",
                b'Mpassword authentication failed for user "alice"',
            ]
            body = b"".join(field + b"\0" for field in fields) + b"\0"
            writer.write(b"E" + struct.pack("!i", len(body) + 4) + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_wrong_password_fails_at_once_with_a_clear_message(
    broker: LocalEventBroker,
) -> None:
    server = FakeServer()
    await server.start()
    try:
        store = PostgreSQLDataStore(f"postgresql://alice:wrong@127.0.0.1:{server.port}/jobs")
        with pytest.raises(DataStoreError) as info:
            await store.start(broker)
    finally:
        await server.stop()
    assert str(info.value) == (
        f"could not connect to PostgreSQL at 127.0.0.1:{server.port}/jobs as user 'alice': "
        f"password authentication failed for user 'alice'"
    )
    assert server.passwords == [b"wrong"]
    assert server.connections == 1
    assert not isinstance(info.value, PostgreSQLDataStore.temporary_errors)


async def test_missing_database_and_role_fail_at_once(
    postgresql_dsn: str, broker: LocalEventBroker
) -> None:
    missing_db = PostgreSQLDataStore(with_params(postgresql_dsn, dbname="nbsched_missing_db"))
    with pytest.raises(DataStoreError, match="database 'nbsched_missing_db' does not exist"):
        await missing_db.start(broker)
    missing_role = PostgreSQLDataStore(with_params(postgresql_dsn, user="nbsched_no_such_role"))
    with pytest.raises(
        DataStoreError,
        match=r"could not connect to PostgreSQL at .* as user 'nbsched_no_such_role': "
        r"role 'nbsched_no_such_role' does not exist",
    ):
        await missing_role.start(broker)


@pytest.fixture
def unprivileged_role(postgresql_dsn: str) -> Iterator[str]:
    role = f"nbsched_noperm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgresql_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
    yield role
    with psycopg.connect(postgresql_dsn, autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE "{role}"')


async def test_missing_permission_fails_at_once(
    postgresql_dsn: str,
    store: PostgreSQLDataStore,
    unprivileged_role: str,
    broker: LocalEventBroker,
) -> None:
    dsn = with_params(postgresql_dsn, user=unprivileged_role)
    # may not create a schema in the database...
    with pytest.raises(DataStoreError, match="permission denied for database"):
        await PostgreSQLDataStore(dsn, schema="nbsched_other").start(broker)
    # ...nor read an existing store's tables
    with pytest.raises(DataStoreError, match="permission denied for schema") as info:
        await PostgreSQLDataStore(dsn, schema=store.schema).start(broker)
    assert "grant the role the privileges" in str(info.value)


# --- temporary failures: retried, and the store reconnects -----------------------------------


def test_temporary_errors_are_exactly_the_ones_that_may_heal() -> None:
    temporary = PostgreSQLDataStore.temporary_errors
    error: type[Exception]
    for error in (
        PostgreSQLConnectionLost,
        errors.AdminShutdown,
        errors.CannotConnectNow,
        errors.SerializationFailure,
        errors.DeadlockDetected,
        errors.ConnectionFailure,
    ):
        assert issubclass(error, temporary), error
    for error in (
        psycopg.OperationalError,  # as a class: too broad (includes e.g. ProgramLimitExceeded)
        errors.InvalidPassword,
        errors.InvalidCatalogName,
        errors.InsufficientPrivilege,
        errors.UndefinedTable,
        errors.ProgramLimitExceeded,
        errors.QueryCanceled,
        DataStoreError,
    ):
        assert not issubclass(error, temporary), error


async def test_server_not_running_is_temporary(broker: LocalEventBroker) -> None:
    store = PostgreSQLDataStore("postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(PostgreSQLDataStore.temporary_errors, match="Connection refused"):
        await store.start(broker)


async def test_lost_connections_are_temporary_and_the_store_reconnects(
    postgresql_dsn: str, store: PostgreSQLDataStore
) -> None:
    await store.add_task(Task(id="t", func="builtins:print"))
    assert await terminate_backends(postgresql_dsn) >= 1
    with pytest.raises(PostgreSQLDataStore.temporary_errors):
        await store.get_tasks()
    assert [task.id for task in await store.get_tasks()] == ["t"]


async def test_scheduler_retries_through_a_lost_connection(
    postgresql_dsn: str, schema: str
) -> None:
    store = PostgreSQLDataStore(postgresql_dsn, schema=schema)
    # the real clock: the retry policy waits on the scheduler's clock, and nobody advances a
    # fake one here (the first retry comes after 0.05 s)
    async with AsyncScheduler(store) as scheduler:
        await scheduler.add_schedule(print, IntervalTrigger(seconds=5, start_time=T0), id="kept")
        await terminate_backends(postgresql_dsn)
        # the first attempt meets the dead connection; the retry policy tries again
        assert [s.id for s in await scheduler.get_schedules()] == ["kept"]
        await terminate_backends(postgresql_dsn)
        await scheduler.pause_schedule("kept")
        assert (await scheduler.get_schedule("kept")).paused


# --- the schema and its version --------------------------------------------------------------


async def test_creates_its_schema_once_even_when_started_concurrently(
    postgresql_dsn: str, schema: str, broker: LocalEventBroker
) -> None:
    stores = [PostgreSQLDataStore(postgresql_dsn, schema=schema) for _ in range(4)]
    await asyncio.gather(*(store.start(broker) for store in stores))
    try:
        await stores[0].add_task(Task(id="shared", func="builtins:print"))
        assert [task.id for task in await stores[3].get_tasks()] == ["shared"]
    finally:
        for store in stores:
            await store.stop()
    async with await psycopg.AsyncConnection.connect(postgresql_dsn) as conn:
        cursor = await conn.execute(f'SELECT key, value FROM "{schema}".nbsched_meta ORDER BY key')
        assert await cursor.fetchall() == [
            ("application", "nbsched"),
            ("schema_version", str(SCHEMA_VERSION)),
        ]


async def test_newer_schema_version_is_refused_and_left_alone(
    postgresql_dsn: str, store: PostgreSQLDataStore, broker: LocalEventBroker
) -> None:
    await store.add_task(Task(id="precious", func="builtins:print"))
    async with await psycopg.AsyncConnection.connect(postgresql_dsn, autocommit=True) as conn:
        await conn.execute(
            f"UPDATE \"{store.schema}\".nbsched_meta SET value = %s WHERE key = 'schema_version'",
            (str(SCHEMA_VERSION + 1),),
        )
    newer = PostgreSQLDataStore(postgresql_dsn, schema=store.schema)
    with pytest.raises(DataStoreError) as info:
        await newer.start(broker)
    assert (
        f"was written by a newer nbsched (schema version {SCHEMA_VERSION + 1}; this nbsched "
        f"understands up to {SCHEMA_VERSION}); upgrade nbsched"
    ) in str(info.value)
    assert [task.id for task in await store.get_tasks()] == ["precious"]


async def test_schema_with_foreign_tables_is_refused(
    postgresql_dsn: str, schema: str, broker: LocalEventBroker
) -> None:
    async with await psycopg.AsyncConnection.connect(postgresql_dsn, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(f'CREATE TABLE "{schema}".invoices (id int)')
    with pytest.raises(DataStoreError, match=r"holds tables that are not an nbsched .*invoices"):
        await PostgreSQLDataStore(postgresql_dsn, schema=schema).start(broker)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"schema": "bad name"}, ValueError, "schema: 'bad name' is not a plain PostgreSQL"),
        ({"schema": "x" * 64}, ValueError, "schema: 'x{64}'"),
        ({"serializer": "json"}, TypeError, "serializer: expected a Serializer, got 'json'"),
        ({"max_connections": 0}, ValueError, "max_connections: 0"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        PostgreSQLDataStore("postgresql://localhost/db", **kwargs)  # type: ignore[arg-type]


# --- several stores (schedulers) sharing one database ----------------------------------------


@pytest.fixture
async def four_stores(
    postgresql_dsn: str, schema: str, broker: LocalEventBroker
) -> AsyncIterator[list[PostgreSQLDataStore]]:
    stores = [PostgreSQLDataStore(postgresql_dsn, schema=schema) for _ in range(4)]
    for store in stores:
        await store.start(broker)
    yield stores
    for store in stores:
        await store.stop()


async def test_concurrent_schedulers_never_acquire_the_same_schedule(
    four_stores: list[PostgreSQLDataStore],
) -> None:
    await four_stores[0].add_task(Task(id="t", func="builtins:print"))
    for number in range(200):
        await four_stores[number % 4].add_schedule(
            Schedule(
                id=f"s{number:03}",
                task_id="t",
                trigger=IntervalTrigger(seconds=1, start_time=T0),
                next_fire_time=T0 + timedelta(milliseconds=number),
            ),
            ConflictPolicy.exception,
        )
    now = T0 + timedelta(milliseconds=500)

    async def acquire_all(index: int) -> list[str]:
        acquired: list[str] = []
        while batch := await four_stores[index].acquire_schedules(
            f"scheduler-{index}", timedelta(seconds=30), 7, now
        ):
            acquired.extend(schedule.id for schedule in batch)
        return acquired

    per_scheduler = await asyncio.gather(*(acquire_all(i) for i in range(4)))
    everything = [schedule_id for batch in per_scheduler for schedule_id in batch]
    assert sorted(everything) == [f"s{number:03}" for number in range(200)]
    assert all(per_scheduler), "each scheduler got a share"

    # once released by their holders, they are due again only at their next fire time
    for index, ids in enumerate(per_scheduler):
        schedules = await four_stores[index].get_schedules(ids)
        results = [
            ScheduleResult(
                schedule_id=s.id,
                task_id=s.task_id,
                trigger=s.trigger,
                last_fire_time=s.next_fire_time,
                next_fire_time=s.next_fire_time + timedelta(seconds=1),  # type: ignore[operator, arg-type]
            )
            for s in schedules
        ]
        await four_stores[index].release_schedules(f"scheduler-{index}", results)
    assert await four_stores[1].acquire_schedules("late", timedelta(seconds=30), 500, now) == []
    assert await four_stores[2].get_next_schedule_run_time() == T0 + timedelta(seconds=1)


async def test_a_crashed_schedulers_schedule_lease_is_taken_over(
    four_stores: list[PostgreSQLDataStore],
) -> None:
    first, second = four_stores[:2]
    await first.add_task(Task(id="t", func="builtins:print"))
    await first.add_schedule(
        Schedule(
            id="s",
            task_id="t",
            trigger=IntervalTrigger(seconds=10, start_time=T0),
            next_fire_time=T0,
        ),
        ConflictPolicy.exception,
    )
    assert [s.id for s in await first.acquire_schedules("a", timedelta(seconds=30), 10, T0)]
    assert await second.acquire_schedules("b", timedelta(seconds=30), 10, T0) == []
    # the lease holds through its last instant, and the next wake-up is just after it
    later = T0 + timedelta(seconds=30)
    assert await second.acquire_schedules("b", timedelta(seconds=30), 10, later) == []
    after = T0 + timedelta(seconds=30, microseconds=1)
    assert await second.get_next_schedule_run_time() == after
    taken = await second.acquire_schedules("b", timedelta(seconds=30), 10, after)
    assert [(s.id, s.acquired_by) for s in taken] == [("s", "b")]
    # the crashed scheduler's late release does not overwrite the new holder's lease
    await first.release_schedules(
        "a",
        [
            ScheduleResult(
                schedule_id="s",
                task_id="t",
                trigger=taken[0].trigger,
                last_fire_time=T0,
                next_fire_time=T0 + timedelta(seconds=10),
            )
        ],
    )
    (stored,) = await second.get_schedules(["s"])
    assert (stored.acquired_by, stored.next_fire_time) == ("b", T0)


async def test_max_running_jobs_holds_across_schedulers(
    four_stores: list[PostgreSQLDataStore],
) -> None:
    await four_stores[0].add_task(Task(id="limited", func="builtins:print", max_running_jobs=3))
    await four_stores[0].add_task(Task(id="free", func="builtins:print"))
    for number in range(20):
        await four_stores[number % 4].add_job(
            Job(task_id="limited" if number % 2 else "free", created_at=T0)
        )

    async def acquire(index: int) -> list[Job]:
        return await four_stores[index].acquire_jobs(
            f"scheduler-{index}", timedelta(seconds=30), None, T0
        )

    acquired = [
        job for jobs in await asyncio.gather(*(acquire(i) for i in range(4))) for job in jobs
    ]
    limited = [job for job in acquired if job.task_id == "limited"]
    assert len(limited) == 3
    assert len([job for job in acquired if job.task_id == "free"]) == 10
    assert len({job.id for job in acquired}) == len(acquired)
    assert (await four_stores[1].get_task("limited")).running_jobs == 3

    # finishing one makes room for exactly one more
    holder = limited[0].acquired_by
    assert holder is not None
    index = int(holder.rsplit("-", 1)[1])
    await four_stores[index].release_job(
        holder,
        limited[0],
        JobResult(
            job_id=limited[0].id,
            outcome=JobOutcome.success,
            finished_at=T0,
            expires_at=T0 + timedelta(minutes=1),
            return_value=42,
        ),
    )
    more = await asyncio.gather(*(acquire(i) for i in range(4)))
    assert [job.task_id for jobs in more for job in jobs] == ["limited"]
    result = await four_stores[2].get_job_result(limited[0].id)
    assert result is not None and result.return_value == 42
    assert (await four_stores[3].get_task("limited")).running_jobs == 3


@pytest.mark.parametrize("kept", [False, True], ids=["result not kept", "result kept"])
async def test_retried_add_job_of_a_finished_job_is_a_no_op(
    store: PostgreSQLDataStore, kept: bool
) -> None:
    # add_job's first attempt committed but its reply was lost (server restarting); the job ran
    # and finished before the scheduler's retry of add_job arrived: it must not run again
    await store.add_task(Task(id="t", func="builtins:print"))
    job = Job(task_id="t", schedule_id="s", scheduled_fire_time=T0, created_at=T0)
    await store.add_job(job)
    [acquired] = await store.acquire_jobs("a", timedelta(seconds=30), None, T0)
    expires = T0 + (timedelta(hours=1) if kept else timedelta(0))
    result = JobResult(
        job_id=job.id, outcome=JobOutcome.success, finished_at=T0, expires_at=expires
    )
    await store.release_job("a", acquired, result)
    await store.add_job(job)  # the retry
    assert await store.get_jobs() == []
    assert await store.acquire_jobs("b", timedelta(seconds=30), None, T0) == []
    stored = await store.get_job_result(job.id)
    assert (stored is not None) is kept
    # the trace of a finished job goes away with the results' housekeeping
    await store.cleanup(T0 + timedelta(days=1))
    await store.add_job(job)
    assert [j.id for j in await store.get_jobs()] == [job.id]


async def _schedule_indexes(dsn: str, schema: str) -> dict[str, str]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = %s AND tablename = 'schedules'",
            (schema,),
        )
        return dict(await cursor.fetchall())


async def test_due_schedules_are_indexed_in_the_order_they_are_acquired(
    postgresql_dsn: str, store: PostgreSQLDataStore
) -> None:
    indexes = await _schedule_indexes(postgresql_dsn, store.schema)
    assert "(next_fire_time, id) WHERE (NOT paused)" in indexes["schedules_due_order"]
    async with await psycopg.AsyncConnection.connect(postgresql_dsn) as conn:
        # an empty table: make every other plan look dear, so a Sort left means no index
        # can give the order
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            await conn.execute(f"SET LOCAL {setting} = off")
        cursor = await conn.execute(
            "EXPLAIN " + store._sql.acquire_schedules,
            {"by": "s1", "until": T0, "now": T0, "limit": 10},
        )
        plan = "\n".join(row[0] for row in await cursor.fetchall())
    # the index gives the order: no sort of every due schedule on each batch
    assert "schedules_due_order" in plan, plan
    assert "Sort" not in plan, plan


async def test_an_older_schema_gets_the_ordered_index(
    postgresql_dsn: str, store: PostgreSQLDataStore, broker: LocalEventBroker
) -> None:
    await store.add_schedule(
        Schedule(id="s", task_id="t", trigger=IntervalTrigger(seconds=5), next_fire_time=T0),
        ConflictPolicy.exception,
    )
    async with await psycopg.AsyncConnection.connect(postgresql_dsn, autocommit=True) as conn:
        await conn.execute(f'DROP INDEX "{store.schema}".schedules_due_order')
        await conn.execute(
            f'CREATE INDEX schedules_due ON "{store.schema}".schedules (next_fire_time) '
            f"WHERE NOT paused"
        )
    reopened = PostgreSQLDataStore(postgresql_dsn, schema=store.schema)
    await reopened.start(broker)
    try:
        indexes = await _schedule_indexes(postgresql_dsn, store.schema)
        assert "schedules_due" not in indexes
        assert "(next_fire_time, id) WHERE (NOT paused)" in indexes["schedules_due_order"]
        assert [s.id for s in await reopened.get_schedules()] == ["s"]
    finally:
        await reopened.stop()
