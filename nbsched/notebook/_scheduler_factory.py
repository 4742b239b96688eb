"""The kernel's scheduler for a store location: memory, a SQLite file, or a PostgreSQL
database shared with other kernels."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._cell_spec import kernel_identity
from ._store_choice import is_postgresql_dsn

if TYPE_CHECKING:
    from .._schedulers.async_ import AsyncScheduler

__all__ = ["new_scheduler"]


def new_scheduler(store_path: str | None, clock: Any = None) -> tuple[AsyncScheduler, str | None]:
    """A new (not started) scheduler keeping its schedules at ``store_path``, and that location
    as the notebook layer records it (a file's absolute path, a database URL, ``None``: memory).

    :param store_path: a SQLite file, a ``postgresql://`` URL, or ``None`` (memory)
    :param clock: the scheduler's clock (``None``: the system clock)
    """
    from .._schedulers.async_ import AsyncScheduler

    store: Any = None
    broker: Any = None
    if store_path is not None and is_postgresql_dsn(store_path):
        # shared with every kernel pointing at the database: the broker's LISTEN/NOTIFY
        # shows each kernel the others' changes and runs at once
        from ..datastores.postgresql import PostgreSQLDataStore
        from ..eventbrokers.postgresql import PostgreSQLEventBroker

        store = PostgreSQLDataStore(store_path)
        broker = PostgreSQLEventBroker(store_path)
    elif store_path is not None:
        from ..datastores.sqlite import SQLiteDataStore

        store_path = os.path.abspath(os.path.expanduser(store_path))
        store = SQLiteDataStore(store_path)
    scheduler = AsyncScheduler(store, broker, identity=kernel_identity(), clock=clock)
    return scheduler, store_path
