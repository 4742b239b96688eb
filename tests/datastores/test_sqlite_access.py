"""The SQLite store says what is wrong when it cannot use a file: another user's file, a
directory it cannot create the WAL files in, a read-only mount; never "corrupt" for a good file.

Each case is produced for real, in a subprocess. Permission bits do not stop root (and the
tests may run as root, as CI does), so as root the subprocess runs in a new user namespace
(``unshare --user``), where root's override of file permissions does not apply; the read-only
mount is a read-only bind mount in a new mount namespace (``unshare -rm``). Where the machine
cannot do that, the test is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import RecordingBroker

from nbsched import ConflictPolicy, Schedule
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.triggers.interval import IntervalTrigger

OTHER_UID = 1  # "daemon" on Debian: any user but the one running the test

# prints the store's error when it starts, or OPENED
OPEN_STORE = """
import sys
from nbsched import DataStoreError
from nbsched.abc import EventBroker
from nbsched.datastores.sqlite import SQLiteDataStore

class Broker(EventBroker):
    def start(self): pass
    def stop(self, *, force=False): pass
    def publish(self, event): pass
    def publish_local(self, event): pass
    def subscribe(self, *args, **kwargs): raise NotImplementedError

store = SQLiteDataStore(sys.argv[1])
try:
    store.start(Broker())
except DataStoreError as exc:
    print(exc)
else:
    print("OPENED", len(store.get_schedules()))
    store.stop()
"""


def make_good_store(path: Path) -> bytes:
    store = SQLiteDataStore(path)
    store.start(RecordingBroker())
    trigger = IntervalTrigger(minutes=1)
    store.add_schedule(
        Schedule(id="keep-me", task_id="t", trigger=trigger, next_fire_time=trigger.next()),
        ConflictPolicy.exception,
    )
    store.stop()
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    return path.read_bytes()


def _unshare(*options: str) -> list[str]:
    """The command prefix for a new namespace, or a skip saying why there is none."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's 'unshare' to run the check without root's file access")
    probe = subprocess.run(["unshare", *options, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(
            f"this machine does not allow 'unshare {' '.join(options)}' "
            f"({probe.stderr.strip()}), needed to produce the condition for real"
        )
    return ["unshare", *options]


def without_root_access() -> list[str]:
    """A command prefix under which permission bits apply to this process (empty if they
    already do: not root)."""
    return _unshare("--user") if os.geteuid() == 0 else []


def open_store(path: Path, prefix: list[str], shell: str | None = None) -> str:
    command = [*prefix, sys.executable, "-c", OPEN_STORE, str(path)]
    if shell is not None:  # run the store inside a shell that prepares the namespace first
        command = [*prefix, "sh", "-c", f'{shell} && exec "$@"', "sh", sys.executable]
        command += ["-c", OPEN_STORE, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_good_file_in_a_directory_sqlite_cannot_write_to(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    path = directory / "schedules.db"
    before = make_good_store(path)
    prefix = without_root_access()
    if os.geteuid() == 0:
        os.chown(directory, OTHER_UID, OTHER_UID)  # the file stays ours, the folder is not
    directory.chmod(0o555)
    try:
        message = open_store(path, prefix)
    finally:
        directory.chmod(0o755)
    assert "corrupt" not in message and "truncated" not in message, message
    assert f"the directory {str(directory)!r} is not writable" in message, message
    assert "schedules.db-wal" in message and "schedules.db-shm" in message, message
    assert "the file itself is fine" in message, message
    assert path.read_bytes() == before
    # the same file where it can be written is a good store
    assert open_store(path, []) == "OPENED 1"


def test_another_users_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving the file another owner needs root (chown)")
    path = tmp_path / "schedules.db"
    before = make_good_store(path)
    os.chown(path, OTHER_UID, OTHER_UID)
    path.chmod(0o600)
    message = open_store(path, without_root_access())
    assert "read-only" not in message, message
    assert "permission denied: the file belongs to user" in message, message
    assert "(permissions 0600)" in message and "which cannot read it" in message, message
    # (the owner's name is not checked: inside a user namespace every outside user shows as
    # 'nobody', the process too)
    assert path.read_bytes() == before


def test_a_file_on_a_read_only_mount(tmp_path: Path) -> None:
    directory = tmp_path / "mounted"
    directory.mkdir()
    path = directory / "schedules.db"
    before = make_good_store(path)
    prefix = _unshare("-r", "-m")
    bind_read_only = (
        f"mount --bind {directory} {directory} && mount -o remount,ro,bind {directory}"
    )
    message = open_store(path, prefix, shell=bind_read_only)
    assert "mounted read-only" in message, message
    assert "permissions" not in message and "corrupt" not in message, message
    assert path.read_bytes() == before
