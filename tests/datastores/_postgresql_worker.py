"""A scheduler process for the multi-process PostgreSQL tests (run as a script, not collected).

    python _postgresql_worker.py DSN SCHEMA SECONDS IDENTITY LEASE_SECONDS

Runs an AsyncScheduler on the PostgreSQL store in SCHEMA with the PostgreSQL event broker
(channel SCHEMA) for SECONDS or until SIGTERM, then stops cleanly. The task the tests configure is
``__main__:record`` with the ``async`` executor: each run inserts one row into SCHEMA.runs,
waiting out a server restart; a token makes a retried insert count once.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg

from nbsched import AsyncScheduler
from nbsched.datastores.postgresql import PostgreSQLDataStore
from nbsched.eventbrokers.postgresql import PostgreSQLEventBroker

_dsn = _schema = _identity = ""
_conn: psycopg.AsyncConnection[Any] | None = None
_lock: asyncio.Lock | None = None


async def record(schedule_id: str) -> None:
    global _conn, _lock
    if _lock is None:
        _lock = asyncio.Lock()
    token = uuid.uuid4()
    deadline = time.monotonic() + 60
    async with _lock:
        while True:
            try:
                if _conn is None or _conn.closed:
                    _conn = await psycopg.AsyncConnection.connect(_dsn, autocommit=True)
                await _conn.execute(
                    f'INSERT INTO "{_schema}".runs (token, schedule_id, scheduler) '
                    f"VALUES (%s, %s, %s) ON CONFLICT (token) DO NOTHING",
                    (token, schedule_id, _identity),
                )
                return
            except psycopg.OperationalError:
                if _conn is not None:
                    await _conn.close()
                _conn = None
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def main(seconds: float, lease: float) -> None:
    scheduler = AsyncScheduler(
        PostgreSQLDataStore(_dsn, schema=_schema),
        PostgreSQLEventBroker(_dsn, channel=_schema),
        identity=_identity,
        lease_duration=timedelta(seconds=lease),
    )
    async with scheduler:
        loop = asyncio.get_running_loop()
        loop.call_later(seconds, scheduler.request_stop)
        loop.add_signal_handler(signal.SIGTERM, scheduler.request_stop)
        await scheduler.run_until_stopped()


if __name__ == "__main__":
    _dsn, _schema, duration, _identity, lease_seconds = sys.argv[1:6]
    asyncio.run(main(float(duration), float(lease_seconds)))
