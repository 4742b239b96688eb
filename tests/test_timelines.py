"""nbsched.timeline / atimeline / preview, the timeline chart and the Timeline widget."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import nbsched
from nbsched import Schedule
from nbsched._chart import VEGALITE_MIME, timeline_chart
from nbsched._marshalling import clone_trigger
from nbsched.abc import Trigger
from nbsched.datastores.memory import MemoryDataStore
from nbsched.datastores.sqlite import SQLiteDataStore
from nbsched.timelines import (
    DEFAULT_LIMIT,
    MAX_FIRES_PER_SCHEDULE,
    past_runs,
    preview,
    timeline,
    track_runs,
)
from nbsched.triggers import CalendarIntervalTrigger, DateTrigger, IntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


class Steps(Trigger):
    """A plain custom trigger: ``count`` fires ``step`` seconds apart (in UTC) from ``start``."""

    def __init__(self, start: datetime, step: float, count: int | None = None):
        self._next = start
        self._step = step
        self._left = count

    def next(self) -> datetime | None:
        if self._left == 0:
            return None
        if self._left is not None:
            self._left -= 1
        fire_time = self._next
        self._next = (self._next.astimezone(UTC) + timedelta(seconds=self._step)).astimezone(
            self._next.tzinfo
        )
        return fire_time

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "next": self._next.astimezone(UTC).isoformat(),
            "zone": str(self._next.tzinfo),
            "step": self._step,
            "left": self._left,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._next = datetime.fromisoformat(state["next"]).astimezone(ZoneInfo(state["zone"]))
        self._step = state["step"]
        self._left = state["left"]

    def __str__(self) -> str:
        return f"every {self._step:g}s"


class Returns(Trigger):
    """A broken trigger that returns the given values in turn, then repeats the last one."""

    def __init__(self, *values: Any):
        self._values = list(values)
        self._index = 0

    def next(self) -> Any:
        value = self._values[min(self._index, len(self._values) - 1)]
        self._index += 1
        return value

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "values": self._values, "index": self._index}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._values = state["values"]
        self._index = state["index"]


def layer_values(spec: dict[str, Any], mark: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The layer of ``spec`` with that mark type, and its data rows (inline or in datasets)."""
    layer = next(layer for layer in spec["layer"] if layer["mark"]["type"] == mark)
    data = layer.get("data", spec.get("data"))  # Altair hoists the data of a single layer
    return layer, data["values"] if "values" in data else spec["datasets"][data["name"]]


def first_n(trigger: Trigger, n: int) -> list[datetime]:
    return list(itertools.islice(clone_trigger(trigger), n))


START = datetime(2027, 3, 27, 22, 0, tzinfo=BERLIN)  # the night clocks go forward in Berlin


@pytest.fixture(
    params=["custom", "interval", "calendar"],
)
def trigger(request: pytest.FixtureRequest) -> Trigger:
    if request.param == "custom":
        return Steps(START, 1800)
    if request.param == "interval":
        return IntervalTrigger(minutes=45, start_time=START)
    return CalendarIntervalTrigger(
        days=1, hour=2, minute=30, start_date="2027-03-25", timezone="Europe/Berlin"
    )


# --- fire times --------------------------------------------------------------------------------


def test_fire_times_are_the_trigger_sequence(trigger: Trigger) -> None:
    expected = first_n(trigger, 12)

    frame = timeline(trigger, limit=12)

    assert list(frame.columns[:3]) == ["schedule_id", "fire_time", "trigger"]
    assert [t.to_pydatetime() for t in frame["fire_time"]] == expected
    assert list(frame["n"]) == list(range(1, 13))
    assert set(frame["schedule_id"]) == {"trigger"}
    assert set(frame["trigger"]) == {str(trigger)}


def test_fire_times_are_tz_aware_in_the_trigger_zone(trigger: Trigger) -> None:
    frame = timeline(trigger, limit=5)

    assert isinstance(frame["fire_time"].dtype, pd.DatetimeTZDtype)
    assert str(frame["fire_time"].dt.tz) == "Europe/Berlin"


