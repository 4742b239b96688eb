"""The columns the SQL stores select, in order, and where each one sits in a selected row.

Rows are read by name, ``row[JobRow.acquired_by]`` rather than ``row[11]``: the positions are
computed from the column lists, so a new column cannot shift what the stores and the codec
read. ``tests/datastores/test_row_positions.py`` checks that every class names every column of
its list.
"""

from __future__ import annotations

__all__ = [
    "HISTORY_COLUMNS",
    "JOB_COLUMNS",
    "JOB_RESULT_COLUMNS",
    "SCHEDULE_COLUMNS",
    "TASK_COLUMNS",
    "HistoryRow",
    "JobResultRow",
    "JobRow",
    "ScheduleRow",
    "TaskRow",
]

TASK_COLUMNS = (
    "id",
    "func",
    "job_executor",
    "max_running_jobs",
    "misfire_grace_time",
    "metadata",
    "running_jobs",
)
SCHEDULE_COLUMNS = (
    "id",
    "task_id",
    "trigger",
    "args",
    "kwargs",
    "paused",
    "coalesce",
    "misfire_grace_time",
    "max_jitter",
    "job_result_expiration_time",
    "metadata",
    "next_fire_time",
    "last_fire_time",
    "acquired_by",
    "acquired_until",
)
JOB_COLUMNS = (
    "id",
    "task_id",
    "args",
    "kwargs",
    "schedule_id",
    "scheduled_fire_time",
    "jitter",
    "start_deadline",
    "result_expiration_time",
    "created_at",
    "metadata",
    "acquired_by",
    "acquired_until",
    "started_at",
)
JOB_RESULT_COLUMNS = (
    "job_id",
    "outcome",
    "started_at",
    "finished_at",
    "expires_at",
    "return_value",
    "exception",
    "traceback",
    "scheduler_id",
)
HISTORY_COLUMNS = (
    "job_id",
    "schedule_id",
    "task_id",
    "fire_time",
    "started_at",
    "finished_at",
    "outcome",
    "error_type",
    "error_message",
    "scheduler_id",
)


class TaskRow:
    """Positions in a row of ``SELECT <TASK_COLUMNS> FROM tasks``."""

    id = TASK_COLUMNS.index("id")
    func = TASK_COLUMNS.index("func")
    job_executor = TASK_COLUMNS.index("job_executor")
    max_running_jobs = TASK_COLUMNS.index("max_running_jobs")
    misfire_grace_time = TASK_COLUMNS.index("misfire_grace_time")
    metadata = TASK_COLUMNS.index("metadata")
    running_jobs = TASK_COLUMNS.index("running_jobs")


class ScheduleRow:
    """Positions in a row of ``SELECT <SCHEDULE_COLUMNS> FROM schedules``."""

    id = SCHEDULE_COLUMNS.index("id")
    task_id = SCHEDULE_COLUMNS.index("task_id")
    trigger = SCHEDULE_COLUMNS.index("trigger")
    args = SCHEDULE_COLUMNS.index("args")
    kwargs = SCHEDULE_COLUMNS.index("kwargs")
    paused = SCHEDULE_COLUMNS.index("paused")
    coalesce = SCHEDULE_COLUMNS.index("coalesce")
    misfire_grace_time = SCHEDULE_COLUMNS.index("misfire_grace_time")
    max_jitter = SCHEDULE_COLUMNS.index("max_jitter")
    job_result_expiration_time = SCHEDULE_COLUMNS.index("job_result_expiration_time")
    metadata = SCHEDULE_COLUMNS.index("metadata")
    next_fire_time = SCHEDULE_COLUMNS.index("next_fire_time")
    last_fire_time = SCHEDULE_COLUMNS.index("last_fire_time")
    acquired_by = SCHEDULE_COLUMNS.index("acquired_by")
    acquired_until = SCHEDULE_COLUMNS.index("acquired_until")


class JobRow:
    """Positions in a row of ``SELECT <JOB_COLUMNS> FROM jobs``."""

    id = JOB_COLUMNS.index("id")
    task_id = JOB_COLUMNS.index("task_id")
    args = JOB_COLUMNS.index("args")
    kwargs = JOB_COLUMNS.index("kwargs")
    schedule_id = JOB_COLUMNS.index("schedule_id")
    scheduled_fire_time = JOB_COLUMNS.index("scheduled_fire_time")
    jitter = JOB_COLUMNS.index("jitter")
    start_deadline = JOB_COLUMNS.index("start_deadline")
    result_expiration_time = JOB_COLUMNS.index("result_expiration_time")
    created_at = JOB_COLUMNS.index("created_at")
    metadata = JOB_COLUMNS.index("metadata")
    acquired_by = JOB_COLUMNS.index("acquired_by")
    acquired_until = JOB_COLUMNS.index("acquired_until")
    started_at = JOB_COLUMNS.index("started_at")


class JobResultRow:
    """Positions in a row of ``SELECT <JOB_RESULT_COLUMNS> FROM job_results``."""

    job_id = JOB_RESULT_COLUMNS.index("job_id")
    outcome = JOB_RESULT_COLUMNS.index("outcome")
    started_at = JOB_RESULT_COLUMNS.index("started_at")
    finished_at = JOB_RESULT_COLUMNS.index("finished_at")
    expires_at = JOB_RESULT_COLUMNS.index("expires_at")
    return_value = JOB_RESULT_COLUMNS.index("return_value")
    exception = JOB_RESULT_COLUMNS.index("exception")
    traceback = JOB_RESULT_COLUMNS.index("traceback")
    scheduler_id = JOB_RESULT_COLUMNS.index("scheduler_id")


class HistoryRow:
    """Positions in a row of ``SELECT <HISTORY_COLUMNS> FROM job_history``."""

    job_id = HISTORY_COLUMNS.index("job_id")
    schedule_id = HISTORY_COLUMNS.index("schedule_id")
    task_id = HISTORY_COLUMNS.index("task_id")
    fire_time = HISTORY_COLUMNS.index("fire_time")
    started_at = HISTORY_COLUMNS.index("started_at")
    finished_at = HISTORY_COLUMNS.index("finished_at")
    outcome = HISTORY_COLUMNS.index("outcome")
    error_type = HISTORY_COLUMNS.index("error_type")
    error_message = HISTORY_COLUMNS.index("error_message")
    scheduler_id = HISTORY_COLUMNS.index("scheduler_id")
