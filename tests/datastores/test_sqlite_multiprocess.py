"""Several scheduler processes on one SQLite file, in real time: each fire is one job, and a
scheduler killed with SIGKILL loses nothing (its leases are taken over when they expire)."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from store_helpers import RecordingBroker

from nbsched import CoalescePolicy, ConflictPolicy, Schedule, Task
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.triggers.interval import IntervalTrigger

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_sqlite_worker.py")
INTERVAL = timedelta(milliseconds=500)
_US = timedelta(microseconds=1)


def seed(db_path: Path, count: int, start: datetime) -> None:
    store = SQLiteDataStore(db_path)
    store.start(RecordingBroker())
    store.add_task(Task(id="record", func="__main__:record", job_executor="async"))
    for i in range(count):
        trigger = IntervalTrigger(seconds=INTERVAL.total_seconds(), start_time=start)
        store.add_schedule(
            Schedule(
                id=f"s{i:03}",
                task_id="record",
                trigger=trigger,
                args=(f"s{i:03}",),
                coalesce=CoalescePolicy.all,
                job_result_expiration_time=timedelta(days=1),
                next_fire_time=trigger.next(),
            ),
            ConflictPolicy.exception,
        )
    store.stop()


def spawn(
    db_path: Path, log_path: Path, seconds: float, identity: str, lease: float
) -> subprocess.Popen:
    """Start a scheduler process; ``lease`` is its lease duration in seconds."""
    return subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            str(db_path),
            str(log_path),
            str(seconds),
            identity,
            str(lease),
        ],
        stderr=subprocess.PIPE,
    )


def account(db_path: Path, log_path: Path, start: datetime):
    """Return per schedule: the fires its jobs stood for (finished or pending, with repeats),
    the outcomes of finished ones, and how often its function ran."""
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        schedule_ids = [row[0] for row in conn.execute("SELECT id FROM schedules ORDER BY id")]
        fires: dict[str, Counter] = {sid: Counter() for sid in schedule_ids}
        outcomes: dict[str, Counter] = {sid: Counter() for sid in schedule_ids}
        schedulers: set[str] = set()
        for sid, fire, outcome, scheduler in conn.execute(
            "SELECT schedule_id, scheduled_fire_time, outcome, scheduler_id FROM job_results"
        ):
            fires[sid][fire] += 1
            outcomes[sid][outcome] += 1
            schedulers.add(scheduler)
        for sid, fire in conn.execute("SELECT schedule_id, scheduled_fire_time FROM jobs"):
            fires[sid][fire] += 1
    finally:
        conn.close()
    runs = Counter(log_path.read_text().split()) if log_path.exists() else Counter()
    start_us = (start - datetime(1970, 1, 1, tzinfo=timezone.utc)) // _US
    step = INTERVAL // _US
    gaps = {}
    for sid, counter in fires.items():
        if counter:
            expected = set(range(start_us, max(counter) + 1, step))
            if set(counter) != expected:
                gaps[sid] = sorted(expected - set(counter))
    return schedule_ids, fires, outcomes, runs, schedulers, gaps


def test_three_processes_run_each_fire_exactly_once(tmp_path):
    db_path, log_path = tmp_path / "shared.db", tmp_path / "runs.log"
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
    seed(db_path, 100, start)
    # Exactly once holds while a scheduler handles what it acquired within its lease: the
    # default 30 s lease; here 10 s, far above what a batch takes even on a loaded machine.
    workers = [spawn(db_path, log_path, 5.0, f"worker-{i}", 10.0) for i in range(3)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr.decode()[-3000:]

    schedule_ids, fires, outcomes, runs, schedulers, gaps = account(db_path, log_path, start)
    assert len(schedule_ids) == 100
    assert gaps == {}
    duplicated = {sid: [f for f, n in c.items() if n > 1] for sid, c in fires.items()}
    assert {sid: f for sid, f in duplicated.items() if f} == {}
    total_fires = sum(len(c) for c in fires.values())
    assert total_fires >= 100 * 4  # about 3 s of 2 fires per second each
    for sid in schedule_ids:
        # every finished job ran its function exactly once (a job cancelled at shutdown may
        # have run before the cancellation landed)
        assert (
            outcomes[sid]["success"]
            <= runs[sid]
            <= outcomes[sid]["success"] + outcomes[sid]["cancelled"]
        ), sid
    assert sum(runs.values()) >= total_fires - 100 * 3  # only jobs pending at shutdown unrun
    assert schedulers == {"worker-0", "worker-1", "worker-2"}  # the work was shared


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    db_path, log_path = tmp_path / "shared.db", tmp_path / "runs.log"
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    seed(db_path, 20, start)
    rng = random.Random(20260101)
    for i in range(20):
        worker = spawn(db_path, log_path, 60.0, f"victim-{i}", 1.0)
        time.sleep(rng.uniform(0.3, 1.2))
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL
    # a survivor takes over the expired leases (1 s) and catches up
    survivor = spawn(db_path, log_path, 3.0, "survivor", 1.0)
    _, stderr = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, stderr.decode()[-3000:]

    store = SQLiteDataStore(db_path)  # the file opens
    store.start(RecordingBroker())
    assert len(store.get_schedules()) == 20  # no schedule lost
    store.stop()
    schedule_ids, fires, outcomes, runs, schedulers, gaps = account(db_path, log_path, start)
    assert gaps == {}  # every fire became a job (at least once)
    assert "survivor" in schedulers
    for sid in schedule_ids:
        finished = sum(outcomes[sid].values())
        # at-least-once: a job killed mid-run is run again after its lease expires
        assert runs[sid] >= outcomes[sid]["success"] > 0
        assert finished >= len(fires[sid]) - 2 * 7  # the last ones may still be pending
