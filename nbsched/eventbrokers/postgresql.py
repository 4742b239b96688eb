"""An event broker spanning processes and machines, on PostgreSQL's ``LISTEN``/``NOTIFY``.

Needs the ``postgres`` extra: ``pip install nbsched[postgres]``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any
from uuid import uuid4

import psycopg
from psycopg import sql

from .._cancel_scopes import shielded_from_cancel_scopes
from .._exceptions import DataStoreError, DeserializationError
from ..abc import AsyncEventBroker, EventCallback, Subscription
from ..datastores._postgresql_connect import connect, describe_dsn
from ..events import Event
from ._event_json import event_from_json, event_to_json
from .local import LocalEventBroker

__all__ = ["PostgreSQLEventBroker"]

_logger = logging.getLogger(__name__)

# NOTIFY refuses payloads of 8000 bytes or more; stay well below, leaving room for the header.
_MAX_PAYLOAD_BYTES = 7900
_CHUNK_BYTES = 7800
# How long the pieces of a chunked event wait for the rest before being forgotten.
_CHUNK_TIMEOUT = 60.0
# Events sent together share a payload, separated by a character JSON text never contains raw.
_SEPARATOR = "\x1e"
_RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)


def _split_utf8(text: str, max_bytes: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_bytes`` UTF-8 bytes, never inside a char."""
    data = text.encode()
    pieces = []
    start = 0
    while start < len(data):
        end = min(start + max_bytes, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        pieces.append(data[start:end].decode())
        start = end
    return pieces


class PostgreSQLEventBroker(AsyncEventBroker):
    """Delivers events to subscribers in every process connected to the same PostgreSQL
    database, through ``LISTEN``/``NOTIFY`` on ``channel``.

    * :meth:`publish` delivers at once to this process's subscribers and sends the event to the
      other processes; each process gets each event exactly once (its own events are not
      echoed back to it).
    * Events are sent as JSON; events published in quick succession share one ``NOTIFY``.
      One too large for a ``NOTIFY`` payload (8000 bytes) is split into pieces sent in one
      transaction, which PostgreSQL delivers together and in order.
    * Connection loss: the broker reconnects with backoff and ``LISTEN``\\ s again; events
      published here meanwhile are queued and sent once the server is back. Events that
      other processes sent while this one was disconnected are not replayed (``NOTIFY`` keeps
      no history); the data store, not the broker, is the source of truth.
    * A wrong password, missing database or role fails :meth:`start` at once with a clear
      :class:`~nbsched.DataStoreError`.

    :param dsn: a libpq connection string or URL, e.g. ``postgresql://user@host/dbname``
    :param channel: the ``NOTIFY`` channel; schedulers that should see each other's events
        use the same one

    Example::

        broker = PostgreSQLEventBroker("postgresql://scheduler@db.example.com/jobs")
        store = PostgreSQLDataStore("postgresql://scheduler@db.example.com/jobs")
        async with AsyncScheduler(store, broker) as scheduler:
            ...
    """

    def __init__(self, dsn: str, channel: str = "nbsched") -> None:
        if not isinstance(dsn, str) or not dsn:
            raise TypeError(f"dsn: expected a PostgreSQL connection string, got {dsn!r}")
        if not isinstance(channel, str) or not channel or len(channel.encode()) > 63:
            raise ValueError(f"channel: {channel!r} must be a non-empty name of at most 63 bytes")
        self.dsn = dsn
        self.channel = channel
        self._origin = uuid4().hex
        self._local = LocalEventBroker()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._chunks: dict[str, tuple[float, list[str | None]]] = {}
        self._listen_task: asyncio.Task[None] | None = None
        self._send_task: asyncio.Task[None] | None = None
        self._listen_conn: psycopg.AsyncConnection[Any] | None = None
        self._send_conn: psycopg.AsyncConnection[Any] | None = None
        self._stopping = False
        #: How many times the listener re-connected after losing its connection.
        self.reconnections = 0
        #: Set while the listener is connected and ``LISTEN``\\ ing.
        self.listening = asyncio.Event()

    def __repr__(self) -> str:
        return f"PostgreSQLEventBroker({describe_dsn(self.dsn)!r}, channel={self.channel!r})"

    # --- lifecycle ---

    async def start(self) -> None:
        """Connect, ``LISTEN``, and start the listening and sending tasks.

        Raises :class:`~nbsched.DataStoreError` if the server refuses the connection for
        good (wrong password, missing database or role).
        """
        self._stopping = False
        self._listen_conn = await self._connect_and_listen()
        self._send_conn = await connect(self.dsn)
        self._listen_task = asyncio.create_task(self._listen_loop(), name=f"{self!r} listener")
        self._send_task = asyncio.create_task(self._send_loop(), name=f"{self!r} sender")

    async def stop(self, *, force: bool = False) -> None:
        """Stop listening; unless ``force``, first send the events still queued (waiting at
        most 5 seconds for the server). Inside a cancelled anyio cancel scope it still closes
        everything before the cancellation goes on."""
        with shielded_from_cancel_scopes():
            self._stopping = True
            if self._send_task is not None:
                if not force:
                    try:
                        await asyncio.wait_for(self._outbox.join(), 5)
                    except asyncio.TimeoutError:
                        _logger.warning(
                            "%r stopped with %d events not sent", self, self._outbox.qsize()
                        )
                self._send_task.cancel()
            if self._listen_task is not None:
                self._listen_task.cancel()
            for task in (self._send_task, self._listen_task):
                if task is not None:
                    await asyncio.gather(task, return_exceptions=True)
            self._send_task = self._listen_task = None
            for conn in (self._listen_conn, self._send_conn):
                if conn is not None:
                    try:
                        await conn.close()
                    except Exception:  # already gone
                        pass
            self._listen_conn = self._send_conn = None
            self.listening.clear()
            await self._local.stop(force=force)

    # --- subscribing and publishing ---

    def subscribe(
        self,
        callback: EventCallback,
        event_types: Iterable[type[Event]] | None = None,
        *,
        one_shot: bool = False,
    ) -> Subscription:
        return self._local.subscribe(callback, event_types, one_shot=one_shot)

    async def publish(self, event: Event) -> None:
        """Deliver ``event`` here at once and queue it for every other process."""
        text = event_to_json(event)  # fails here, before local delivery, if it can't be sent
        self._local.publish_sync(event)
        self._outbox.put_nowait(text)

    async def publish_local(self, event: Event) -> None:
        self._local.publish_sync(event)

    # --- sending ---

    def _payloads(self, texts: list[str]) -> list[str]:
        """Pack events into as few ``NOTIFY`` payloads as fit; split one too big for any."""
        payloads: list[str] = []
        batch: list[str] = []
        size = 0
        for text in texts:
            length = len(text.encode())
            if batch and size + length + 1 > _MAX_PAYLOAD_BYTES:
                payloads.extend(self._framed(_SEPARATOR.join(batch)))
                batch, size = [], 0
            batch.append(text)
            size += length + 1
        if batch:
            payloads.extend(self._framed(_SEPARATOR.join(batch)))
        return payloads

    def _framed(self, text: str) -> list[str]:
        if len(text.encode()) < _MAX_PAYLOAD_BYTES:
            return [f"{self._origin}:e:{text}"]
        pieces = _split_utf8(text, _CHUNK_BYTES)
        message_id = uuid4().hex
        return [
            f"{self._origin}:c:{message_id}:{index}:{len(pieces)}:{piece}"
            for index, piece in enumerate(pieces)
        ]

    async def _send_loop(self) -> None:
        while True:
            texts = [await self._outbox.get()]
            while not self._outbox.empty() and len(texts) < 1000:
                texts.append(self._outbox.get_nowait())
            await self._send(self._payloads(texts))
            for _ in texts:
                self._outbox.task_done()

    async def _send(self, payloads: list[str]) -> None:
        """Send in one transaction (so chunks arrive together), retrying until it works."""
        query = "SELECT pg_notify(%s, %s)"
        attempt = 0
        while True:
            try:
                if self._send_conn is None or self._send_conn.closed:
                    self._send_conn = await connect(self.dsn)
                conn = self._send_conn
                if len(payloads) == 1:
                    await conn.execute(query, (self.channel, payloads[0]))
                else:
                    async with conn.transaction():
                        async with conn.cursor() as cursor:
                            await cursor.executemany(
                                query, [(self.channel, payload) for payload in payloads]
                            )
                return
            except (psycopg.OperationalError, psycopg.InterfaceError, DataStoreError) as exc:
                await self._close_quietly(self._send_conn)
                self._send_conn = None
                delay = _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]
                attempt += 1
                log = _logger.warning if attempt == 1 or attempt % 20 == 0 else _logger.debug
                log("%r could not send events (%s); retrying in %.2f s", self, exc, delay)
                await asyncio.sleep(delay)

    # --- listening ---

    async def _connect_and_listen(self) -> psycopg.AsyncConnection[Any]:
        conn = await connect(self.dsn)
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except BaseException:
            await self._close_quietly(conn)
            raise
        self.listening.set()
        return conn

    async def _listen_loop(self) -> None:
        attempt = 0
        while True:
            try:
                if self._listen_conn is None:
                    self._listen_conn = await self._connect_and_listen()
                    self.reconnections += 1
                    _logger.info("%r listening again after a lost connection", self)
                attempt = 0
                async for notify in self._listen_conn.notifies():
                    self._receive(notify.payload)
            except asyncio.CancelledError:
                raise
            except (psycopg.OperationalError, psycopg.InterfaceError, DataStoreError) as exc:
                self.listening.clear()
                await self._close_quietly(self._listen_conn)
                self._listen_conn = None
                self._chunks.clear()
                if self._stopping:
                    return
                delay = _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]
                attempt += 1
                log = _logger.warning if attempt == 1 or attempt % 20 == 0 else _logger.debug
                log("%r lost its connection (%s); reconnecting in %.2f s", self, exc, delay)
                await asyncio.sleep(delay)

    def _receive(self, payload: str) -> None:
        origin, _, rest = payload.partition(":")
        if origin == self._origin:
            return  # published here: already delivered locally
        kind, _, rest = rest.partition(":")
        if kind == "c":
            complete = self._add_chunk(rest)
            if complete is None:
                return
            rest = complete
        elif kind != "e":
            _logger.warning("%r ignored a notification it does not understand", self)
            return
        for text in rest.split(_SEPARATOR):
            try:
                event = event_from_json(text)
            except DeserializationError as exc:
                _logger.warning("%r could not read an event: %s", self, exc)
                continue
            self._local.publish_sync(event)

    def _add_chunk(self, rest: str) -> str | None:
        message_id, index_text, count_text, piece = rest.split(":", 3)
        now = time.monotonic()
        index, count = int(index_text), int(count_text)
        received, pieces = self._chunks.setdefault(message_id, (now, [None] * count))
        pieces[index] = piece
        if any(p is None for p in pieces):
            for stale in [k for k, (t, _) in self._chunks.items() if now - t > _CHUNK_TIMEOUT]:
                del self._chunks[stale]
            return None
        del self._chunks[message_id]
        return "".join(pieces)  # type: ignore[arg-type]

    @staticmethod
    async def _close_quietly(conn: psycopg.AsyncConnection[Any] | None) -> None:
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # already broken
                pass