def test_calendar_trigger_across_spring_forward_keeps_wall_clock() -> None:
    trigger = CalendarIntervalTrigger(
        days=1, hour=2, minute=30, start_date="2027-03-27", timezone="Europe/Berlin"
    )

    frame = timeline(trigger, limit=3)

    # 02:30 does not exist on 28 March 2027; nbsched.triggers documents firing it at the
    # moment the clocks jump, 03:00 CEST
    assert [t.strftime("%m-%d %H:%M %z") for t in frame["fire_time"]] == [
        "03-27 02:30 +0100",
        "03-28 03:00 +0200",
        "03-29 02:30 +0200",
    ]


def test_repeated_hour_of_fall_back_is_listed_and_filtered_in_real_time() -> None:
    # 31 Oct 2027: 02:00-02:59 Berlin happens twice (+0200, then +0100). Two datetimes with
    # the same tzinfo compare by wall clock in Python, so this needs real-time comparisons.
    trigger = IntervalTrigger(minutes=30, start_time=datetime(2027, 10, 31, 1, 30, tzinfo=BERLIN))
    second_two = datetime(2027, 10, 31, 2, 0, fold=1, tzinfo=BERLIN)  # 02:00 +0100

    frame = timeline(trigger, start=datetime(2027, 10, 31, 2, 15, tzinfo=BERLIN), end=second_two)

    assert list(frame["fire_time"].dt.strftime("%H:%M%z")) == [
        "02:30+0200",
        "02:00+0100",
    ]


def test_live_trigger_is_not_advanced(trigger: Trigger) -> None:
    state = trigger.__getstate__()
    expected_next = clone_trigger(trigger).next()

    timeline(trigger, limit=50)
    timeline([trigger, trigger], end=START + timedelta(days=3))
    preview(trigger, n=10)

    assert trigger.__getstate__() == state
    assert trigger.next() == expected_next


def test_tz_argument_converts_the_column() -> None:
    frame = timeline(Steps(START, 60), limit=2, tz="UTC")

    assert str(frame["fire_time"].dt.tz) == "UTC"
    assert frame["fire_time"].iloc[0] == pd.Timestamp("2027-03-27 21:00", tz="UTC")


