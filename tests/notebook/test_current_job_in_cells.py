"""``nbsched.current_job`` inside a scheduled cell: the run sees its own job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notebook_helpers import START, Notebook


@pytest.mark.anyio
async def test_a_scheduled_cell_reads_its_own_job(notebook: Notebook) -> None:
    notebook.cell(
        "%%every 30s --id period\n"
        "import nbsched\n"
        "job = nbsched.current_job.get()\n"
        "print(job.schedule_id, job.scheduled_fire_time.timestamp())"
    )
    await notebook.settle()
    await notebook.advance(30)
    assert notebook.texts("period") == f"period {(START + timedelta(seconds=30)).timestamp()}\n"
    await notebook.advance(30)
    assert notebook.texts("period") == f"period {(START + timedelta(seconds=60)).timestamp()}\n"
