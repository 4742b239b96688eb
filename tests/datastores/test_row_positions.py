"""The SQL stores read rows by column name: each position class names columns of its table,
each at its place in the column list the stores select, so that a new column cannot shift
what is read."""

from __future__ import annotations

import pytest

from nbsched.datastores import _row_positions as positions

PAIRS = [
    (positions.TaskRow, positions.TASK_COLUMNS),
    (positions.ScheduleRow, positions.SCHEDULE_COLUMNS),
    (positions.JobRow, positions.JOB_COLUMNS),
    (positions.JobResultRow, positions.JOB_RESULT_COLUMNS),
    (positions.HistoryRow, positions.HISTORY_COLUMNS),
]


@pytest.mark.parametrize(("row_class", "columns"), PAIRS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_position_class_names_every_column_at_its_place(
    row_class: type[positions.RowPositions], columns: tuple[str, ...]
) -> None:
    assert columns == row_class.COLUMNS
    assert {column: getattr(row_class, column) for column in columns} == {
        column: index for index, column in enumerate(columns)
    }


@pytest.mark.parametrize(
    ("row_class", "table"),
    [
        (positions.TaskRow, "tasks"),
        (positions.ScheduleRow, "schedules"),
        (positions.JobRow, "jobs"),
        (positions.JobResultRow, "job_results"),
        (positions.HistoryRow, "job_history"),
    ],
)
def test_each_position_class_names_columns_of_its_table(
    row_class: type[positions.RowPositions], table: str, tmp_path
) -> None:
    import sqlite3

    from nbsched.datastores.sqlite import SQLiteDataStore
    from nbsched.eventbrokers.local import LocalEventBroker

    store = SQLiteDataStore(tmp_path / "store.db")
    store.start(LocalEventBroker())
    store.stop()
    conn = sqlite3.connect(tmp_path / "store.db")
    try:
        names = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    finally:
        conn.close()
    assert set(row_class.COLUMNS) <= names


def test_a_decoded_schedule_reads_its_columns_by_name() -> None:
    """A row built by name (not by position) decodes to the schedule it was encoded from."""
    from datetime import datetime, timezone

    from nbsched import Schedule
    from nbsched.datastores._codec import RowCodec
    from nbsched.serializers.json import JSONSerializer
    from nbsched.triggers.interval import IntervalTrigger

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    trigger = IntervalTrigger(minutes=5, start_time=start)
    schedule = Schedule(
        id="s", task_id="t", trigger=trigger, next_fire_time=trigger.next(), acquired_by="me"
    )
    codec = RowCodec(JSONSerializer())
    row = codec.encode_schedule(schedule)
    assert row[positions.ScheduleRow.acquired_by] == "me"
    decoded = codec.decode_schedule(row)
    assert (decoded.id, decoded.task_id, decoded.acquired_by) == ("s", "t", "me")
    assert decoded.next_fire_time == schedule.next_fire_time
