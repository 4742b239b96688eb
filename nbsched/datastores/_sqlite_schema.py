"""The SQLite store's file format: schema, version checks and careful opening of the file.

Everything here reads a file before it writes to it, so a file that is not ours (another
program's database, a corrupt or truncated file, one written by a newer nbsched) is refused
with a clear :class:`~nbsched.DataStoreError` and left byte for byte as it was.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

from .._exceptions import DataStoreError
from ._sqlite_access import access_problem, user_name

#: Bumped whenever the tables change; a file with a higher version is refused, not rewritten.
SCHEMA_VERSION = 1
#: Stored in the SQLite header (``PRAGMA application_id``) so ``file(1)`` and we can tell our
#: files apart: "nbsc" in ASCII.
APPLICATION_ID = 0x6E627363
SQLITE_MAGIC = b"SQLite format 3\x00"
# sqlite3 primary result codes that mean the bytes of the file are bad
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26

SCHEMA = """
CREATE TABLE nbsched_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    func TEXT,
    job_executor TEXT NOT NULL,
    max_running_jobs INTEGER,
    misfire_grace_time INTEGER,
    metadata TEXT NOT NULL,
    running_jobs INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    trigger TEXT NOT NULL,
    args BLOB NOT NULL,
    kwargs BLOB NOT NULL,
    paused INTEGER NOT NULL,
    coalesce TEXT NOT NULL,
    misfire_grace_time INTEGER,
    max_jitter INTEGER,
    job_result_expiration_time INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    next_fire_time INTEGER,
    last_fire_time INTEGER,
    acquired_by TEXT,
    acquired_until INTEGER
);
CREATE INDEX schedules_due_order ON schedules (paused, next_fire_time, id);
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    task_id TEXT NOT NULL,
    args BLOB NOT NULL,
    kwargs BLOB NOT NULL,
    schedule_id TEXT,
    scheduled_fire_time INTEGER,
    jitter INTEGER NOT NULL,
    start_deadline INTEGER,
    result_expiration_time INTEGER NOT NULL,
    created_at INTEGER,
    metadata TEXT NOT NULL,
    acquired_by TEXT,
    acquired_until INTEGER,
    started_at INTEGER
);
CREATE INDEX jobs_order ON jobs (created_at, seq);
-- one job per fire, even if a schedule is processed twice (a lease expired mid-way, or its
-- scheduler was killed between creating the jobs and releasing the schedule)
CREATE UNIQUE INDEX jobs_one_per_fire ON jobs (schedule_id, scheduled_fire_time)
    WHERE schedule_id IS NOT NULL;
