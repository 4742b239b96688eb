"""``nbsched check FILE``: SQLite's integrity check plus every row decoded, on real files that are
never modified (same bytes, same mtime)."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from nbsched import ConflictPolicy, Job, JobOutcome, JobResult, Schedule, Task
from nbsched._cli import main
from nbsched.abc import EventBroker
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.triggers import CronTrigger, IntervalTrigger

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class _Quiet(EventBroker):
    def start(self) -> None:
        pass

    def stop(self, *, force: bool = False) -> None:
        pass

    def publish(self, event: Any) -> None:
        pass

    def publish_local(self, event: Any) -> None:
        pass

    def subscribe(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def _fill(store: SQLiteDataStore) -> dict[str, Any]:
    store.add_task(Task(id="task", func="os.path:join", metadata={"owner": "me"}))
    for n in range(3):
        store.add_schedule(
            Schedule(
                id=f"s{n}",
                task_id="task",
                trigger=IntervalTrigger(minutes=n + 1, start_time=T0),
                args=(n,),
                next_fire_time=T0,
            ),
            ConflictPolicy.exception,
        )
    store.add_schedule(
        Schedule(id="cron", task_id="task", trigger=CronTrigger(hour=9), next_fire_time=T0),
        ConflictPolicy.exception,
    )
    jobs = [Job(task_id="task", args=(n,), created_at=T0 + timedelta(seconds=n)) for n in range(3)]
    for job in jobs:
        store.add_job(job)
    finished = Job(task_id="task", result_expiration_time=timedelta(days=1), created_at=T0)
    store.add_job(finished)
    (acquired,) = [
        j for j in store.acquire_jobs("s", timedelta(seconds=30), None, T0) if j.id == finished.id
    ]
    store.release_job(
        "s",
        acquired,
        JobResult(
            job_id=finished.id,
            outcome=JobOutcome.error,
            finished_at=T0,
            expires_at=T0 + timedelta(days=1),
            exception=ValueError("boom"),
        ),
    )
    return {"jobs": jobs, "result": finished}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    path = tmp_path / "schedules.db"
    store = SQLiteDataStore(path)
    store.start(_Quiet())
    made = _fill(store)
    store.stop()
    yield path, made


def _snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of the file and of its -wal journal. (The -shm file is shared memory
    for the readers and writers of a file in use: a reader marks in it where it reads.)"""
    found = {}
    for suffix in ("", "-wal"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            found[suffix] = (side.read_bytes(), side.stat().st_mtime_ns)
    return found


def _raw(path: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute(sql, params).rowcount == 1
        conn.commit()
    finally:
        conn.close()


def test_a_clean_file_passes_and_is_left_untouched(db) -> None:
    path, _ = db
    before = _snapshot(path)
    status, out, err = run("check", str(path))
    assert (status, err) == (0, "")
    assert "SQLite integrity check: ok" in out
    assert "tasks: 1 row, all readable" in out
    assert "schedules: 4 rows, all readable" in out
    assert "jobs: 3 rows, all readable" in out
    assert "job results: 1 row, all readable" in out
    assert out.rstrip().endswith("no problems found")
    assert _snapshot(path) == before
    assert not Path(f"{path}-wal").exists()
    assert not Path(f"{path}-shm").exists()


def test_a_file_in_use_is_checked_with_its_journal_and_left_untouched(tmp_path: Path) -> None:
    """A scheduler has the file open: committed rows still in the -wal journal are checked."""
    path = tmp_path / "live.db"
    store = SQLiteDataStore(path)
    store.start(_Quiet())
    try:
        _fill(store)
        assert Path(f"{path}-wal").stat().st_size > 0
        before = _snapshot(path)
        status, out, _ = run("check", str(path))
        assert status == 0
        assert "schedules: 4 rows, all readable" in out
        assert _snapshot(path) == before
    finally:
        store.stop()


def test_bad_rows_are_each_named_with_the_reason(db) -> None:
    path, made = db
    _raw(path, "UPDATE schedules SET trigger = CAST(? AS TEXT) WHERE id = 's1'", (b"{\xff",))
    _raw(path, "UPDATE schedules SET coalesce = 'sometimes' WHERE id = 'cron'")
    _raw(
        path,
        "UPDATE jobs SET metadata = '[]' WHERE id = ?",
        (str(made["jobs"][2].id),),
    )
    _raw(
        path,
        "UPDATE job_results SET return_value = ? WHERE job_id = ?",
        (b"{broken", str(made["result"].id)),
    )
    _raw(path, "UPDATE tasks SET metadata = CAST(? AS TEXT) WHERE id = 'task'", (b"\xc3",))
    before = _snapshot(path)

    status, out, err = run("check", str(path))
    assert status == 1
    assert "SQLite integrity check: ok" in out
    assert "schedules: 4 rows, 2 bad" in out
    assert "schedule 's1': column 'trigger' holds b'{\\xff'" in out
    assert "schedule 'cron': column 'coalesce' holds 'sometimes'" in out
    assert f"job '{made['jobs'][2].id}': column 'metadata'" in out
    assert f"job result '{made['result'].id}': column 'return_value'" in out
    assert "task 'task': column 'metadata'" in out
    assert out.rstrip().endswith("5 problems found")
    assert _snapshot(path) == before


def test_a_structurally_damaged_file_fails_the_integrity_check(db) -> None:
    path, _ = db
    conn = sqlite3.connect(path)
    (root,) = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'schedules' "
        "AND sql IS NOT NULL ORDER BY name LIMIT 1"
    ).fetchone()
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    # scramble the index's cell content area (its cells' keys), keeping the page header intact
    for offset in range(start + page_size - 200, start + page_size):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    before = _snapshot(path)

    status, out, _ = run("check", str(path))
    assert status == 1
    assert "SQLite integrity check: FAILED" in out
    assert _snapshot(path) == before


def test_a_custom_trigger_needs_its_module_named(db, tmp_path: Path, monkeypatch) -> None:
    """Checking imports nothing a row names; ``--import MODULE`` imports what the user names."""
    path, _ = db
    name = f"nbsched_check_triggers_{uuid.uuid4().hex[:8]}"
    source = "from nbsched.triggers import IntervalTrigger\n\n\nclass Mine(IntervalTrigger):\n"
    (tmp_path / f"{name}.py").write_text(source + "    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    state = '{"type":"%s:Mine","state":%s}'
    conn = sqlite3.connect(path)
    (interval_json,) = conn.execute("SELECT trigger FROM schedules WHERE id = 's0'").fetchone()
    conn.close()
    import json

    inner = json.dumps(json.loads(interval_json)["state"])
    _raw(path, "UPDATE schedules SET trigger = ? WHERE id = 's0'", (state % (name, inner),))
    try:
        status, out, _ = run("check", str(path))
        assert status == 1
        assert f"module {name!r} is not imported" in out
        assert name not in sys.modules

        status, out, _ = run("check", str(path), "--import", name)
        assert status == 0, out
        assert "schedules: 4 rows, all readable" in out
    finally:
        sys.modules.pop(name, None)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist"),
        (b"id,name\n1,x\n", "not an SQLite database"),
        (b"SQLite format 3\x00" + b"\x00" * 20, "truncated"),
    ],
)
def test_a_file_that_cannot_be_checked_exits_2(tmp_path: Path, content, message) -> None:
    path = tmp_path / "thing.db"
    if content is not None:
        path.write_bytes(content)
    status, out, err = run("check", str(path))
    assert status == 2
    assert message in err
    if content is not None:
        assert path.read_bytes() == content


