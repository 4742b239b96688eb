from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone

import psycopg
import pytest

from nbsched import DataStoreError
from nbsched._enums import JobOutcome
from nbsched.eventbrokers.postgresql import PostgreSQLEventBroker
from nbsched.events import Event, JobReleased, TaskAdded, TaskRemoved

pytestmark = pytest.mark.anyio

# an event field of ~60 kB with multi-byte characters: far beyond NOTIFY's 8000-byte payload
BIG_TEXT = "ünïcödé € 😀 " * 4000


@pytest.fixture
def channel() -> str:
    return f"test_{uuid.uuid4().hex[:16]}"


@pytest.fixture
async def broker_pair(
    postgresql_dsn: str, channel: str
) -> AsyncIterator[tuple[PostgreSQLEventBroker, PostgreSQLEventBroker]]:
    first = PostgreSQLEventBroker(postgresql_dsn, channel)
    second = PostgreSQLEventBroker(postgresql_dsn, channel)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    async def poll() -> None:
        # any condition over the broker's received events: nothing to wait on but polling
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


# The publisher runs in another process: a plain script, so the measurement covers everything
# between two interpreters that only share the database server.
PUBLISHER = textwrap.dedent(
    """
    import asyncio, sys
    from nbsched.eventbrokers.postgresql import PostgreSQLEventBroker
    from nbsched.events import TaskAdded

    async def main(dsn, channel, count, big_text):
        broker = PostgreSQLEventBroker(dsn, channel)
        await broker.start()
        for number in range(count):
            await broker.publish(TaskAdded(task_id=f"small-{number}"))
            await asyncio.sleep(0.02)
        await broker.publish(TaskAdded(task_id="big-" + big_text))
        await broker.stop()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.stdin.read()))
    """
)


async def test_event_reaches_another_process_within_100ms(
    postgresql_dsn: str, channel: str
) -> None:
    received: list[tuple[datetime, Event]] = []
    broker = PostgreSQLEventBroker(postgresql_dsn, channel)
    await broker.start()
    broker.subscribe(lambda event: received.append((datetime.now(timezone.utc), event)))
    try:
        count = 20
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            PUBLISHER,
            postgresql_dsn,
            channel,
            str(count),
            stdin=subprocess.PIPE,
        )
        await process.communicate(BIG_TEXT.encode())
        assert process.returncode == 0
        await wait_for(lambda: len(received) == count + 1)
    finally:
        await broker.stop()

    task_ids = [event.task_id for _, event in received]  # type: ignore[attr-defined]
    assert task_ids == [f"small-{n}" for n in range(count)] + ["big-" + BIG_TEXT]
    latencies_ms = [(at - event.timestamp).total_seconds() * 1000 for at, event in received]
    print(
        f"\ncross-process latency over {len(latencies_ms)} events: "
        f"median {statistics.median(latencies_ms):.1f} ms, max {max(latencies_ms):.1f} ms, "
        f"big payload ({len(BIG_TEXT.encode())} bytes) {latencies_ms[-1]:.1f} ms"
    )
    assert max(latencies_ms) < 100


async def test_big_payload_in_both_directions(
    broker_pair: tuple[PostgreSQLEventBroker, PostgreSQLEventBroker],
) -> None:
    first, second = broker_pair
    at_first: list[Event] = []
    at_second: list[Event] = []
    first.subscribe(at_first.append)
    second.subscribe(at_second.append)
    big = TaskAdded(task_id=BIG_TEXT)
    reply = TaskRemoved(task_id=BIG_TEXT[::-1])
    await first.publish(big)
    await wait_for(lambda: len(at_second) == 1)
    await second.publish(reply)
    await wait_for(lambda: len(at_first) == 2)
    assert at_second == [big, reply]
    assert at_first == [big, reply]


async def test_enum_uuid_and_datetime_fields_survive(
    broker_pair: tuple[PostgreSQLEventBroker, PostgreSQLEventBroker],
) -> None:
    first, second = broker_pair
    received: list[Event] = []
    second.subscribe(received.append, {JobReleased})
    event = JobReleased(
        job_id=uuid.uuid4(),
        scheduler_id="host-a",
        task_id="t",
        schedule_id=None,
        scheduled_start=datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc),
        started_at=None,
        outcome=JobOutcome.error,
        exception_type="ValueError",
    )
    await first.publish(TaskAdded(task_id="not wanted by the filter"))
    await first.publish(event)
    await wait_for(lambda: len(received) == 1)
    assert received == [event]
    assert isinstance(received[0], JobReleased) and received[0].outcome is JobOutcome.error