CREATE TABLE job_results (
    job_id TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    started_at INTEGER,
    finished_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    return_value BLOB,
    exception BLOB,
    traceback TEXT,
    scheduler_id TEXT,
    -- not part of JobResult: kept so that a result can be traced back to its fire
    schedule_id TEXT,
    scheduled_fire_time INTEGER
);
CREATE INDEX job_results_expiry ON job_results (expires_at);
"""


def _fail(path: Path, problem: str) -> DataStoreError:
    return DataStoreError(f"SQLite data store {str(path)!r}: {problem}")


def prepare_file(path: Path) -> bool:
    """Check the path and create an empty file (mode 0600) if there is none.

    Returns ``True`` when the file is new (or empty) and needs the schema; raises
    :class:`~nbsched.DataStoreError` for a missing directory, a path that is not a regular file,
    a read-only file or a file that is not SQLite at all. Never changes an existing file.
    """
    directory = path.parent
    if not directory.is_dir():
        raise _fail(
            path,
            f"the directory {str(directory)!r} does not exist; create it first (nbsched does not "
            f"create directories for you)",
        )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise _fail(path, f"cannot create the file: {_creation_problem(path, exc)}") from exc
    else:
        os.close(fd)
        os.chmod(path, 0o600)  # whatever the umask says
        return True

    try:
        info = path.stat()
    except OSError as exc:
        raise _fail(path, f"cannot read the file: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise _fail(path, "it exists but is not a regular file")
    problem = access_problem(path)
    if problem is not None:
        raise _fail(path, problem)
    if info.st_size == 0:
        return True
    with open(path, "rb") as file:
        header = file.read(100)
    if not header.startswith(SQLITE_MAGIC):
        raise _fail(path, "the file is not an SQLite database, so not an nbsched data store")
    if len(header) < 100:
        raise _fail(path, "the file is truncated or corrupt (shorter than an SQLite header)")
    return False


def _creation_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "the file system holding the directory is mounted read-only"
    if exc.errno == errno.EACCES:
        return (
            f"the directory {str(path.parent)!r} is not writable by user "
            f"{user_name(os.geteuid())!r}"
        )
    return str(exc.strerror)


def check_existing(path: Path) -> bool:
    """Check that an existing file is an intact nbsched store of a version we can use.

    Returns ``True`` when it is an SQLite database without any table, which needs the schema:
    another process is creating the store (its switch to WAL writes the file's header before
    its schema commits). Opens the file read-only, so whatever it finds, the file is left as
    it was.
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise _fail(path, f"cannot open the file: {exc}") from exc
    try:
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
            if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
                raise _fail(path, f"the file is corrupt or truncated ({exc})") from exc
            raise _fail(path, f"cannot read the file ({exc})") from exc
        if problems != ["ok"]:
            raise _fail(path, f"the file is corrupt or truncated ({'; '.join(problems[:3])})")
        if not tables and application_id == 0:
            return True
        if application_id != APPLICATION_ID or "nbsched_meta" not in tables:
            raise _fail(
                path,
                "the file is an SQLite database of some other program, not an nbsched data "
                "store; choose another path",
            )
        try:
            row = conn.execute(
                "SELECT value FROM nbsched_meta WHERE key = 'schema_version'"
            ).fetchone()
            version = int(row[0])
        except (sqlite3.DatabaseError, TypeError, ValueError) as exc:
            raise _fail(path, "the file's schema version is missing or unreadable") from exc
    finally:
        conn.close()
    if version > SCHEMA_VERSION:
        raise _fail(
            path,
            f"the file was written by a newer nbsched (schema version {version}; this nbsched "
            f"understands up to {SCHEMA_VERSION}); upgrade nbsched to use it. The file was not "
            f"changed.",
        )
    if version < 1:
        raise _fail(path, f"the file has an invalid schema version {version}")
    return False


#: Indexes added since version 1, as (name, statement, older index it replaces). Readers of
#: version 1 work the same with or without them, so adding one does not bump the version (which
#: would make older nbsched refuse the file).
ADDED_INDEXES = (
    # due schedules in the order they are acquired, so many sharing one fire time (a backlog
    # after a restart, many daily crons) are not sorted again for each batch
    (
        "schedules_due_order",
        "CREATE INDEX schedules_due_order ON schedules (paused, next_fire_time, id)",
        "schedules_due",
    ),
)


def add_missing_indexes(conn: sqlite3.Connection) -> None:
    """Bring an existing file's indexes up to date (one transaction; writes nothing when they
    are)."""
    existing = {
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    missing = [index for index in ADDED_INDEXES if index[0] not in existing]
    if not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for _name, statement, replaces in missing:
            conn.execute(statement.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
            conn.execute(f"DROP INDEX IF EXISTS {replaces}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def create_schema(conn: sqlite3.Connection) -> bool:
    """Create the tables in a new, empty file (one transaction).

    Returns ``False`` without changing anything if the file already has tables (another
    process created the schema first).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            conn.execute("ROLLBACK")
            return False
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(
            "INSERT INTO nbsched_meta (key, value) VALUES ('schema_version', ?), "
            "('application', 'nbsched')",
            (str(SCHEMA_VERSION),),
        )
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True
