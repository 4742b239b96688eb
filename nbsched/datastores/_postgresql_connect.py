"""Connecting to PostgreSQL, and telling failures that may heal from those that never will.

Shared by :class:`~nbsched.datastores.postgresql.PostgreSQLDataStore` and
:class:`~nbsched.eventbrokers.postgresql.PostgreSQLEventBroker`.

A temporary failure (server restarting, connection refused or reset, administrator shutdown,
serialization failure, deadlock) is raised as one of :data:`TEMPORARY_ERRORS`, which the
scheduler's retry policy retries. A permanent one (wrong password, missing role or database,
no ``pg_hba.conf`` entry, missing permission) is raised at once as
:class:`~nbsched.DataStoreError` whose message says what to fix.

libpq reports connection failures as plain text without an SQLSTATE, so connection failures
are sorted by the server's ``FATAL`` message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict

from .._exceptions import DataStoreError

__all__ = [
    "PostgreSQLConnectionLost",
    "TEMPORARY_ERRORS",
    "describe_dsn",
    "connect",
    "ConnectionPool",
]


class PostgreSQLConnectionLost(psycopg.OperationalError):
    """The server could not be reached or the connection broke; trying again may work."""


#: The exceptions the scheduler retries for the PostgreSQL store.
TEMPORARY_ERRORS: tuple[type[BaseException], ...] = (
    PostgreSQLConnectionLost,
    errors.ConnectionException,  # SQLSTATE class 08 (psycopg's classes for it are flat)
    errors.ConnectionFailure,
    errors.ConnectionDoesNotExist,
    errors.AdminShutdown,  # 57P01: server stopping or pg_terminate_backend()
    errors.CrashShutdown,  # 57P02
    errors.CannotConnectNow,  # 57P03: starting up, shutting down
    errors.SerializationFailure,  # 40001
    errors.DeadlockDetected,  # 40P01
)

# FATAL messages at connect time that mean "the server is there but not ready": retry.
_TEMPORARY_FATAL = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "sorry, too many clients already",
    "remaining connection slots are reserved",
    "terminating connection due to administrator command",
)


def describe_dsn(dsn: str) -> str:
    """Return ``host:port/dbname as user 'x'`` for messages (never the password)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    where = f"{host}:{port}/{params.get('dbname') or params.get('user') or '?'}"
    if params.get("user"):
        where += f" as user {params['user']!r}"
    return where


def _reason(exc: BaseException) -> str:
    """The useful part of a libpq connection error: after ``FATAL:`` if there is one."""
    text = str(exc).strip()
    if "FATAL:" in text:
        text = text.split("FATAL:", 1)[1]
    elif "failed:" in text:
        text = text.rsplit("failed:", 1)[1]
    return " ".join(text.replace('"', "'").split())


def classify_connect_error(exc: psycopg.OperationalError, dsn: str) -> Exception:
    """Turn a failed connection attempt into a temporary or a permanent error."""
    text = str(exc)
    reason = _reason(exc)
    message = f"could not connect to PostgreSQL at {describe_dsn(dsn)}: {reason}"
    if "FATAL:" in text and not any(marker in text for marker in _TEMPORARY_FATAL):
        # wrong password, missing role/database, no pg_hba.conf entry, no CONNECT privilege
        return DataStoreError(message)
    return PostgreSQLConnectionLost(message)


async def connect(dsn: str, **kwargs: Any) -> psycopg.AsyncConnection[Any]:
    """Open an autocommit connection; raise a classified error if that fails."""
    try:
        return await psycopg.AsyncConnection.connect(dsn, autocommit=True, **kwargs)
    except psycopg.OperationalError as exc:
        raise classify_connect_error(exc, dsn) from exc
    except OSError as exc:  # DNS failure or similar below libpq
        raise PostgreSQLConnectionLost(
            f"could not connect to PostgreSQL at {describe_dsn(dsn)}: {exc}"
        ) from exc


def is_connection_failure(exc: BaseException, conn: psycopg.AsyncConnection[Any]) -> bool:
    """True if ``exc`` means the connection itself is gone (so it must be discarded)."""
    return conn.broken or conn.closed or type(exc) is psycopg.OperationalError


def translate(exc: BaseException, conn: psycopg.AsyncConnection[Any], dsn: str) -> BaseException:
    """Map an error raised while using ``conn`` to what the caller should see."""
    if isinstance(exc, TEMPORARY_ERRORS):
        return exc
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)) and (
        is_connection_failure(exc, conn)
    ):
        return PostgreSQLConnectionLost(
            f"lost the connection to PostgreSQL at {describe_dsn(dsn)}: {exc}"
        )
    if isinstance(exc, errors.InsufficientPrivilege):
        return DataStoreError(
            f"PostgreSQL at {describe_dsn(dsn)} refused: {exc} (grant the role the privileges "
            f"it needs: CREATE on the database to create the store's schema, or USAGE on that "
            f"schema and SELECT, INSERT, UPDATE, DELETE on its tables)"
        )
    return exc


class ConnectionPool:
    """A small pool of autocommit connections that reconnects after the server restarts.

    Hand-rolled rather than ``psycopg_pool`` because a failed connection attempt must surface
    at once with its real cause (wrong password vs. server down), not as a pool timeout.
    When one connection turns out broken, every idle one is dropped too: after a server
    restart they are all dead.
    """

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int = 10,
        connect_timeout: float = 10,
        setup: str | None = None,
    ) -> None:
        self.dsn = dsn
        self._setup = setup
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.Semaphore(max_size)
        self._closed = False

    async def _new_connection(self) -> psycopg.AsyncConnection[Any]:
        conn = await connect(self.dsn, connect_timeout=max(1, round(self._connect_timeout)))
        if self._setup:
            try:
                await conn.execute(self._setup)
            except BaseException as exc:
                await self._discard(conn)
                if isinstance(exc, Exception):
                    raise translate(exc, conn, self.dsn) from exc
                raise
        return conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """Lend a connection; errors raised inside are translated (see :func:`translate`)."""
        if self._closed:
            raise RuntimeError("the PostgreSQL connection pool is closed")
        async with self._slots:
            conn = self._idle.pop() if self._idle else await self._new_connection()
            try:
                yield conn
            except BaseException as exc:
                if conn.broken or conn.closed or type(exc) is psycopg.OperationalError:
                    await self._discard(conn)
                    await self.drop_idle()
                elif conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    await self._discard(conn)
                else:
                    self._idle.append(conn)
                translated = translate(exc, conn, self.dsn)
                if translated is exc:
                    raise
                raise translated from exc
            else:
                if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    self._idle.append(conn)
                else:
                    await self._discard(conn)

    async def drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._discard(conn)

    @staticmethod
    async def _discard(conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            await conn.close()
        except Exception:  # already broken: nothing to close cleanly
            pass

    async def close(self) -> None:
        self._closed = True
        await self.drop_idle()
