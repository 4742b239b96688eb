"""Where each column sits in a row selected with the column lists of :mod:`._codec`, by name:
``row[JobRow.acquired_by]`` rather than ``row[11]``, so that a new column cannot shift what
the SQL stores read (both lists come from the same tuple)."""

from __future__ import annotations

from ._codec import JOB_COLUMNS

__all__ = ["JobRow"]


class JobRow:
    """Positions in a row of ``SELECT <JOB_COLUMNS> FROM jobs``."""

    id = JOB_COLUMNS.index("id")
    task_id = JOB_COLUMNS.index("task_id")
    schedule_id = JOB_COLUMNS.index("schedule_id")
    scheduled_fire_time = JOB_COLUMNS.index("scheduled_fire_time")
    jitter = JOB_COLUMNS.index("jitter")
    result_expiration_time = JOB_COLUMNS.index("result_expiration_time")
    acquired_by = JOB_COLUMNS.index("acquired_by")
    started_at = JOB_COLUMNS.index("started_at")
