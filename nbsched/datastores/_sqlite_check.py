"""``nbsched check FILE``: look an SQLite store over without changing it.

SQLite's own ``PRAGMA integrity_check`` finds damage to the file's structure (pages, b-trees,
indexes); decoding every row as the store would finds values it could not use (text that is
not UTF-8, broken JSON, unknown trigger types, numbers out of range). Neither can notice a value
that a flipped bit turned into another valid one: SQLite keeps no checksums of rows.

The file is opened read-only (``mode=ro``) and nothing a row names is imported.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import DeserializationError
from ..abc import Serializer
from ..serializers.json import JSONSerializer
from ._codec import (
    JOB_COLUMNS,
    JOB_RESULT_COLUMNS,
    SCHEDULE_COLUMNS,
    TASK_COLUMNS,
    RowCodec,
    RowDecodeError,
)
from ._sqlite_rows import fetch_rows
from ._sqlite_schema import APPLICATION_ID, SCHEMA_VERSION, SQLITE_MAGIC

__all__ = ["CannotCheck", "StoreCheck", "check_sqlite_store"]

#: at most this many problems of SQLite's integrity check are listed
MAX_INTEGRITY_PROBLEMS = 50


class _Pickled(DeserializationError):
    """A value written by ``PickleSerializer``: not decoded, since unpickling can run code."""


class _JSONNeverUnpickling(Serializer):
    """Reads JSON as the default serializer does; recognises pickled data without loading it."""

    def __init__(self) -> None:
        self._json = JSONSerializer()

    def serialize(self, obj: Any) -> bytes:
        raise NotImplementedError("nbsched check never writes")

    def deserialize(self, serialized: bytes) -> Any:
        if bytes(serialized[:1]) == b"\x80":  # the PROTO opcode every pickle since 2 starts with
            raise _Pickled("pickled data")
        return self._json.deserialize(serialized)


class CannotCheck(Exception):
    """The file is not something ``nbsched check`` can look at (missing, not an nbsched
    store, written by a newer nbsched)."""


@dataclass
class TableCheck:
    """What decoding every row of one table found."""

    title: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    #: rows holding pickled values, checked only up to the first of them
    pickled: int = 0

    def lines(self) -> list[str]:
        count = f"{self.rows} row{'' if self.rows == 1 else 's'}"
        if not self.rows and not self.problems:
            return [f"{self.title}: none"]
        if not self.problems:
            lines = [f"{self.title}: {count}, all readable"]
        else:
            lines = [f"{self.title}: {count}, {len(self.problems)} bad"]
            lines.extend(f"  {problem}" for problem in self.problems)
        if self.pickled:
            lines.append(
                f"  ({self.pickled} of them hold pickled values (PickleSerializer), which check "
                f"does not unpickle, since unpickling can run code: checked up to those)"
            )
        return lines


@dataclass
class StoreCheck:
    """The report of :func:`check_sqlite_store`; :attr:`clean` is what the exit status says."""

    path: Path
    integrity: list[str]
    tables: list[TableCheck] = field(default_factory=list)

    @property
    def problem_count(self) -> int:
        structural = 0 if self.integrity == ["ok"] else len(self.integrity)
        return structural + sum(len(table.problems) for table in self.tables)

    @property
    def clean(self) -> bool:
        return self.problem_count == 0

    def lines(self) -> list[str]:
        lines = [f"checking {self.path} (read-only)"]
        if self.integrity == ["ok"]:
            lines.append("SQLite integrity check: ok")
        else:
            lines.append("SQLite integrity check: FAILED")
            lines.extend(f"  {problem}" for problem in self.integrity)
        for table in self.tables:
            lines.extend(table.lines())
        lines.append(
            "(SQLite keeps no checksums: a bit flipped inside a value may turn it into another "
            "valid value, which no check can notice; keep backups of files that matter)"
        )
        count = self.problem_count
        lines.append(
            "no problems found" if not count else f"{count} problem{'s' * (count != 1)} found"
        )
        return lines


def _open_read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise CannotCheck(f"{str(path)!r} does not exist")
    if not path.is_file():
        raise CannotCheck(f"{str(path)!r} is not a regular file")
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except OSError as exc:
        raise CannotCheck(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    if not header.startswith(SQLITE_MAGIC[: len(header)]) or not header:
        raise CannotCheck(f"{str(path)!r} is not an SQLite database, so not an nbsched store")
    if len(header) < 100:
        raise CannotCheck(f"{str(path)!r} is truncated (shorter than an SQLite header)")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if not Path(f"{path}-wal").exists():
        # Nobody has the file open (or its last user closed it cleanly): with no journal to
        # read, "immutable" reads it without creating the -wal and -shm files a WAL reader
        # needs. (The caller makes sure it did not change meanwhile.)
        uri += "&immutable=1"
    try:
        return sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise CannotCheck(f"cannot open {str(path)!r} read-only: {exc}") from exc


def _check_identity(conn: sqlite3.Connection, path: Path) -> None:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if application_id != APPLICATION_ID or "nbsched_meta" not in tables:
        raise CannotCheck(
            f"{str(path)!r} is an SQLite database of some other program, not an nbsched data store"
        )
    row = conn.execute("SELECT value FROM nbsched_meta WHERE key = 'schema_version'").fetchone()
    version = row[0] if row else None
    if not (isinstance(version, str) and version.isdigit()):
        raise CannotCheck(f"{str(path)!r}: the schema version is missing or unreadable")
    if int(version) > SCHEMA_VERSION:
        raise CannotCheck(
            f"{str(path)!r} was written by a newer nbsched (schema version {version}; this "
            f"nbsched understands up to {SCHEMA_VERSION})"
        )


def _check_table(
    conn: sqlite3.Connection,
    title: str,
    table: str,
    columns: tuple[str, ...],
    decode: Callable[[Any], Any],
) -> TableCheck:
    report = TableCheck(title)
    try:
        rows = fetch_rows(conn, f"SELECT {', '.join(columns)} FROM {table}")
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"cannot read the table: {exc}")
        return report
    report.rows = len(rows)
    for row in rows:
        try:
            decode(row)
        except RowDecodeError as exc:
            if isinstance(exc.__cause__, _Pickled):
                report.pickled += 1
            else:
                report.problems.append(str(exc))
        except DeserializationError as exc:
            report.problems.append(str(exc))
    return report


def check_sqlite_store(path: str | Path) -> StoreCheck:
    """Run SQLite's integrity check on ``path`` and decode every row as the store does (with
    the JSON serializer; pickled values are recognised, never unpickled).

    Never writes to the file. Raises :class:`CannotCheck` for a file that is missing, not
    SQLite, not an nbsched store or newer than this nbsched.
    """
    from .sqlite import SQLiteDataStore

    path = Path(path)
    # the store's own codec (not started: no file access), so rows are read exactly as it would
    codec: RowCodec = SQLiteDataStore(path, serializer=_JSONNeverUnpickling())._codec
    before = _fingerprint(path)
    conn = _open_read_only(path)
    try:
        report = _check(conn, path, codec)
    finally:
        conn.close()
    if before[1] is None and _fingerprint(path) != before:
        # read as immutable (no journal), so a change made meanwhile may have been misread
        raise CannotCheck(f"{str(path)!r} changed while it was being checked; check it again")
    return report


def _fingerprint(path: Path) -> tuple[tuple[int, int] | None, ...]:
    """Size and mtime of the file and its journal."""
    found: list[tuple[int, int] | None] = []
    for side in (path, Path(f"{path}-wal")):
        try:
            info = side.stat()
        except OSError:
            found.append(None)
        else:
            found.append((info.st_size, info.st_mtime_ns))
    return tuple(found)


def _check(conn: sqlite3.Connection, path: Path, codec: RowCodec) -> StoreCheck:
    conn.execute("BEGIN")  # one snapshot for the whole check, while schedulers go on writing
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        # damaged beyond what integrity_check can walk (its header or schema)
        return StoreCheck(path, [f"the file cannot be read: {exc}"])
    if len(integrity) > MAX_INTEGRITY_PROBLEMS:
        more = len(integrity) - MAX_INTEGRITY_PROBLEMS
        integrity = integrity[:MAX_INTEGRITY_PROBLEMS] + [f"... and {more} more"]
    try:
        _check_identity(conn, path)
    except sqlite3.DatabaseError as exc:
        integrity = [*(p for p in integrity if p != "ok"), f"cannot read the schema: {exc}"]
        return StoreCheck(path, integrity)
    report = StoreCheck(path, integrity)
    report.tables = [
        _check_table(conn, "tasks", "tasks", TASK_COLUMNS, codec.decode_task),
        _check_table(conn, "schedules", "schedules", SCHEDULE_COLUMNS, codec.decode_schedule),
        _check_table(conn, "jobs", "jobs", JOB_COLUMNS, codec.decode_job),
        _check_table(
            conn, "job results", "job_results", JOB_RESULT_COLUMNS, codec.decode_job_result
        ),
    ]
    return report
