"""Helpers shared by the data store tests (pytest puts this folder on sys.path).

Fixtures live in ``conftest.py``; these are the plain values, classes and functions several test
modules use: a broker that records what a synchronous store publishes, raw SQL on a store's
SQLite file or PostgreSQL schema (to write rows the store itself never would), and a started
PostgreSQL store in a fresh schema.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from nbsched.abc import EventBroker
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.events import Event

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)


class RecordingBroker(EventBroker):
    """A broker for a synchronous store that keeps every event published (it delivers none)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def start(self) -> None:
        pass

    def stop(self, *, force: bool = False) -> None:
        pass

    def publish(self, event: Event) -> None:
        self.events.append(event)

    def publish_local(self, event: Event) -> None:
        self.events.append(event)

    def subscribe(
        self,
        callback: Callable[[Event], Any],
        event_types: Any = None,
        *,
        one_shot: bool = False,
    ) -> Any:
        raise NotImplementedError

    def of_type(self, kind: type[Event]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


def execute_sqlite(path: str | Path, sql: str, params: tuple[Any, ...]) -> int:
    """Run ``sql`` on a connection of its own to the SQLite file ``path``, committed; returns
    how many rows it changed."""
    conn = sqlite3.connect(path)
    try:
        count = conn.execute(sql, params).rowcount
        conn.commit()
    finally:
        conn.close()
    return count


def execute_postgresql(dsn: str, schema: str, sql: str, params: tuple[Any, ...]) -> int:
    """Run ``sql`` (``?`` or ``%s`` placeholders) on a connection of its own in ``schema``;
    returns how many rows it changed."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        return conn.execute(sql.replace("?", "%s"), params).rowcount


@asynccontextmanager
async def started_postgresql_store(
    dsn: str, prefix: str
) -> AsyncIterator[tuple[Any, list[Event]]]:
    """A started PostgreSQL store in a fresh schema named ``prefix_<random>``, and the list of
    events it publishes (through a started local broker)."""
    from nbsched.datastores.postgresql import PostgreSQLDataStore

    store = PostgreSQLDataStore(dsn, schema=f"{prefix}_{uuid.uuid4().hex[:12]}")
    broker = LocalEventBroker()
    await broker.start()
    events: list[Event] = []
    broker.subscribe(events.append)
    await store.start(broker)
    try:
        yield store, events
    finally:
        await store.stop()
        await broker.stop()
