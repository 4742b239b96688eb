"""What the SQLite store's errors mean: :func:`translate_error` turns a :mod:`sqlite3` error
into a :class:`~nbsched.DataStoreError` naming the file, temporary (retried) or permanent.

Two kinds heal by themselves: a lock held by another connection (:class:`SQLiteBusyError`),
and a full disk. A full disk (``SQLITE_FULL``), or a write the operating system refused
(``SQLITE_IOERR_WRITE``: no space, a quota, a file size limit) leaves the file as it was
(the transaction is rolled back) and works again once space is freed, so the scheduler
retries them like a lock.
"""

from __future__ import annotations

import sqlite3

from .._exceptions import DataStoreError

__all__ = ["SQLiteBusyError", "SQLiteDiskFullError", "disk_full_error", "translate_error"]

# sqlite3 primary result codes
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 8, 11, 26
_SQLITE_FULL = 13
_SQLITE_IOERR_WRITE = 10 | (3 << 8)
_SQLITE_IOERR_SHMSIZE = 10 | (19 << 8)


class SQLiteBusyError(DataStoreError):
    """The database file was locked by another connection for longer than ``busy_timeout``.

    Temporary: the scheduler retries the operation (see ``SQLiteDataStore.temporary_errors``).
    """


class SQLiteDiskFullError(DataStoreError):
    """The file could not grow: the disk, a quota or a file size limit is full.

    Temporary: the scheduler retries the operation (see ``SQLiteDataStore.temporary_errors``)
    and carries on once there is room again.
    """


def disk_full_error(exc: sqlite3.Error, where: str) -> SQLiteDiskFullError | None:
    """The temporary error for ``exc`` if it means the file could not grow, else ``None``."""
    code = getattr(exc, "sqlite_errorcode", None) or 0
    if code & 0xFF == _SQLITE_FULL:
        return SQLiteDiskFullError(f"{where}: the disk is full ({exc}); free some space")
    if code in (_SQLITE_IOERR_WRITE, _SQLITE_IOERR_SHMSIZE):
        return SQLiteDiskFullError(
            f"{where}: writing to the file failed ({exc}): the disk, a quota or a file size "
            f"limit is full, or the disk is failing"
        )
    return None


def translate_error(exc: sqlite3.Error, where: str) -> DataStoreError:
    """The data store error for ``exc``; ``where`` names the file (``"SQLite data store ..."``)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    message = str(exc)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in message:
        return SQLiteBusyError(
            f"{where}: the file is locked by another connection ({message}); try again"
        )
    full = disk_full_error(exc, where)
    if full is not None:
        return full
    if code == _SQLITE_READONLY:
        return DataStoreError(f"{where}: the file cannot be written to ({message})")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return DataStoreError(f"{where}: the file is corrupt ({message})")
    return DataStoreError(f"{where}: {message}")
