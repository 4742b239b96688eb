"""A scheduler process for the multi-process SQLite tests (run as a script, not collected).

    python _sqlite_worker.py DB_PATH LOG_PATH SECONDS IDENTITY LEASE_SECONDS

Runs an AsyncScheduler on the shared file for SECONDS, then stops cleanly. The task the tests
configure is ``__main__:record`` with the ``async`` executor: it appends one line per run to
LOG_PATH (one ``write`` on an O_APPEND descriptor, so lines from several processes never mix).
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

from nbsched import AsyncScheduler
from nbsched.datastores.sqlite import SQLiteDataStore

_log_fd = -1


async def record(schedule_id: str) -> None:
    os.write(_log_fd, f"{schedule_id}\n".encode())


async def main(db_path: str, seconds: float, identity: str, lease: float) -> None:
    store = SQLiteDataStore(db_path, poll_interval=0.05)
    scheduler = AsyncScheduler(store, identity=identity, lease_duration=timedelta(seconds=lease))
    async with scheduler:
        asyncio.get_running_loop().call_later(seconds, scheduler.request_stop)
        await scheduler.run_until_stopped()


if __name__ == "__main__":
    db, log, duration, name, lease_seconds = sys.argv[1:6]
    _log_fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    asyncio.run(main(db, float(duration), name, float(lease_seconds)))
