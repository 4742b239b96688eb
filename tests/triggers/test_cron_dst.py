"""CronTrigger keeps wall-clock time across DST changes, with the documented rules:

* a matching wall time that does not exist (spring forward) fires once, at the first instant
  after the gap;
* a matching wall time that exists twice (fall back) fires once, at its first occurrence,
  unless the hour field allows every hour: then the repeated stretch fires again as real time
  passes through it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from nbsched.abc import Trigger
from nbsched.triggers import CronTrigger

if TYPE_CHECKING:
    from tests.triggers.conftest import DstZone

UTC = timezone.utc


def run(trigger: CronTrigger, until: datetime) -> list[datetime]:
    fire_times = []
    while (fire_time := trigger.next()) is not None and fire_time <= until:
        fire_times.append(fire_time)
    return fire_times


def daily(dst_zone: DstZone, wall: datetime, day_before: datetime) -> list[datetime]:
    """The fire times of a daily trigger at ``wall`` on the three days from ``day_before``."""
    start = day_before.replace(hour=0, minute=0, second=0, tzinfo=None)
    trigger = CronTrigger(
        hour=wall.hour, minute=wall.minute, start_time=start, timezone=dst_zone.zone
    )
    return run(trigger, (start + timedelta(days=3, seconds=-1)).replace(tzinfo=dst_zone.zone))


def per_local_day(fire_times: list[datetime]) -> Counter:
    return Counter(f.date() for f in fire_times)


def test_daily_0230_fires_exactly_once_on_both_change_days(dst_zone: DstZone) -> None:
    for change in (dst_zone.gap, dst_zone.fold):
        change_day = change.utc.astimezone(dst_zone.zone).date()
        start = datetime.combine(change_day - timedelta(days=1), datetime.min.time())
        trigger = CronTrigger.from_crontab("30 2 * * *", timezone=dst_zone.zone, start_time=start)
        fire_times = run(trigger, (start + timedelta(days=3)).replace(tzinfo=dst_zone.zone))
        assert per_local_day(fire_times) == {start.date() + timedelta(days=d): 1 for d in range(3)}


def test_nonexistent_wall_time_fires_at_the_end_of_the_gap(dst_zone: DstZone) -> None:
    gap = dst_zone.gap
    inside = gap.wall_inside  # e.g. 02:30 in Berlin, 02:15 on Lord Howe
    fire_times = daily(dst_zone, inside, inside - timedelta(days=1))
    assert len(fire_times) == 3
    on_change_day = fire_times[1]
    assert on_change_day.astimezone(UTC) == gap.utc
    assert on_change_day.utcoffset() == gap.after
    # the wall clock reading right after the jump: 03:00 in Berlin, 02:30 on Lord Howe
    assert on_change_day.replace(tzinfo=None) == gap.utc.replace(tzinfo=None) + gap.after
    # and the days around it keep the wall time
    assert [f.time() for f in (fire_times[0], fire_times[2])] == [inside.time()] * 2


def test_ambiguous_wall_time_fires_once_at_its_first_occurrence(dst_zone: DstZone) -> None:
    fold = dst_zone.fold
    inside = fold.wall_inside  # e.g. 02:30 in Berlin, 01:45 on Lord Howe
    fire_times = daily(dst_zone, inside, inside - timedelta(days=1))
    assert [f.time() for f in fire_times] == [inside.time()] * 3
    assert per_local_day(fire_times) == {inside.date() + timedelta(days=d): 1 for d in (-1, 0, 1)}
    on_change_day = fire_times[1]
    assert on_change_day.utcoffset() == fold.before and on_change_day.fold == 0
    assert on_change_day.astimezone(UTC) < fold.utc


@pytest.mark.parametrize("hours_before", [1, 12, 20])
def test_the_first_fire_time_searched_from_a_plain_day_lands_on_the_change_day(
    dst_zone: DstZone, hours_before: int
) -> None:
    """The first search (not the cursor of a running trigger) from a day without DST change,
    finding a wall time on the change day, in the gap or in the repeated stretch."""
    for change, expected_utc in (
        (dst_zone.gap, dst_zone.gap.utc),
        (dst_zone.fold, None),
    ):
        inside = change.wall_inside
        start = change.utc - timedelta(hours=hours_before)
        trigger = CronTrigger(
            hour=inside.hour, minute=inside.minute, start_time=start, timezone=dst_zone.zone
        )
        first = trigger.next()
        assert first is not None
        if expected_utc is not None:  # the gap: the moment the clocks jump
            assert first.astimezone(UTC) == expected_utc
        elif first.date() == inside.date():  # the repeated stretch: its first pass
            assert first.replace(tzinfo=None) == inside and first.fold == 0
            assert first.utcoffset() == change.before
        else:  # started after the first pass on that day
            assert first.replace(tzinfo=None) == inside + timedelta(days=1)


def test_every_15_minutes_keeps_real_time_through_both_changes(dst_zone: DstZone) -> None:
    """With every hour allowed, the trigger runs through the repeated stretch a second time
    and the skipped stretch collapses: fire times stay exactly 15 real minutes apart."""
    for change in (dst_zone.gap, dst_zone.fold):
        start = change.utc - timedelta(hours=3)
        trigger = CronTrigger.from_crontab(
            "*/15 * * * *", timezone=dst_zone.zone, start_time=start
        )
        fire_times = run(trigger, change.utc + timedelta(hours=3))
        steps = {b.astimezone(UTC) - a.astimezone(UTC) for a, b in pairwise(fire_times)}
        assert steps == {timedelta(minutes=15)}
        assert len(fire_times) == 6 * 4 + 1
        assert all(f.minute % 15 == 0 and f.second == 0 for f in fire_times)


def test_hourly_fires_twice_in_a_repeated_hour(dst_zone: DstZone) -> None:
    fold = dst_zone.fold
    trigger = CronTrigger.from_crontab(
        "0 * * * *", timezone=dst_zone.zone, start_time=fold.utc - timedelta(hours=4)
    )
    fire_times = run(trigger, fold.utc + timedelta(hours=4))
    assert len({f.astimezone(UTC) for f in fire_times}) == len(fire_times)
    walls = Counter(f.replace(tzinfo=None, fold=0) for f in fire_times)
    repeated = [wall for wall, count in walls.items() if count == 2]
    if fold.size == timedelta(hours=1):
        # the hour that passes twice fires twice, once per UTC offset
        assert len(repeated) == 1
        twice = [f for f in fire_times if f.replace(tzinfo=None, fold=0) == repeated[0]]
        assert [f.utcoffset() for f in twice] == [fold.before, fold.after]
        # so it keeps firing every real hour
        assert len(fire_times) == 9
        steps = {b.astimezone(UTC) - a.astimezone(UTC) for a, b in pairwise(fire_times)}
        assert steps == {timedelta(hours=1)}
    else:
        # Lord Howe repeats 01:30-02:00: no full hour occurs twice
        assert repeated == []


def test_fixed_hour_with_every_minute_fires_once_per_wall_time(dst_zone: DstZone) -> None:
    fold = dst_zone.fold
    inside = fold.wall_inside
    trigger = CronTrigger(
        hour=inside.hour,
        minute="*",
        start_time=inside.replace(hour=0, minute=0),
        timezone=dst_zone.zone,
    )
    fire_times = run(trigger, (inside + timedelta(hours=2)).replace(tzinfo=dst_zone.zone))
    assert len(fire_times) == 60
    assert len({f.replace(tzinfo=None, fold=0) for f in fire_times}) == 60


def test_start_inside_the_second_pass(dst_zone: DstZone) -> None:
    fold = dst_zone.fold
    second_pass = fold.utc + fold.size / 2  # a real instant in the repeated stretch, new offset
    inside = second_pass.astimezone(dst_zone.zone)
    assert inside.fold == 1
    # hour restricted: the first occurrence already passed, so the next fire is the next day
    fixed = CronTrigger(
        hour=inside.hour, minute=inside.minute, start_time=second_pass, timezone=dst_zone.zone
    )
    first = fixed.next()
    assert first is not None and first.date() == inside.date() + timedelta(days=1)
    # every hour allowed: it fires in the second pass
    every = CronTrigger(
        hour="*", minute=inside.minute, start_time=second_pass, timezone=dst_zone.zone
    )
    first = every.next()
    assert first is not None and first.astimezone(UTC) == second_pass and first.fold == 1


def test_state_round_trip_inside_the_fold(
    dst_zone: DstZone, round_trip: Callable[[Trigger, int], list]
) -> None:
    fold = dst_zone.fold
    for advance in range(1, 9):
        trigger = CronTrigger.from_crontab(
            "*/10 * * * *", timezone=dst_zone.zone, start_time=fold.utc - timedelta(minutes=40)
        )
        round_trip(trigger, advance)


def test_state_round_trip_across_the_gap(
    dst_zone: DstZone, round_trip: Callable[[Trigger, int], list]
) -> None:
    gap = dst_zone.gap
    inside = gap.wall_inside
    for advance in range(3):
        trigger = CronTrigger(
            hour=inside.hour,
            minute=inside.minute,
            start_time=(inside - timedelta(days=1)).replace(hour=0, minute=0),
            timezone=dst_zone.zone,
        )
        round_trip(trigger, advance)


def test_start_exactly_at_the_end_of_a_gap_fires_the_skipped_time(dst_zone: DstZone) -> None:
    gap = dst_zone.gap
    inside = gap.wall_inside
    trigger = CronTrigger(
        hour=inside.hour, minute=inside.minute, start_time=gap.utc, timezone=dst_zone.zone
    )
    first = trigger.next()
    assert first is not None and first.astimezone(UTC) == gap.utc


def test_nonexistent_start_time_is_the_moment_the_clocks_jump(dst_zone: DstZone) -> None:
    """Given as an aware datetime (either ``fold``), a naive one or a string without offset,
    a start wall time that does not exist is the moment the clocks jump: a fire time that
    falls in the gap or right after it on that day is not lost (APScheduler 4 agrees: it
    searches from the wall time as given)."""
    gap = dst_zone.gap
    wall = gap.wall_inside
    after_gap = (gap.utc + timedelta(minutes=1)).astimezone(dst_zone.zone)
    starts: list[datetime | str] = [
        wall.replace(tzinfo=dst_zone.zone),
        wall.replace(tzinfo=dst_zone.zone, fold=1),
        wall,
        wall.isoformat(),
    ]
    for start in starts:
        trigger = CronTrigger(
            hour=after_gap.hour, minute=after_gap.minute, start_time=start, timezone=dst_zone.zone
        )
        assert trigger.start_time.astimezone(UTC) == gap.utc
        first = trigger.next()
        assert first is not None and first.astimezone(UTC) == gap.utc + timedelta(minutes=1)


def test_nonexistent_end_time_is_the_moment_the_clocks_jump(dst_zone: DstZone) -> None:
    gap = dst_zone.gap
    wall = gap.wall_inside
    for end in (wall.replace(tzinfo=dst_zone.zone), wall):
        trigger = CronTrigger(
            minute="*/5",
            hour="*",
            start_time=gap.utc - timedelta(minutes=12),
            end_time=end,
            timezone=dst_zone.zone,
        )
        assert trigger.end_time is not None and trigger.end_time.astimezone(UTC) == gap.utc
        fires = [t.astimezone(UTC) for t in trigger]
        assert fires[-1] == gap.utc  # the times in the gap fire when the clocks jump
        assert all(t <= gap.utc for t in fires)


def test_end_before_start_is_judged_by_instant_not_wall_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    first_pass = datetime(2026, 10, 25, 2, 45, tzinfo=berlin, fold=0)  # 00:45 UTC
    second_pass = datetime(2026, 10, 25, 2, 15, tzinfo=berlin, fold=1)  # 01:15 UTC
    trigger = CronTrigger(
        minute="*/15", hour="*", start_time=first_pass, end_time=second_pass, timezone=berlin
    )
    assert [t.astimezone(UTC).time().isoformat() for t in trigger] == [
        "00:45:00",
        "01:00:00",
        "01:15:00",
    ]
    with pytest.raises(ValueError, match="^end_time: .* is before start_time"):
        CronTrigger(minute="*/15", start_time=second_pass, end_time=first_pass, timezone=berlin)
