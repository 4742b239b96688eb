"""A scheduler on a real SQLite file survives the file's bad day: another process holding the
write lock for longer than the retry window, and a full disk (a small tmpfs, and a file size
limit). Time on the scheduler's side is a FakeClock; the store, the lock and the disk are real.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from scheduler_helpers import START, Recorder, seconds

from nbsched import AsyncScheduler, DataStoreUnavailableError, FakeClock, RunState
from nbsched.datastores.sqlite import SQLiteBusyError, SQLiteDataStore, SQLiteDiskFullError
from nbsched.events import DataStoreRecovered, DataStoreUnavailable, SchedulerStopped
from nbsched.triggers.interval import IntervalTrigger

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

_HOLD_LOCK = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute(sys.argv[2])
    print("locked", flush=True)
    sys.stdin.readline()  # hold the lock until told to let go
    conn.execute("COMMIT")
    """
)


class LockHolder:
    """Another process holding the file's write lock, as a ``sqlite3`` shell in a transaction
    or a backup would."""

    def __init__(self, path: Path, begin: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(path), begin],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == "locked\n"

    def release(self) -> None:
        self.process.communicate("\n", timeout=30)  # (closes the pipes too)
        assert self.process.returncode == 0


RUNS: list[datetime] = []  # when record() ran (by the test's clock)
CLOCK = FakeClock(START)


async def record() -> None:
    RUNS.append(CLOCK.now())


@pytest.fixture
def clock() -> FakeClock:
    global CLOCK
    CLOCK = FakeClock(START)
    RUNS.clear()
    return CLOCK


@pytest.mark.parametrize("begin", ["BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"])
async def test_a_write_lock_held_by_another_process_past_the_retry_window(
    tmp_path: Path, begin: str, clock: FakeClock
) -> None:
    path = tmp_path / "schedules.db"
    recorder = Recorder()
    runs = RUNS
    scheduler = AsyncScheduler(SQLiteDataStore(path), clock=clock, retry_max_time=30)
    async with scheduler:
        scheduler.subscribe(recorder)
        await scheduler.add_schedule(
            record, IntervalTrigger(seconds=10, start_time=START + seconds(10)), id="every-10s"
        )
        scheduler.start_in_background()
        await clock.advance(5)
        holder = LockHolder(path, begin)
        try:
            await clock.advance(117)  # locked from 5 s to 122 s: four times the window
            assert scheduler.state is RunState.started
            (unavailable,) = recorder.of(DataStoreUnavailable)
            # since the first look at the file after it was locked (the store is polled each 1 s)
            assert START + seconds(5) < unavailable.since <= START + seconds(6)
            assert unavailable.exception.startswith("SQLiteBusyError: ")
            assert "database is locked" in unavailable.exception
            assert str(path) in unavailable.store
            assert scheduler.store_unavailable_since == unavailable.since
            assert runs == []
            # a call made now fails at once, naming the file and the condition
            with pytest.raises(DataStoreUnavailableError) as info:
                await scheduler.pause_schedule("every-10s")
            assert str(path) in str(info.value) and "locked" in str(info.value)
            assert isinstance(info.value.__cause__, SQLiteBusyError)
        finally:
            holder.release()
        await clock.advance(5)  # the lock is gone: the next attempt (within 5 s) works
        assert [type(e) for e in recorder.of(DataStoreRecovered)] == [DataStoreRecovered]
        assert scheduler.store_unavailable_since is None
        assert len(runs) == 1  # the eleven fires missed in the outage, coalesced (latest)
        await clock.set(START + seconds(150))
        assert runs[1:] == [START + seconds(130), START + seconds(140), START + seconds(150)]
        assert recorder.of(SchedulerStopped) == []
        await scheduler.stop()


# --- a full disk ---------------------------------------------------------------------------------


def _fill(directory: Path) -> Path:
    """Write a file until the file system is full; return it."""
    ballast = directory / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == 28  # ENOSPC
    try:
        while True:  # the last few bytes
            os.write(fd, b"\0")
    except OSError:
        pass
    os.close(fd)
    return ballast


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of its own (root only; the file size limit test below runs everywhere)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; test_a_file_size_limit covers a full disk")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "nbsched-test", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip()}); see test_a_file_size_limit"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


