"""The result of a simulation as a DataFrame: one row per fire time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone, tzinfo

import pandas as pd

from ._engine import JobRecord
from ._inputs import Prepared

__all__ = ["COLUMNS", "OUTCOMES", "result_frame"]

#: The columns of the DataFrame :func:`nbsched.simulate` returns, in order.
COLUMNS = ["schedule_id", "fire_time", "outcome", "started_at", "finished_at", "lateness"]

#: What happened to a fire time, by the name of the job outcome the scheduler recorded.
OUTCOMES = {
    "success": "ran",
    "missed_start_deadline": "missed",
    "cancelled": "cancelled",  # running (or about to start) when the scheduler went down
}
#: a fire time no job was created for: merged into another run by the coalesce policy
COALESCED = "coalesced"


def _zone(prepared: Sequence[Prepared]) -> tzinfo:
    zones = {str(p.schedule.next_fire_time.tzinfo) for p in prepared}  # type: ignore[union-attr]
    if len(zones) == 1:
        return prepared[0].schedule.next_fire_time.tzinfo  # type: ignore[union-attr,return-value]
    return timezone.utc


def result_frame(
    prepared: Sequence[Prepared],
    jobs: Mapping[object, JobRecord],
    start: datetime,
    end: datetime,
    zone: tzinfo | None = None,
) -> pd.DataFrame:
    """One row per fire time in ``[start, end)`` of each prepared schedule, with what became
    of it (see :data:`OUTCOMES`), sorted by fire time then schedule id, in ``zone`` (default:
    the schedules' zone when they share one, else UTC)."""
    by_fire = {(job.schedule_id, job.fire_time): job for job in jobs.values()}
    schedule_ids: list[str] = []
    fire_times: list[datetime] = []
    outcomes: list[str] = []
    started: list[datetime | None] = []
    finished: list[datetime | None] = []
    for item in prepared:
        schedule_id = item.schedule.id
        for fire_time in item.fire_times:
            if not start <= fire_time < end:
                continue
            job = by_fire.get((schedule_id, fire_time))
            schedule_ids.append(schedule_id)
            fire_times.append(fire_time)
            if job is None:
                outcomes.append(COALESCED)
                started.append(None)
                finished.append(None)
            else:
                outcome = job.outcome or "pending"
                outcomes.append(OUTCOMES.get(outcome, outcome))
                started.append(job.started_at)
                finished.append(job.finished_at if job.started_at is not None else None)
    if zone is None:
        zone = _zone(prepared) if prepared else timezone.utc
    fire_column = pd.to_datetime(pd.Series(fire_times, dtype=object), utc=True)
    started_column = pd.to_datetime(pd.Series(started, dtype=object), utc=True)
    frame = pd.DataFrame(
        {
            "schedule_id": pd.Series(schedule_ids, dtype=object),
            "fire_time": fire_column.dt.tz_convert(zone),
            "outcome": pd.Series(outcomes, dtype=object),
            "started_at": started_column.dt.tz_convert(zone),
            "finished_at": pd.to_datetime(
                pd.Series(finished, dtype=object), utc=True
            ).dt.tz_convert(zone),
            "lateness": started_column - fire_column,
        },
        columns=COLUMNS,
    )
    return frame.sort_values(["fire_time", "schedule_id"], kind="stable", ignore_index=True)
