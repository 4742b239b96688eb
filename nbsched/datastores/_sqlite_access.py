"""Why this process cannot use an SQLite file, in words a user can act on.

A store file can be fine and still unusable: another user's file, a file system mounted
read-only, a directory where SQLite cannot create the ``-wal`` and ``-shm`` files it needs in WAL
mode. Each is told as what it is, so nobody deletes a good file because it was called corrupt.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

__all__ = ["access_problem", "user_name"]


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def access_problem(path: Path) -> str | None:
    """What stops this process from reading and writing the existing file ``path`` and the
    files SQLite keeps beside it, or ``None`` if nothing does."""
    directory = path.parent
    if _read_only_mount(path):
        return (
            "the file system holding it is mounted read-only, and the scheduler needs to write "
            "to the file (the file itself is not damaged); use a copy on a writable file system"
        )
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    me = user_name(os.geteuid())
    readable = os.access(path, os.R_OK)
    # A file without write bits is read-only for everyone (os.access says yes to root for
    # one, but SQLite still refuses to write); otherwise a "no" is this user's permissions.
    has_write_bits = bool(mode & 0o222)
    if not readable or (has_write_bits and not os.access(path, os.W_OK)):
        cannot = "write to it" if readable else "read it"
        owner = user_name(info.st_uid)
        return (
            f"permission denied: the file belongs to user {owner!r} (permissions {mode:04o}) and "
            f"this process runs as user {me!r}, which cannot {cannot}; run the scheduler as a "
            f"user who may read and write it, or change its permissions (the file is not damaged)"
        )
    if not has_write_bits:
        return (
            f"the file is read-only (permissions {mode:04o}); the scheduler needs to write to it "
            f"(make it writable, or point the store at a copy)"
        )
    side_files = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    if not os.access(directory, os.W_OK | os.X_OK) and not all(
        side.exists() and os.access(side, os.R_OK | os.W_OK) for side in side_files
    ):
        return (
            f"the directory {str(directory)!r} is not writable by user {me!r}, and SQLite must "
            f"create {side_files[0].name!r} and {side_files[1].name!r} beside the file (WAL "
            f"mode); the file itself is fine. Make the directory writable, or move the file "
            f"to one that is"
        )
    return None