async def test_a_full_disk_until_space_is_freed(small_filesystem: Path, clock: FakeClock) -> None:
    path = small_filesystem / "schedules.db"
    recorder = Recorder()
    runs = RUNS
    scheduler = AsyncScheduler(SQLiteDataStore(path), clock=clock, retry_max_time=30)
    async with scheduler:
        scheduler.subscribe(recorder)
        await scheduler.add_schedule(
            record, IntervalTrigger(seconds=10, start_time=START + seconds(10)), id="every-10s"
        )
        scheduler.start_in_background()
        await clock.advance(5)
        ballast = _fill(small_filesystem)
        await clock.advance(117)
        assert scheduler.state is RunState.started
        (unavailable,) = recorder.of(DataStoreUnavailable)
        assert unavailable.exception.startswith("SQLiteDiskFullError: ")
        assert "disk is full" in unavailable.exception
        assert scheduler.store_unavailable_reason == unavailable.exception
        assert runs == []
        with pytest.raises(DataStoreUnavailableError, match="disk is full") as info:
            await scheduler.add_schedule(record, IntervalTrigger(hours=1), id="new")
        assert isinstance(info.value.__cause__, SQLiteDiskFullError)
        ballast.unlink()
        await clock.advance(5)
        assert len(recorder.of(DataStoreRecovered)) == 1
        assert len(runs) == 1
        assert [s.id for s in await scheduler.get_schedules()] == ["every-10s"]
        assert await scheduler.add_schedule(record, IntervalTrigger(hours=1), id="new") == "new"
        assert recorder.of(SchedulerStopped) == []
        await scheduler.stop()


_FSIZE_WORKER = textwrap.dedent(
    """
    import asyncio, json, os, resource, signal, sys
    from datetime import datetime, timedelta, timezone
    from nbsched import AsyncScheduler, FakeClock
    from nbsched.datastores.sqlite import SQLiteDataStore
    from nbsched.triggers.interval import IntervalTrigger

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    directory = sys.argv[1]
    START = datetime(2026, 1, 1, tzinfo=timezone.utc)
    report = {"events": [], "runs": []}

    async def record():
        report["runs"].append(clock.now().isoformat())

    def on_event(event):
        report["events"].append(
            [type(event).__name__, getattr(event, "exception", None), event.timestamp.isoformat()]
        )

    async def main():
        store = SQLiteDataStore(os.path.join(directory, "schedules.db"))
        async with AsyncScheduler(store, clock=clock, retry_max_time=30) as scheduler:
            scheduler.subscribe(on_event)
            await scheduler.add_schedule(
                record, IntervalTrigger(seconds=10, start_time=START + timedelta(seconds=10))
            )
            scheduler.start_in_background()
            await clock.advance(5)
            sizes = [os.path.getsize(os.path.join(directory, n)) for n in os.listdir(directory)]
            soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (max(sizes), hard))  # no file may grow
            await clock.advance(117)
            report["state_in_outage"] = scheduler.state.name
            report["unavailable_since"] = str(scheduler.store_unavailable_since)
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            await clock.advance(5)
            report["unavailable_after"] = str(scheduler.store_unavailable_since)
            report["state_after"] = scheduler.state.name
            await scheduler.stop()

    clock = FakeClock(START)
    asyncio.run(main())
    print(json.dumps(report))
    """
)


def test_a_file_size_limit_until_it_is_lifted(tmp_path: Path) -> None:
    """A full disk without root: a process whose files may not grow (RLIMIT_FSIZE) gets the
    same refusal from the kernel a full disk gives it, until the limit is lifted."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _FSIZE_WORKER, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    names = [name for name, _exc, _at in report["events"]]
    assert "SchedulerStopped" in names and names.count("SchedulerStopped") == 1
    assert names[-1] == "SchedulerStopped"  # only at the end, when asked to stop
    (unavailable,) = [e for e in report["events"] if e[0] == "DataStoreUnavailable"]
    assert unavailable[1].startswith("SQLiteDiskFullError: ")
    assert "file size" in unavailable[1]
    assert names.count("DataStoreRecovered") == 1
    assert report["state_in_outage"] == "started"
    # the first write after the limit: the 10 s fire (a look that changes nothing writes nothing)
    assert report["unavailable_since"] == "2026-01-01 00:00:10+00:00"
    assert report["unavailable_after"] == "None"
    assert report["state_after"] == "started"
    assert len(report["runs"]) == 1  # what fell due in the outage, coalesced