def test_another_programs_database_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = _snapshot(path)
    status, _, err = run("check", str(path))
    assert status == 2
    assert "not an nbsched data store" in err
    assert _snapshot(path) == before


def test_pickled_values_are_never_unpickled(tmp_path: Path) -> None:
    from nbsched.serializers import PickleSerializer

    marker = tmp_path / "unpickled"
    path = tmp_path / "pickled.db"
    store = SQLiteDataStore(path, serializer=PickleSerializer())
    store.start(_Quiet())
    store.add_task(Task(id="task", func="os.path:join"))
    store.add_schedule(
        Schedule(id="p", task_id="task", trigger=IntervalTrigger(minutes=1), args=(1,)),
        ConflictPolicy.exception,
    )
    store.stop()
    # what unpickling this would do: create the marker file (pickle.loads(payload) does)
    payload = b"\x80\x04cbuiltins\nopen\n(V" + str(marker).encode() + b"\nVw\ntR."
    _raw(path, "UPDATE schedules SET kwargs = ? WHERE id = 'p'", (payload,))

    status, out, _ = run("check", str(path))
    assert status == 0, out
    assert "schedules: 1 row, all readable" in out
    assert "1 of them hold pickled values" in out
    assert not marker.exists()


def test_a_read_only_file_can_be_checked(db) -> None:
    path, _ = db
    os.chmod(path, 0o400)
    before = _snapshot(path)
    status, out, _ = run("check", str(path))
    assert status == 0, out
    assert _snapshot(path) == before


def test_the_real_command(db) -> None:
    path, _ = db
    _raw(path, "UPDATE schedules SET trigger = CAST(? AS TEXT) WHERE id = 's2'", (b"\xff",))
    before = _snapshot(path)
    done = subprocess.run(
        [sys.executable, "-m", "nbsched", "check", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "schedule 's2': column 'trigger'" in done.stdout
    assert _snapshot(path) == before
