"""Reading SQLite rows when some TEXT value is not valid UTF-8.

SQLite does not check what it stores as TEXT: a flipped bit or a value written as raw bytes
leaves bytes that are not UTF-8, and :mod:`sqlite3` then fails the whole query ("Could not
decode to UTF-8 column ..."), so one bad row would hide every other. These helpers run the
query as usual and, only when that happens, run it again handing such values over as
``bytes``; the row codec then refuses that row alone (text columns must hold ``str``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator
from itertools import islice
from typing import Any

__all__ = ["fetch_one_changing", "fetch_rows", "iter_rows"]


def _is_undecodable_text(exc: sqlite3.OperationalError) -> bool:
    return str(exc).startswith("Could not decode to UTF-8")


def _text_or_bytes(value: bytes) -> str | bytes:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value


class _TolerantText:
    """Within the block, TEXT values that are not UTF-8 come back as ``bytes``."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.text_factory = _text_or_bytes

    def __exit__(self, *exc_info: object) -> None:
        self.conn.text_factory = str


def fetch_rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[Any]:
    """``conn.execute(sql, params).fetchall()``, with undecodable text as ``bytes``."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if not _is_undecodable_text(exc):
            raise
    with _TolerantText(conn):
        return conn.execute(sql, params).fetchall()


def iter_rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> Generator[Any, None, None]:
    """Iterate over ``sql``'s rows, with undecodable text as ``bytes``.

    Must run inside a transaction (the query is run a second time, from the row it failed on,
    and must see the same rows).
    """
    seen = 0
    cursor = conn.execute(sql, params)
    try:
        for row in cursor:
            yield row
            seen += 1
        return
    except sqlite3.OperationalError as exc:
        if not _is_undecodable_text(exc):
            raise
    finally:
        cursor.close()
    with _TolerantText(conn):
        cursor = conn.execute(sql, params)
        try:
            yield from islice(cursor, seen, None)
        finally:
            cursor.close()


def fetch_one_changing(conn: sqlite3.Connection, sql: str, params: Any = ()) -> Any:
    """The one row a statement that changes the file returns (``DELETE ... RETURNING``), with
    undecodable text as ``bytes``: such a statement cannot be run a second time."""
    with _TolerantText(conn):
        return conn.execute(sql, params).fetchone()
