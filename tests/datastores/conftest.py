"""The data store fixtures: one parametrised ``store`` fixture over every store nbsched ships.

To add a store, add a factory to :data:`STORE_FACTORIES`: it gets the pytest ``request`` (for
fixtures such as ``tmp_path`` or ``postgresql_dsn``) and returns an *unstarted* store, sync or
async (sync stores are wrapped in :class:`AsyncDataStoreAdapter`, as the scheduler does).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from nbsched.abc import AsyncDataStore, DataStore
from nbsched.datastores.memory import MemoryDataStore
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.datastores.sync_adapter import AsyncDataStoreAdapter
from nbsched.eventbrokers.local import LocalEventBroker
from nbsched.events import Event


def _memory(request: pytest.FixtureRequest) -> AsyncDataStore:
    return MemoryDataStore()


def _sqlite(request: pytest.FixtureRequest) -> DataStore:
    tmp_path = request.getfixturevalue("tmp_path")
    return SQLiteDataStore(tmp_path / "schedules.db")


def _postgresql(request: pytest.FixtureRequest) -> AsyncDataStore:
    from nbsched.datastores.postgresql import PostgreSQLDataStore

    # a fresh schema per test in the session's fresh database
    schema = f"store_{uuid.uuid4().hex[:16]}"
    return PostgreSQLDataStore(request.getfixturevalue("postgresql_dsn"), schema=schema)


#: name -> factory(request) returning an unstarted store
STORE_FACTORIES: dict[str, Callable[[pytest.FixtureRequest], AsyncDataStore | DataStore]] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}

#: stores that serialize what they keep (a value the serializer refuses is an error there)
SERIALIZING_STORES = {"sqlite", "postgresql"}


@dataclass
class StoreUnderTest:
    """A started store (async interface) and every event it published."""

    name: str
    store: AsyncDataStore
    broker: LocalEventBroker
    events: list[Event] = field(default_factory=list)

    @property
    def serializes(self) -> bool:
        return self.name in SERIALIZING_STORES

    def of_type(self, *types: type[Event]) -> list[Any]:
        return [event for event in self.events if isinstance(event, types)]


def as_async(store: AsyncDataStore | DataStore) -> AsyncDataStore:
    return AsyncDataStoreAdapter(store) if isinstance(store, DataStore) else store


@pytest.fixture(params=sorted(STORE_FACTORIES))
async def sut(request: pytest.FixtureRequest) -> AsyncIterator[StoreUnderTest]:
    store = as_async(STORE_FACTORIES[request.param](request))
    broker = LocalEventBroker()
    await broker.start()
    result = StoreUnderTest(request.param, store, broker)
    broker.subscribe(result.events.append)
    await store.start(broker)
    try:
        yield result
    finally:
        await store.stop()
        await broker.stop()
