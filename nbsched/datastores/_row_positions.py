"""The columns the SQL stores select, in order, and where each one sits in a selected row.

Rows are read by name, ``row[JobRow.acquired_by]`` rather than ``row[11]``. Each class below
names its table's columns once, in order, as ``int`` annotations; :class:`RowPositions` makes
each one the column's position and lists them in ``COLUMNS`` for the stores' SELECTs, so a new
column cannot shift what the stores and the codec read.
"""

from __future__ import annotations

import inspect
from typing import ClassVar

__all__ = [
    "HISTORY_COLUMNS",
    "JOB_COLUMNS",
    "JOB_RESULT_COLUMNS",
    "SCHEDULE_COLUMNS",
    "TASK_COLUMNS",
    "HistoryRow",
    "JobResultRow",
    "JobRow",
    "RowPositions",
    "ScheduleRow",
    "TaskRow",
]


class RowPositions:
    """The base of the position classes: a subclass annotates one ``int`` per column, in the
    order they are selected; each becomes that column's position, and ``COLUMNS`` their names."""

    COLUMNS: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.COLUMNS = tuple(inspect.get_annotations(cls))
        for position, name in enumerate(cls.COLUMNS):
            setattr(cls, name, position)


class TaskRow(RowPositions):
    """Positions in a row of ``SELECT <TASK_COLUMNS> FROM tasks``."""

    id: int
    func: int
    job_executor: int
    max_running_jobs: int
    misfire_grace_time: int
    metadata: int
    running_jobs: int


class ScheduleRow(RowPositions):
    """Positions in a row of ``SELECT <SCHEDULE_COLUMNS> FROM schedules``."""

    id: int
    task_id: int
    trigger: int
    args: int
    kwargs: int
    paused: int
    coalesce: int
    misfire_grace_time: int
    max_jitter: int
    job_result_expiration_time: int
    metadata: int
    next_fire_time: int
    last_fire_time: int
    acquired_by: int
    acquired_until: int


class JobRow(RowPositions):
    """Positions in a row of ``SELECT <JOB_COLUMNS> FROM jobs``."""

    id: int
    task_id: int
    args: int
    kwargs: int
    schedule_id: int
    scheduled_fire_time: int
    jitter: int
    start_deadline: int
    result_expiration_time: int
    created_at: int
    metadata: int
    acquired_by: int
    acquired_until: int
    started_at: int


class JobResultRow(RowPositions):
    """Positions in a row of ``SELECT <JOB_RESULT_COLUMNS> FROM job_results``."""

    job_id: int
    outcome: int
    started_at: int
    finished_at: int
    expires_at: int
    return_value: int
    exception: int
    traceback: int
    scheduler_id: int


class HistoryRow(RowPositions):
    """Positions in a row of ``SELECT <HISTORY_COLUMNS> FROM job_history``."""

    job_id: int
    schedule_id: int
    task_id: int
    fire_time: int
    started_at: int
    finished_at: int
    outcome: int
    error_type: int
    error_message: int
    scheduler_id: int


TASK_COLUMNS = TaskRow.COLUMNS
SCHEDULE_COLUMNS = ScheduleRow.COLUMNS
JOB_COLUMNS = JobRow.COLUMNS
JOB_RESULT_COLUMNS = JobResultRow.COLUMNS
HISTORY_COLUMNS = HistoryRow.COLUMNS
