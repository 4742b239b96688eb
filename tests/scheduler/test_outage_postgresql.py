"""A scheduler on the real PostgreSQL store rides out a server that is gone for minutes.

The server is shared with other tests, so it is not stopped: the store connects through a small
TCP proxy in the test, which is cut (listening socket closed, every connection reset: what
clients see when the server goes down) and later restored. Time on the scheduler's side is a
FakeClock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from scheduler_helpers import START, Recorder, seconds

from nbsched import AsyncScheduler, DataStoreUnavailableError, FakeClock, RunState
from nbsched.datastores.postgresql import PostgreSQLDataStore
from nbsched.events import DataStoreRecovered, DataStoreUnavailable, SchedulerStopped
from nbsched.triggers.interval import IntervalTrigger

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


class CuttableProxy:
    """Forwards TCP connections from a local port to the server until cut."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.listen_port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pipe = asyncio.ensure_future(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.transport.abort()
            self._writers.discard(sink)

    async def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()


@pytest.fixture
async def proxy(postgresql_dsn: str) -> AsyncIterator[CuttableProxy]:
    params = conninfo_to_dict(postgresql_dsn)
    proxy = CuttableProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


RUNS: list[object] = []


async def record() -> None:
    RUNS.append(None)


async def test_a_server_gone_for_minutes(postgresql_dsn: str, proxy: CuttableProxy) -> None:
    RUNS.clear()
    clock = FakeClock(START)
    params = conninfo_to_dict(postgresql_dsn)
    params.update(host="127.0.0.1", port=str(proxy.listen_port), connect_timeout="5")
    schema = f"outage_{uuid.uuid4().hex[:12]}"
    store = PostgreSQLDataStore(make_conninfo("", **params), schema=schema)
    recorder = Recorder()
    async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
        scheduler.subscribe(recorder)
        await scheduler.add_schedule(
            record, IntervalTrigger(seconds=10, start_time=START + seconds(10)), id="every-10s"
        )
        scheduler.start_in_background()
        await clock.advance(5)
        await proxy.cut()
        await clock.advance(175)  # down from 5 s to 180 s: three minutes
        assert scheduler.state is RunState.started
        (unavailable,) = recorder.of(DataStoreUnavailable)
        assert unavailable.exception.startswith("PostgreSQLConnectionLost: ")
        assert f"127.0.0.1:{proxy.listen_port}" in unavailable.exception
        assert START + seconds(5) < unavailable.since <= START + seconds(6)  # polled each 1 s
        assert scheduler.store_unavailable_since == unavailable.since
        assert RUNS == []
        with pytest.raises(DataStoreUnavailableError, match="PostgreSQLDataStore") as info:
            await scheduler.get_schedules()
        assert "PostgreSQLConnectionLost" in str(info.value)
        await proxy.start()  # the server is back
        await clock.advance(5)
        assert len(recorder.of(DataStoreRecovered)) == 1
        assert scheduler.store_unavailable_since is None
        assert len(RUNS) == 1  # the 17 fires due while it was down, coalesced (latest)
        await clock.set(START + seconds(200))  # then on schedule: 190 s, 200 s
        assert len(RUNS) == 3
        assert [s.id for s in await scheduler.get_schedules()] == ["every-10s"]
        assert recorder.of(SchedulerStopped) == []
        await scheduler.stop()
