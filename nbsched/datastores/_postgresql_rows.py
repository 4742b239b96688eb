"""Reading PostgreSQL rows when some stored value has no Python equivalent.

PostgreSQL holds timestamps up to the year 294276 and ``infinity``, intervals of millions of
years: values :mod:`datetime` cannot represent. psycopg then fails the whole fetch, so one such
row would hide every other. :func:`fetch_all` fetches as usual and, only when that happens,
loads the rows again from the same result value by value, handing over each value that cannot
be loaded as :class:`Unloadable`; the row codec then refuses that row alone.
"""

from __future__ import annotations

from typing import Any

import psycopg

__all__ = ["Unloadable", "fetch_all"]


class Unloadable:
    """Stands in for a stored value psycopg cannot turn into a Python object.

    :ivar raw: the value as the server sent it
    :ivar reason: why it could not be loaded
    """

    __slots__ = ("raw", "reason")

    def __init__(self, raw: bytes, reason: str):
        self.raw = raw
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unloadable {self.raw.decode('utf-8', 'backslashreplace')!r}: {self.reason}>"


async def fetch_all(cursor: psycopg.AsyncCursor[Any]) -> list[tuple[Any, ...]]:
    """``await cursor.fetchall()``, with values that cannot be loaded as :class:`Unloadable`."""
    try:
        return await cursor.fetchall()
    except psycopg.DataError:
        result = cursor.pgresult
        if result is None:
            raise
    adapters = cursor.adapters
    loaders = [
        adapters.get_loader(result.ftype(col), result.fformat(col))(result.ftype(col), cursor)  # type: ignore[misc, arg-type]
        for col in range(result.nfields)
    ]
    rows = []
    for row in range(result.ntuples):
        values: list[Any] = []
        for col, loader in enumerate(loaders):
            raw = result.get_value(row, col)
            if raw is None:
                values.append(None)
                continue
            try:
                values.append(loader.load(raw))
            except psycopg.DataError as exc:
                values.append(Unloadable(bytes(raw), str(exc)))
        rows.append(tuple(values))
    return rows