def test_mixed_zones_are_shown_in_utc() -> None:
    tokyo = Steps(datetime(2027, 1, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo")), 3600)
    berlin = Steps(datetime(2027, 1, 1, 1, tzinfo=BERLIN), 3600)

    frame = timeline([tokyo, berlin], limit=2)

    assert str(frame["fire_time"].dt.tz) == "UTC"
    assert list(frame["fire_time"].dt.strftime("%H:%M")) == ["00:00", "00:00", "01:00", "01:00"]


# --- inputs ------------------------------------------------------------------------------------


def test_list_gives_one_lane_per_trigger_sorted_by_fire_time() -> None:
    slow = Steps(START, 3600)
    fast = Steps(START + timedelta(minutes=10), 1200)

    frame = timeline([slow, fast], limit=3)

    assert len(frame) == 6
    assert frame["fire_time"].is_monotonic_increasing
    assert list(frame["schedule_id"]) == [
        "trigger-1",
        "trigger-2",
        "trigger-2",
        "trigger-2",
        "trigger-1",
        "trigger-1",
    ]


def test_mapping_names_the_lanes() -> None:
    frame = timeline({"hourly": Steps(START, 3600), "daily": Steps(START, 86400)}, limit=2)

    assert sorted(frame["schedule_id"].unique()) == ["daily", "hourly"]
    daily = frame[frame["schedule_id"] == "daily"]["fire_time"]
    assert list(daily) == [pd.Timestamp(START), pd.Timestamp(START) + pd.Timedelta(days=1)]


def test_stored_schedule_starts_at_its_next_fire_time() -> None:
    # What a store holds: next_fire_time was already taken from the trigger.
    trigger = Steps(START, 600)
    next_fire = trigger.next()
    schedule = Schedule(
        id="backup", task_id="t", trigger=trigger, next_fire_time=next_fire, paused=True
    )

    frame = timeline(schedule, limit=3)

    assert list(frame["fire_time"]) == [
        pd.Timestamp(START + timedelta(minutes=m)) for m in (0, 10, 20)
    ]
    assert set(frame["schedule_id"]) == {"backup"}
    assert frame["paused"].all()
    assert trigger.next() == START + timedelta(minutes=10)


def test_fresh_schedule_uses_its_trigger_from_the_start() -> None:
    schedule = Schedule(id="new", task_id="t", trigger=Steps(START, 600))

    frame = timeline([schedule], limit=2)

    assert list(frame["fire_time"]) == [
        pd.Timestamp(START),
        pd.Timestamp(START + timedelta(minutes=10)),
    ]
    assert not frame["paused"].any()


def test_exhausted_triggers_stop_early() -> None:
    run_time = datetime(2027, 5, 1, 12, tzinfo=BERLIN)

    frame = timeline({"once": DateTrigger(run_time), "three": Steps(START, 60, count=3)})

    assert frame.groupby("schedule_id").size().to_dict() == {"once": 1, "three": 3}


def test_empty_list_gives_empty_frame_with_columns() -> None:
    frame = timeline([])

    assert list(frame.columns) == ["schedule_id", "fire_time", "trigger", "paused", "n"]
    assert len(frame) == 0
    assert isinstance(frame["fire_time"].dtype, pd.DatetimeTZDtype)


def test_sync_scheduler_schedules_are_read() -> None:
    clock = nbsched.FakeClock(datetime(2027, 1, 1, tzinfo=UTC))
    with nbsched.Scheduler(clock=clock) as scheduler:
        trigger = IntervalTrigger(minutes=5, start_time=datetime(2027, 1, 1, 0, 5, tzinfo=UTC))
        scheduler.add_schedule(print, trigger, id="five")
        scheduler.add_schedule(
            print, DateTrigger(datetime(2027, 1, 1, 0, 7, tzinfo=UTC)), id="once", paused=True
        )

        frame = timeline(scheduler, limit=3)

        stored = {s.id: s for s in scheduler.get_schedules()}
    assert list(
        zip(frame["schedule_id"], frame["fire_time"].dt.strftime("%H:%M"), strict=True)
    ) == [
        ("five", "00:05"),
        ("once", "00:07"),
        ("five", "00:10"),
        ("five", "00:15"),
    ]
    assert frame.set_index("schedule_id")["paused"].to_dict() == {"five": False, "once": True}
    assert stored["five"].next_fire_time == datetime(2027, 1, 1, 0, 5, tzinfo=UTC)


@pytest.mark.anyio
async def test_async_scheduler_with_atimeline() -> None:
    clock = nbsched.FakeClock(datetime(2027, 1, 1, tzinfo=UTC))
    async with nbsched.AsyncScheduler(clock=clock) as scheduler:
        trigger = IntervalTrigger(hours=1, start_time=datetime(2027, 1, 1, 1, tzinfo=UTC))
        await scheduler.add_schedule(print, trigger, id="hourly")

        frame = await nbsched.atimeline(scheduler, limit=2)

        assert list(frame["fire_time"].dt.hour) == [1, 2]
        assert (await scheduler.get_schedule("hourly")).next_fire_time == datetime(
            2027, 1, 1, 1, tzinfo=UTC
        )


@pytest.mark.anyio
async def test_async_scheduler_with_memory_store_is_read_synchronously() -> None:
    # what a notebook cell does with the kernel's scheduler: a plain call on the running loop
    clock = nbsched.FakeClock(datetime(2027, 1, 1, tzinfo=UTC))
    async with nbsched.AsyncScheduler(clock=clock) as scheduler:
        trigger = IntervalTrigger(minutes=30, start_time=datetime(2027, 1, 1, 1, tzinfo=UTC))
        await scheduler.add_schedule(print, trigger, id="half-hourly")

        frame = timeline(scheduler, limit=3)

    assert list(frame["fire_time"].dt.strftime("%H:%M")) == ["01:00", "01:30", "02:00"]


class WaitingMemoryStore(MemoryDataStore):
    """A store whose reads really wait, like a network store."""

    async def get_schedules(self, ids: Any = None) -> list[Schedule]:
        await asyncio.sleep(0)
        return await super().get_schedules(ids)


@pytest.mark.anyio
async def test_async_store_that_waits_needs_atimeline() -> None:
    async with nbsched.AsyncScheduler(WaitingMemoryStore()) as scheduler:
        trigger = IntervalTrigger(minutes=30, start_time=datetime(2027, 1, 1, 1, tzinfo=UTC))
        await scheduler.add_schedule(print, trigger, id="half-hourly")

        with pytest.raises(TypeError, match=r"use `await nbsched.atimeline\(scheduler\)`"):
            timeline(scheduler)
        frame = await nbsched.atimeline(scheduler, limit=2)

    assert list(frame["schedule_id"]) == ["half-hourly", "half-hourly"]


@pytest.mark.anyio
async def test_async_scheduler_with_sqlite_store_is_read_synchronously(tmp_path: Any) -> None:
    store = SQLiteDataStore(tmp_path / "schedules.db")
    async with nbsched.AsyncScheduler(store) as scheduler:
        trigger = IntervalTrigger(hours=2, start_time=datetime(2027, 1, 1, 1, tzinfo=UTC))
        await scheduler.add_schedule(print, trigger, id="two-hourly")

        frame = timeline(scheduler, limit=2)

    assert list(frame["fire_time"].dt.strftime("%H:%M")) == ["01:00", "03:00"]


calls: list[datetime] = []


def fails_every_second_run() -> None:
    calls.append(datetime.now(UTC))
    if len(calls) % 2 == 0:
        raise RuntimeError("every second run fails")


@pytest.mark.anyio
async def test_past_runs_are_tracked_and_coloured_by_outcome() -> None:
    calls.clear()
    clock = nbsched.FakeClock(datetime(2027, 1, 1, tzinfo=UTC))
    async with nbsched.AsyncScheduler(clock=clock) as scheduler:
        track_runs(scheduler)
        trigger = IntervalTrigger(minutes=1, start_time=datetime(2027, 1, 1, 0, 1, tzinfo=UTC))
        await scheduler.add_schedule(fails_every_second_run, trigger, id="flaky")
        scheduler.start_in_background()
        await clock.advance(timedelta(minutes=3))

        runs = past_runs(scheduler)
        chart = nbsched.timeline_chart(scheduler, now=clock.now())
        await scheduler.stop()
        await scheduler.wait_until_stopped()

    assert runs is not None
    assert list(runs["outcome"]) == ["success", "error", "success"]
    assert list(runs["fire_time"].dt.strftime("%H:%M")) == ["00:01", "00:02", "00:03"]
    statuses = list(zip(chart.data["status"], chart.data["when"], strict=True))
    assert statuses[:4] == [
        ("success", "2027-01-01 00:01:00 UTC (UTC+0000)"),
        ("error", "2027-01-01 00:02:00 UTC (UTC+0000)"),
        ("success", "2027-01-01 00:03:00 UTC (UTC+0000)"),
        ("upcoming", "2027-01-01 00:04:00 UTC (UTC+0000)"),
    ]


# --- start / end / limit -----------------------------------------------------------------------


def test_default_limit_without_end() -> None:
    assert len(timeline(Steps(START, 1))) == DEFAULT_LIMIT


def test_end_is_inclusive_and_start_filters() -> None:
    trigger = Steps(START, 600)

    frame = timeline(trigger, start=START + timedelta(minutes=15), end=START + timedelta(hours=1))

    assert list(frame["fire_time"]) == [
        pd.Timestamp(START + timedelta(minutes=m)) for m in (20, 30, 40, 50, 60)
    ]


def test_limit_applies_per_schedule_with_end() -> None:
    frame = timeline([Steps(START, 60), Steps(START, 120)], end=START + timedelta(days=1), limit=4)

    assert frame.groupby("schedule_id").size().to_dict() == {"trigger-1": 4, "trigger-2": 4}


def test_strings_are_accepted_for_start_and_end() -> None:
    frame = timeline(
        Steps(START, 3600), start="2027-03-27T23:30:00+01:00", end="2027-03-28T01:00:00+01:00"
    )

    assert list(frame["fire_time"].dt.strftime("%H:%M")) == ["00:00", "01:00"]


def test_end_alone_with_too_many_fires_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match=rf"end: lane 'trigger' has more than "
        rf"{MAX_FIRES_PER_SCHEDULE} fire times",
    ):
        timeline(Steps(START, 0.001), end=START + timedelta(days=1))


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"obj": 42}, TypeError, r"obj: expected a Trigger, a Schedule, .* got int 42"),
        ({"obj": "0 * * * *"}, TypeError, r"obj: expected a Trigger.* got str"),
        (
            {"obj": [Steps(START, 1), "x"]},
            TypeError,
            r"obj\[1\]: expected a Trigger or a "
            r"Schedule, got str 'x'",
        ),
        ({"obj": {1: Steps(START, 1)}}, TypeError, r"obj: mapping keys must be lane names"),
        ({"limit": 0}, ValueError, r"limit: expected a positive int or None, got 0"),
        ({"limit": "5"}, TypeError, r"limit: expected a positive int or None, got str"),
        ({"start": datetime(2027, 1, 1)}, ValueError, r"start: .* is a naive datetime"),
        ({"end": "tomorrow"}, ValueError, r"end: 'tomorrow' is not an ISO 8601"),
        ({"start": START, "end": START - timedelta(1)}, ValueError, r"end: .* is before start"),
        ({"tz": "Mars/Olympus"}, ValueError, r"tz: unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    kwargs.setdefault("obj", Steps(START, 60))

    with pytest.raises(error, match=message):
        timeline(**kwargs)


@pytest.mark.parametrize(
    ("trigger", "error", "message"),
    [
        (Returns(datetime(2027, 1, 1)), ValueError, r"returned the naive datetime .* call 1"),
        (Returns("2027-01-01"), TypeError, r"returned '2027-01-01' from next\(\) call 1"),
        (
            Returns(datetime(2027, 1, 1, tzinfo=UTC)),
            ValueError,
            r"returned 2027-01-01 00:00:00\+00:00 after 2027-01-01 00:00:00\+00:00 "
            r"\(next\(\) call 2\); fire times must strictly increase",
        ),
    ],
)
def test_broken_trigger_gets_a_clear_error(
    trigger: Trigger, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        timeline(trigger, end=datetime(2028, 1, 1, tzinfo=UTC))


# --- chart -------------------------------------------------------------------------------------


def test_chart_bundle_is_vegalite_v5_with_one_marker_per_fire_and_a_lane_per_schedule() -> None:
    frame = timeline({"a": Steps(START, 3600), "b": Steps(START, 1800)}, limit=4)

    bundle, metadata = timeline_chart(frame)._repr_mimebundle_()

    spec = bundle[VEGALITE_MIME]
    assert spec["$schema"].endswith("/v5.json")
    assert "text/html" not in bundle  # JupyterLab would prefer it over the chart
    assert metadata == {VEGALITE_MIME: {"embed_options": {"renderer": "svg"}}}
    points, values = layer_values(spec, "point")
    assert len(values) == 8
    assert points["encoding"]["y"]["sort"] == ["a", "b"]
    assert {v["status"] for v in values} == {"upcoming"}
    # wall-clock positions in Berlin time, whatever the browser's zone
    assert values[0]["wall"] == "2027-03-27T22:00:00.000Z"
    assert points["encoding"]["x"]["scale"]["type"] == "utc"
    assert points["encoding"]["x"]["axis"]["format"] == "%a %H:%M"  # fits the 3-hour span
    assert "Europe/Berlin" in points["encoding"]["x"]["title"]


def test_chart_colours_past_runs_by_outcome_and_draws_now() -> None:
    now = datetime(2027, 3, 27, 22, 30, tzinfo=BERLIN)
    frame = timeline({"job": Steps(now + timedelta(minutes=10), 600)}, limit=3)
    runs = pd.DataFrame(
        {
            "schedule_id": ["job", "job"],
            "fire_time": [now - timedelta(minutes=20), now - timedelta(minutes=10)],
            "outcome": ["success", "error"],
        }
    )

    chart = timeline_chart(frame, runs=runs, now=now)

    spec = chart.to_dict()
    _rule, now_values = layer_values(spec, "rule")
    assert now_values[0]["wall"] == "2027-03-27T22:30:00.000Z"
    points, values = layer_values(spec, "point")
    assert [v["status"] for v in values] == [
        "success",
        "error",
        "upcoming",
        "upcoming",
        "upcoming",
    ]
    colour = points["encoding"]["color"]["scale"]
    assert dict(zip(colour["domain"], colour["range"], strict=True)) == {
        "upcoming": "#4c78a8",
        "success": "#54a24b",
        "error": "#e45756",
    }


def test_chart_leaves_out_a_now_far_from_the_fires() -> None:
    frame = timeline(Steps(START, 60), limit=3)

    spec = timeline_chart(frame, now=START + timedelta(days=300)).to_dict()

    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["point"]


def test_chart_accepts_what_timeline_accepts() -> None:
    chart = nbsched.timeline_chart([Steps(START, 60), Steps(START, 90)])

    assert len(chart.data) == 2 * DEFAULT_LIMIT
    assert repr(chart).startswith("<nbsched timeline chart: 40 upcoming fire(s)")


def test_chart_spec_is_json_and_valid_vega_lite() -> None:
    frame = timeline({"a": Steps(START, 3600)}, limit=3)
    chart = timeline_chart(frame, now=START + timedelta(minutes=30), title="t")

    assert json.loads(json.dumps(chart.to_dict())) == chart.to_dict()
    # Altair validates the spec against the Vega-Lite schema on the way in and out
    as_altair = chart.to_altair()
    assert [layer["mark"]["type"] for layer in as_altair.to_dict()["layer"]] == ["rule", "point"]


def test_chart_refuses_a_frame_without_fire_times() -> None:
    with pytest.raises(ValueError, match=r"data: the DataFrame has no 'fire_time' column"):
        timeline_chart(pd.DataFrame({"schedule_id": ["x"]}))


# --- preview -----------------------------------------------------------------------------------


def test_preview_of_a_good_trigger() -> None:
    trigger = IntervalTrigger(hours=6, start_time=START)
    state = trigger.__getstate__()

    result = nbsched.preview(trigger, n=5)

    assert result.check.passed
    assert "check_trigger passed" in result.check.message
    assert result.table is not None
    assert list(result.table["fire_time"]) == [pd.Timestamp(t) for t in first_n(trigger, 5)]
    assert result.chart is not None
    assert VEGALITE_MIME in result.chart._repr_mimebundle_()[0]
    assert trigger.__getstate__() == state
    assert repr(result).startswith("PASS check_trigger passed")


def test_preview_of_a_broken_trigger_names_the_rule() -> None:
    stuck = Returns(datetime(2027, 1, 1, tzinfo=UTC))

    result = nbsched.preview(stuck, n=5)

    assert not result.check.passed
    assert result.check.message.startswith("rule broken:")
    assert result.table is None
    assert "fire times must strictly increase" in (result.error or "")
    html = result._repr_html_()
    assert "rule broken:" in html and "no fire times:" in html


def test_preview_reflects_an_edited_class_at_once() -> None:
    class Custom(Steps):
        pass

    first = nbsched.preview(Custom(START, 60), n=3)

    class Custom(Steps):  # type: ignore[no-redef]  # the user edits and re-runs the cell
        def next(self) -> datetime | None:
            fire_time = super().next()
            return None if fire_time is None else fire_time.replace(tzinfo=None)

    second = nbsched.preview(Custom(START, 60), n=3)

    assert first.check.passed and first.table is not None
    assert not second.check.passed
    assert "naive" in second.check.message or "aware" in second.check.message
    assert second.table is None


@pytest.mark.parametrize(
    ("gap", "text"),
    [
        (timedelta(seconds=1), "1 s"),
        (timedelta(hours=1, minutes=30), "1 h 30 min"),
        (timedelta(days=2, seconds=5), "2 d 5 s"),
        (timedelta(milliseconds=250), "0.25 s"),
        (timedelta(minutes=1, milliseconds=500), "1 min 0.5 s"),
        (timedelta(microseconds=1), "0.000001 s"),
        (timedelta(0), "0 s"),
        (timedelta(seconds=-90), "-1 min 30 s"),
    ],
)
def test_gaps_read_as_durations_exactly(gap: timedelta, text: str) -> None:
    from nbsched._preview import format_gap

    assert format_gap(gap) == text


def test_preview_shows_readable_gaps_and_the_check_as_sentences() -> None:
    trigger = IntervalTrigger(hours=1, minutes=30, start_time=START)

    result = nbsched.preview(trigger, n=4)

    compact = result.compact_table()
    assert compact is not None
    assert list(compact["gap"]) == ["—", "1 h 30 min", "1 h 30 min", "1 h 30 min"]
    shown = repr(result) + result._repr_html_()
    assert "days" not in shown and "TriggerCheckReport" not in shown
    assert "calls of next(): " in shown and "continued the same sequence" in shown
    # bold green is the verdict alone; what the check did follows in plain text
    html = result._repr_html_()
    verdict = html[: html.index("</div>")]
    assert "font-weight:600" in verdict and "calls of next()" not in verdict
    assert result.note is None  # all 4 asked for


def test_preview_says_why_it_shows_fewer_fire_times_than_asked() -> None:
    first = datetime(2027, 1, 1, tzinfo=UTC)
    end = first + timedelta(hours=9)
    trigger = IntervalTrigger(hours=1, minutes=30, start_time=first, end_time=end)

    result = nbsched.preview(trigger, n=10)

    assert result.table is not None and len(result.table) == 7
    assert result.note == (
        "only 7 fire times, not the 10 asked for: the trigger ends there (next() returned "
        "None after the last one shown)"
    )
    assert result.note in repr(result)
    assert "only 7 fire times, not the 10 asked for" in result._repr_html_()
    # a trigger with no fire time at all says that
    empty = nbsched.preview(Steps(START, 60, count=0), n=3)
    assert empty.table is not None and len(empty.table) == 0
    assert empty.note == "no fire times: the trigger's first next() returned None (asked for 3)"


def test_preview_refuses_a_non_trigger() -> None:
    with pytest.raises(TypeError, match=r"trigger: expected a Trigger .* got str"):
        nbsched.preview("*/5 * * * *")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_postgresql_store_is_never_read_halfway(postgresql_dsn: str) -> None:
    import uuid

    from nbsched.datastores.postgresql import PostgreSQLDataStore
    from nbsched.timelines import reads_synchronously

    store = PostgreSQLDataStore(postgresql_dsn, schema=f"timeline_{uuid.uuid4().hex[:10]}")
    async with nbsched.AsyncScheduler(store) as scheduler:
        trigger = IntervalTrigger(minutes=30, start_time=datetime(2027, 1, 1, 1, tzinfo=UTC))
        await scheduler.add_schedule(print, trigger, id="half-hourly")
        assert not reads_synchronously(scheduler)
        for _attempt in range(3):  # no connection is left mid-query by an abandoned read
            with pytest.raises(TypeError, match=r"use `await nbsched.atimeline\(scheduler\)`"):
                timeline(scheduler)
        frame = await nbsched.atimeline(scheduler, limit=2)
        assert len(await scheduler.get_schedules()) == 1

    assert list(frame["schedule_id"]) == ["half-hourly", "half-hourly"]
