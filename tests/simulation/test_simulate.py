"""simulate() against answers computed by hand: downtime under each coalesce policy, misfire
grace time, max_running_jobs with runs longer than the interval, jitter, max_concurrent_jobs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import nbsched
from nbsched import CoalescePolicy, Schedule, Scheduler
from nbsched.triggers import CronTrigger, DateTrigger, IntervalTrigger

UTC = timezone.utc
S = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 6, 1, hour, minute, second, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def every(n: float, **policies: object) -> Schedule:
    return Schedule(
        id="job",
        task_id="job",
        trigger=IntervalTrigger(minutes=n, start_time=S),
        **policies,  # type: ignore[arg-type]
    )


def rows(df: pd.DataFrame) -> list[tuple[str, str, object, object]]:
    """(fire time HH:MM, outcome, started HH:MM or None, lateness in minutes or None)."""
    result = []
    for row in df.itertuples():
        started = None if pd.isna(row.started_at) else row.started_at.strftime("%H:%M")
        late = None if pd.isna(row.lateness) else row.lateness / timedelta(minutes=1)
        result.append((row.fire_time.strftime("%H:%M"), row.outcome, started, late))
    return result


def on_time(*times: str) -> list[tuple[str, str, str, float]]:
    return [(t, "ran", t, 0.0) for t in times]


# --- the result ----------------------------------------------------------------------------------


def test_columns_and_types() -> None:
    df = nbsched.simulate({"a": IntervalTrigger(minutes=30, start_time=S)}, S, at(10))
    assert list(df.columns) == [
        "schedule_id",
        "fire_time",
        "outcome",
        "started_at",
        "finished_at",
        "lateness",
    ]
    for column in ("fire_time", "started_at", "finished_at"):
        assert isinstance(df[column].dtype, pd.DatetimeTZDtype), column
    assert pd.api.types.is_timedelta64_dtype(df["lateness"])
    assert rows(df) == on_time("09:00", "09:30")  # [start, end): 10:00 is left out
    assert df.attrs["start"] == S and df.attrs["end"] == at(10)


def test_fire_times_keep_the_trigger_zone() -> None:
    trigger = CronTrigger(hour="9,10", timezone="Europe/Berlin", start_time=at(6))
    df = nbsched.simulate({"berlin": trigger}, at(6), at(9))
    assert [t.isoformat() for t in df["fire_time"]] == [
        "2026-06-01T09:00:00+02:00",
        "2026-06-01T10:00:00+02:00",
    ]


def test_durations_forms() -> None:
    what = {
        "a": IntervalTrigger(minutes=30, start_time=S),
        "b": IntervalTrigger(minutes=30, start_time=S),
    }
    constant = nbsched.simulate(what, S, at(10), durations=120)
    assert set(constant["finished_at"] - constant["started_at"]) == {timedelta(minutes=2)}
    by_id = nbsched.simulate(what, S, at(10), durations={"a": minutes(5)})
    spans = by_id.groupby("schedule_id").apply(
        lambda g: set(g["finished_at"] - g["started_at"]), include_groups=False
    )
    assert spans.to_dict() == {"a": {minutes(5)}, "b": {timedelta(0)}}

    def by_fire(schedule_id: str, fire_time: datetime) -> timedelta:
        return minutes(fire_time.minute / 10 + (1 if schedule_id == "b" else 0))

    called = nbsched.simulate(what, S, at(10), durations=by_fire)
    assert [
        (r.schedule_id, r.fire_time.minute, r.finished_at - r.started_at)
        for r in called.itertuples()
    ] == [("a", 0, minutes(0)), ("b", 0, minutes(1)), ("a", 30, minutes(3)), ("b", 30, minutes(4))]


# --- downtime and the coalesce policies ----------------------------------------------------------

# every 10 minutes from 09:00, down from 10:00 to 10:35: the fires of 10:00, 10:10, 10:20 and
# 10:30 fall in the downtime and are handled at 10:35


@pytest.mark.parametrize(
    ("policy", "during"),
    [
        (
            CoalescePolicy.latest,
            [
                ("10:00", "coalesced", None, None),
                ("10:10", "coalesced", None, None),
                ("10:20", "coalesced", None, None),
                ("10:30", "ran", "10:35", 5.0),
            ],
        ),
        (
            CoalescePolicy.earliest,
            [
                ("10:00", "ran", "10:35", 35.0),
                ("10:10", "coalesced", None, None),
                ("10:20", "coalesced", None, None),
                ("10:30", "coalesced", None, None),
            ],
        ),
        (
            CoalescePolicy.all,
            [
                ("10:00", "ran", "10:35", 35.0),
                ("10:10", "ran", "10:35", 25.0),
                ("10:20", "ran", "10:35", 15.0),
                ("10:30", "ran", "10:35", 5.0),
            ],
        ),
    ],
)
def test_downtime_under_each_coalesce_policy(
    policy: CoalescePolicy, during: list[tuple[str, str, object, object]]
) -> None:
    df = nbsched.simulate(
        [every(10, coalesce=policy)], S, at(11, 30), downtime=[(at(10), at(10, 35))]
    )
    before = on_time("09:00", "09:10", "09:20", "09:30", "09:40", "09:50")
    after = on_time("10:40", "10:50", "11:00", "11:10", "11:20")
    assert rows(df) == before + during + after


def test_a_run_going_on_when_the_scheduler_goes_down_is_cancelled() -> None:
    df = nbsched.simulate(
        [every(60)], S, at(11), durations=minutes(20), downtime=[(at(9, 10), at(9, 30))]
    )
    first, second = df.itertuples()
    assert (first.outcome, first.started_at, first.finished_at) == ("cancelled", S, at(9, 10))
    assert (second.outcome, second.started_at, second.finished_at) == (
        "ran",
        at(10),
        at(10, 20),
    )


def test_downtime_past_the_end_merges_into_a_run_after_it() -> None:
    # back at 10:15: the fires of 09:50, 10:00 and 10:10 are due, "latest" runs 10:10's only
    df = nbsched.simulate([every(10)], S, at(10), downtime=[("2026-06-01T09:45Z", at(10, 15))])
    assert rows(df)[-2:] == [("09:40", "ran", "09:40", 0.0), ("09:50", "coalesced", None, None)]


def test_overlapping_downtimes_are_merged() -> None:
    df = nbsched.simulate(
        [every(10)],
        S,
        at(10),
        downtime=[(at(9, 5), at(9, 25)), (at(9, 20), at(9, 35)), (at(9, 50), at(9, 51))],
    )
    assert df.attrs["downtime"] == [(at(9, 5), at(9, 35)), (at(9, 50), at(9, 51))]
    assert rows(df) == [
        ("09:00", "ran", "09:00", 0.0),
        ("09:10", "coalesced", None, None),
        ("09:20", "coalesced", None, None),
        ("09:30", "ran", "09:35", 5.0),
        ("09:40", "ran", "09:40", 0.0),
        ("09:50", "ran", "09:51", 1.0),
    ]


# --- misfire grace time --------------------------------------------------------------------------


def test_misfire_grace_time_with_coalesce_all() -> None:
    # back at 10:25: 10:00 (deadline 10:10) and 10:10 (deadline 10:20) are missed, 10:20
    # (deadline 10:30) runs 5 minutes late
    df = nbsched.simulate(
        [every(10, coalesce=CoalescePolicy.all, misfire_grace_time=minutes(10))],
        at(9, 50),
        at(10, 40),
        downtime=[(at(10), at(10, 25))],
    )
    assert rows(df) == [
        ("09:50", "ran", "09:50", 0.0),
        ("10:00", "missed", None, None),
        ("10:10", "missed", None, None),
        ("10:20", "ran", "10:25", 5.0),
        ("10:30", "ran", "10:30", 0.0),
    ]
    missed = df[df.outcome == "missed"]
    assert missed["finished_at"].isna().all() and missed["lateness"].isna().all()


def test_misfire_grace_time_with_coalesce_latest() -> None:
    # back at 10:25: the latest due fire, 10:20, had until 10:22
    df = nbsched.simulate(
        [every(10, misfire_grace_time=minutes(2))],
        at(9, 50),
        at(10, 40),
        downtime=[(at(10), at(10, 25))],
    )
    assert rows(df) == [
        ("09:50", "ran", "09:50", 0.0),
        ("10:00", "coalesced", None, None),
        ("10:10", "coalesced", None, None),
        ("10:20", "missed", None, None),
        ("10:30", "ran", "10:30", 0.0),
    ]


# --- a 15-minute job every 10 minutes, max_running_jobs=1 ----------------------------------------


async def _long_job() -> None:
    """Stands for the real job; a simulation never calls it."""
    raise AssertionError("simulate() ran the scheduler's own job function")


def test_long_runs_queue_behind_max_running_jobs() -> None:
    # run k (fire 09:00 + 10k) starts when run k-1 ends, at 09:00 + 15k: 5k minutes late
    with Scheduler() as scheduler:
        scheduler.add_schedule(
            _long_job, IntervalTrigger(minutes=10, start_time=S), id="long", max_running_jobs=1
        )
        df = nbsched.simulate(scheduler, S, at(11), durations=minutes(15))
    assert len(df) == 12
    assert list(df["started_at"]) == [S + minutes(15 * k) for k in range(12)]
    assert list(df["finished_at"]) == [S + minutes(15 * k + 15) for k in range(12)]
    assert list(df["lateness"]) == [minutes(5 * k) for k in range(12)]
    assert set(df["outcome"]) == {"ran"}


def test_long_runs_with_a_grace_time_miss_every_other_fire() -> None:
    # the fire of 09:10 waits for 09:15, past its deadline 09:14: missed; 09:20 runs on time...
    with Scheduler() as scheduler:
        scheduler.configure_task(_long_job, max_running_jobs=1, misfire_grace_time=240)
        scheduler.add_schedule(_long_job, IntervalTrigger(minutes=10, start_time=S), id="long")
        df = nbsched.simulate(scheduler, S, at(10), durations=minutes(15))
    assert rows(df) == [
        ("09:00", "ran", "09:00", 0.0),
        ("09:10", "missed", None, None),
        ("09:20", "ran", "09:20", 0.0),
        ("09:30", "missed", None, None),
        ("09:40", "ran", "09:40", 0.0),
        ("09:50", "missed", None, None),
    ]


def test_now_before_start_carries_the_backlog_into_the_window() -> None:
    # the same queue, started at 08:00: fire k (08:00 + 10k) starts at 08:00 + 15k
    with Scheduler() as scheduler:
        scheduler.add_schedule(
            _long_job,
            IntervalTrigger(minutes=10, start_time=at(8)),
            id="long",
            max_running_jobs=1,
        )
        df = nbsched.simulate(scheduler, S, at(10), durations=minutes(15), now=at(8))
    assert [row[0] for row in rows(df)] == ["09:00", "09:10", "09:20", "09:30", "09:40", "09:50"]
    assert list(df["lateness"]) == [minutes(5 * k) for k in range(6, 12)]


def test_max_concurrent_jobs_is_copied() -> None:
    with Scheduler(max_concurrent_jobs=2) as scheduler:
        for name in ("a", "b", "c"):
            scheduler.add_schedule(_long_job, DateTrigger(S), id=name)
        df = nbsched.simulate(scheduler, S, at(10), durations=minutes(10))
    assert sorted(df["started_at"]) == [S, S, S + minutes(10)]


# --- jitter --------------------------------------------------------------------------------------


def test_jitter_stays_within_its_bound() -> None:
    df = nbsched.simulate([every(1, max_jitter=timedelta(seconds=30))], S, at(11))
    assert len(df) == 120
    assert (df["lateness"] >= timedelta(0)).all()
    assert (df["lateness"] <= timedelta(seconds=30)).all()
    assert df["lateness"].nunique() > 100  # random delays, not one fixed delay


def test_jitter_never_reaches_the_next_fire_time() -> None:
    df = nbsched.simulate([every(1, max_jitter=minutes(5))], S, at(10))
    assert (df["lateness"] < minutes(1)).all()
    assert df["lateness"].max() > timedelta(seconds=30)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"start": datetime(2026, 6, 1, 9)}, ValueError, "start: .* naive"),
        ({"end": at(8)}, ValueError, "end: .* is not after start"),
        ({"now": at(9, 30)}, ValueError, "now: .* is after start"),
        ({"durations": -5}, ValueError, "durations: -5 is negative"),
        ({"durations": "5m"}, TypeError, "durations: expected a timedelta"),
        ({"durations": {"nope": 5}}, ValueError, "durations: 'nope' is not the id"),
        ({"durations": lambda s, f: "long"}, TypeError, r"durations\('a', 2026-06-01T09:00"),
        ({"downtime": (at(9), at(10))}, TypeError, "downtime: expected a list of .* one pair"),
        ({"downtime": [(at(10), at(9, 30))]}, ValueError, r"downtime\[0\]: it ends"),
        ({"downtime": [(at(8), at(9, 30))]}, ValueError, r"downtime\[0\]: it starts .* before"),
        ({"downtime": [(at(11), at(12))]}, ValueError, r"downtime\[0\]: it starts .* after"),
        ({"downtime": [(at(9),)]}, TypeError, r"downtime\[0\]: expected a \(from, to\) pair"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: type, message: str) -> None:
    arguments = {"start": S, "end": at(11), **kwargs}
    with pytest.raises(error, match=message):
        nbsched.simulate({"a": IntervalTrigger(minutes=30, start_time=S)}, **arguments)


@pytest.mark.parametrize(
    ("what", "message"),
    [
        (42, "what: expected a scheduler"),
        ([IntervalTrigger(minutes=1)], r"what\[0\]: expected a Schedule, .* dict"),
        ({"a": 5}, r"what\['a'\]: expected a Trigger or a Schedule"),
        ({1: IntervalTrigger(minutes=1)}, "what: keys must be schedule names"),
        ([every(1), every(2)], r"what: schedule ids must be unique; repeated: \['job'\]"),
    ],
)
def test_bad_what_is_named(what: object, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        nbsched.simulate(what, S, at(10))


def test_tz_sets_the_zone_of_the_datetime_columns() -> None:
    df = nbsched.simulate([every(30)], S, at(10), durations=60, tz="Europe/Berlin")
    assert [t.isoformat() for t in df["fire_time"]] == [
        "2026-06-01T11:00:00+02:00",
        "2026-06-01T11:30:00+02:00",
    ]
    assert str(df["started_at"].dt.tz) == str(df["finished_at"].dt.tz) == "Europe/Berlin"
    with pytest.raises(ValueError, match="tz: "):
        nbsched.simulate([every(30)], S, at(10), tz="Mars/Olympus")


def test_a_paused_schedule_has_no_fire_times() -> None:
    with Scheduler() as scheduler:
        scheduler.add_schedule(_long_job, IntervalTrigger(minutes=30, start_time=S), id="on")
        scheduler.add_schedule(
            _long_job, IntervalTrigger(minutes=30, start_time=S), id="off", paused=True
        )
        df = nbsched.simulate(scheduler, S, at(10))
    assert list(df["schedule_id"]) == ["on", "on"]
