"""Remember which store ``%sched store PATH`` chose, for the next ``%load_ext``.

A store is a SQLite file's path or a ``postgresql://`` URL (a database shared by kernels).

The choice is kept in ``.nbsched-store.json`` in the kernel's working directory (the notebook's
folder under Jupyter), one entry per notebook: the key is the notebook's path, which
jupyter_server gives its kernels as ``$JPY_SESSION_NAME`` (an empty key when the kernel was
started without one). ``$NBSCHED_STORE`` overrides the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "CHOICE_FILE",
    "STORE_ENV",
    "describe_store",
    "is_postgresql_dsn",
    "notebook_key",
    "record_store",
    "recorded_store",
]

#: Environment variable naming a SQLite file or a ``postgresql://`` URL for ``%load_ext``.
STORE_ENV = "NBSCHED_STORE"
#: File in the kernel's working directory where ``%sched store PATH`` records its choice.
CHOICE_FILE = ".nbsched-store.json"


def is_postgresql_dsn(location: str) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL, False for a file path."""
    return location.strip().lower().startswith(("postgresql://", "postgres://"))


def describe_store(location: str | None) -> str:
    """``location`` for messages: a file's path, a database URL without its password
    (``host:port/db as user 'x'``), or ``memory``."""
    if location is None:
        return "memory"
    if is_postgresql_dsn(location):
        from ..datastores._postgresql_connect import describe_dsn

        return f"PostgreSQL {describe_dsn(location)}"
    return location


def notebook_key() -> str:
    """The notebook this kernel serves (``$JPY_SESSION_NAME``), or ``""``."""
    return os.environ.get("JPY_SESSION_NAME", "")


def _read(file: Path) -> dict[str, str]:
    try:
        data: Any = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stores = data.get("stores") if isinstance(data, dict) else None
    if not isinstance(stores, dict):
        return {}
    return {str(k): str(v) for k, v in stores.items() if isinstance(v, str) and v}


def recorded_store(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The store ``%load_ext`` opens (a SQLite file or a PostgreSQL URL): ``$NBSCHED_STORE``,
    else this notebook's entry in ``.nbsched-store.json``, else ``None`` (memory)."""
    from_env = os.environ.get(STORE_ENV, "").strip()
    if from_env:
        return from_env
    return _read(Path(cwd or os.getcwd()) / CHOICE_FILE).get(notebook_key())


def record_store(path: str | None, cwd: str | os.PathLike[str] | None = None) -> None:
    """Record ``path`` (``None``: memory, i.e. forget the entry) for this notebook."""
    file = Path(cwd or os.getcwd()) / CHOICE_FILE
    stores = _read(file)
    if path is None:
        if stores.pop(notebook_key(), None) is None:
            return
    else:
        stores[notebook_key()] = path
    if not stores:
        file.unlink(missing_ok=True)
        return
    temporary = file.with_name(file.name + ".tmp")
    temporary.write_text(json.dumps({"version": 1, "stores": stores}, indent=1), "utf-8")
    os.replace(temporary, file)
