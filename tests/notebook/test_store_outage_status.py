"""A scheduled cell's status line says when the store is unavailable: a real SQLite file whose
write lock another process holds for longer than the retry window."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from notebook_helpers import Notebook

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

_HOLD_LOCK = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("COMMIT")
    """
)


async def test_the_status_line_says_since_when_the_store_is_unavailable(
    notebook: Notebook, tmp_path: Path
) -> None:
    notebook.cell("%sched store schedules.db")
    await notebook.settle()
    notebook.cell("%%every 10s --id tick\nprint('ran')")
    await notebook.settle()
    # blocking on purpose: the lock must be held before the next step, and nothing else is
    # due on the loop meanwhile (the notebook's clock is fake)
    holder = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path / "schedules.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        await notebook.advance(60)  # 09:00 UTC is 10:00 in Berlin, the notebook's zone
        status = notebook.holder.outputs["tick"].status.value
        assert "store unavailable since 10:00:0" in status
        assert "SQLiteBusyError" in status and "database is locked" in status
        assert notebook.texts("tick") == ""
    finally:
        holder.communicate("\n", timeout=30)
    await notebook.advance(5)
    status = notebook.holder.outputs["tick"].status.value
    assert "unavailable" not in status
    assert notebook.texts("tick") == "ran\n"  # the fires missed meanwhile, coalesced
