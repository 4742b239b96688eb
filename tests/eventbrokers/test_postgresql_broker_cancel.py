"""The PostgreSQL broker's stop inside a cancelled anyio cancel scope (APScheduler 4's
test_cancel_stop)."""

from __future__ import annotations

import uuid

import anyio
import psycopg
import pytest

from nbsched.eventbrokers.postgresql import PostgreSQLEventBroker
from nbsched.events import TaskAdded

pytestmark = pytest.mark.anyio


async def _listening_connections(dsn: str, channel: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s "
            "AND pid <> pg_backend_pid()",
            (f'LISTEN "{channel}"%',),
        )
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


async def test_stop_in_a_cancelled_scope_still_closes_its_connections(postgresql_dsn: str) -> None:
    # a stop that runs inside a cancelled anyio scope (a fail_after() that ran out around
    # `async with scheduler`) must still let go of the server, and the cancellation must end at
    # that scope
    channel = f"test_{uuid.uuid4().hex[:16]}"
    broker = PostgreSQLEventBroker(postgresql_dsn, channel)
    await broker.start()
    await broker.publish(TaskAdded(task_id="queued"))  # something left to send at the stop
    assert await _listening_connections(postgresql_dsn, channel) == 1
    with anyio.CancelScope() as scope:
        scope.cancel()
        await broker.stop()
    assert not broker.listening.is_set()
    assert await _listening_connections(postgresql_dsn, channel) == 0
