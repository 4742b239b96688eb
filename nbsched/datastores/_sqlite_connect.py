"""Opening the SQLite store's file: check it (or create it), connect in autocommit mode (the
store runs its own transactions), switch to WAL and bring the schema up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .._exceptions import DataStoreError
from ._history_sqlite import add_history_table
from ._sqlite_errors import translate_error
from ._sqlite_schema import add_missing_indexes, check_existing, create_schema, prepare_file

__all__ = ["open_file"]


def open_file(path: Path, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    """A connection to the store's file, ready for use.

    :raises DataStoreError: the file cannot be opened, is not a store, or stays out of WAL mode
    """
    where = f"SQLite data store {str(path)!r}"
    is_new = prepare_file(path) or check_existing(path)
    try:
        conn = sqlite3.connect(
            path,
            timeout=busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise translate_error(exc, where) from exc
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise DataStoreError(
                f"{where}: cannot switch the file to WAL mode "
                f"(it stays in {mode!r} mode; is it on a network file system?)"
            )
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        if is_new and not create_schema(conn):
            check_existing(path)  # another process created it meanwhile
        add_missing_indexes(conn)
        add_history_table(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise translate_error(exc, where) from exc
    except BaseException:
        conn.close()
        raise
    return conn