async def test_own_events_delivered_once_and_publish_local_stays_local(
    broker_pair: tuple[PostgreSQLEventBroker, PostgreSQLEventBroker],
) -> None:
    first, second = broker_pair
    at_first: list[Event] = []
    at_second: list[Event] = []
    first.subscribe(at_first.append)
    second.subscribe(at_second.append)
    local_only = TaskAdded(task_id="local")
    shared = TaskAdded(task_id="shared")
    await first.publish_local(local_only)
    await first.publish(shared)
    # `shared` reaching the other broker proves the NOTIFY went round (and came back to
    # `first`'s own connection too, which must ignore it)
    await wait_for(lambda: len(at_second) == 1)
    marker = TaskAdded(task_id="marker")
    await second.publish(marker)
    await wait_for(lambda: marker in at_first)
    assert at_first == [local_only, shared, marker]
    assert at_second == [shared, marker]


async def test_listens_again_after_its_backend_is_terminated(
    broker_pair: tuple[PostgreSQLEventBroker, PostgreSQLEventBroker], postgresql_dsn: str
) -> None:
    first, second = broker_pair
    received: list[Event] = []
    first.subscribe(received.append)
    assert first._listen_conn is not None
    listener_pid = first._listen_conn.info.backend_pid
    assert second._send_conn is not None
    sender_pid = second._send_conn.info.backend_pid
    async with await psycopg.AsyncConnection.connect(postgresql_dsn, autocommit=True) as admin:
        for pid in (listener_pid, sender_pid):
            cursor = await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            assert await cursor.fetchone() == (True,)
    await wait_for(lambda: first.reconnections == 1 and first.listening.is_set())
    assert first._listen_conn is not None
    assert first._listen_conn.info.backend_pid != listener_pid

    # the sender finds its connection dead, reconnects and sends: nothing dropped
    events = [TaskAdded(task_id=f"after-{n}") for n in range(3)]
    for event in events:
        await second.publish(event)
    await wait_for(lambda: len(received) == 3)
    assert received == events


async def test_missing_database_fails_at_once_with_a_clear_message(postgresql_dsn: str) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(postgresql_dsn)
    params["dbname"] = "nbsched_no_such_database"
    broker = PostgreSQLEventBroker(make_conninfo("", **params))
    with pytest.raises(DataStoreError) as info:
        await broker.start()
    message = str(info.value)
    assert message.startswith("could not connect to PostgreSQL at ")
    assert "/nbsched_no_such_database" in message
    assert "database 'nbsched_no_such_database' does not exist" in message


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="dsn"):
        PostgreSQLEventBroker(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channel: 'x{64}'"):
        PostgreSQLEventBroker("postgresql://localhost/db", "x" * 64)


ran: list[str] = []


async def note(name: str) -> None:
    ran.append(name)


async def test_a_schedule_added_elsewhere_wakes_an_idle_scheduler_at_once(
    postgresql_dsn: str, channel: str
) -> None:
    """Scheduler B sleeps with nothing to do (its safety-net poll is 10 s away); scheduler A,
    elsewhere, adds a schedule due now: B's broker hears of it and B runs it at once."""
    from nbsched import AsyncScheduler
    from nbsched.datastores.postgresql import PostgreSQLDataStore
    from nbsched.triggers.date import DateTrigger

    def scheduler(identity: str) -> AsyncScheduler:
        return AsyncScheduler(
            PostgreSQLDataStore(postgresql_dsn, schema=channel),
            PostgreSQLEventBroker(postgresql_dsn, channel),
            identity=identity,
        )

    ran.clear()
    released: list[JobReleased] = []
    async with scheduler("b") as idle, scheduler("a") as adding:
        assert idle.data_store.poll_interval == 10  # type: ignore[attr-defined]
        idle.subscribe(released.append, {JobReleased})  # type: ignore[arg-type]  # filtered
        idle.start_in_background()
        await asyncio.sleep(0.5)  # B has found nothing due and sleeps
        added_at = datetime.now(timezone.utc)
        await adding.add_schedule(note, DateTrigger(added_at), args=["hello"], id="once")
        await wait_for(lambda: bool(released), timeout=5)
        elapsed = (released[0].timestamp - added_at).total_seconds()
        await idle.stop()
    assert ran == ["hello"]
    assert released[0].scheduler_id == "b"
    assert elapsed < 2, elapsed
