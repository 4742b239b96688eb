"""SQLite errors that heal by themselves once the disk has room again.

A full disk (``SQLITE_FULL``), or a write the operating system refused (``SQLITE_IOERR_WRITE``:
no space, a quota, a file size limit) leaves the file as it was (the transaction is rolled
back) and works again once space is freed, so the scheduler retries them like a lock.
"""

from __future__ import annotations

import sqlite3

from .._exceptions import DataStoreError

__all__ = ["SQLiteDiskFullError", "disk_full_error"]

_SQLITE_FULL = 13
_SQLITE_IOERR_WRITE = 10 | (3 << 8)
_SQLITE_IOERR_SHMSIZE = 10 | (19 << 8)


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
