"""CronTrigger: triggers with the same expression share one compiled spec (so 100,000 schedules
cost little memory), without sharing their positions, and across threads."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nbsched._marshalling import clone_trigger
from nbsched.triggers import CronTrigger
from nbsched.triggers._registry import SpecRegistry
from nbsched.triggers.cron import _spec

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 1, 1, tzinfo=BERLIN)


def restored(trigger: CronTrigger) -> CronTrigger:
    copy = CronTrigger.__new__(CronTrigger)
    copy.__setstate__(json.loads(json.dumps(trigger.__getstate__())))
    return copy


def test_equal_keyword_specs_share_one_compiled_spec() -> None:
    first = CronTrigger(day_of_week="mon-fri", hour=9, timezone=BERLIN, start_time=START)
    # the same fields as str, in another zone, from another start: the spec is zone-free
    second = CronTrigger(hour="9", day_of_week="mon-fri", timezone="America/New_York")
    assert second._spec is first._spec
    assert restored(first)._spec is first._spec
    clone = clone_trigger(second)
    assert isinstance(clone, CronTrigger) and clone._spec is first._spec
    assert CronTrigger(day_of_week="mon-fri", hour=10)._spec is not first._spec


def test_equal_crontab_lines_share_one_compiled_spec() -> None:
    first = CronTrigger.from_crontab("*/5 * * * *", timezone=BERLIN)
    assert CronTrigger.from_crontab(" */5 * * * * ", timezone="UTC")._spec is first._spec
    assert restored(first)._spec is first._spec
    # the keyword form keeps its own spec: its text, repr and day rule differ
    assert CronTrigger(minute="*/5", timezone=BERLIN)._spec is not first._spec
    assert CronTrigger.from_crontab("*/10 * * * *", timezone=BERLIN)._spec is not first._spec


def test_sharing_a_spec_does_not_share_positions() -> None:
    first = CronTrigger(minute="*/20", start_time=START, timezone=BERLIN)
    second = CronTrigger(minute="*/20", start_time=START, timezone=BERLIN)
    assert first._spec is second._spec
    ahead = [first.next() for _ in range(100)]
    assert [second.next() for _ in range(100)] == ahead
    assert ahead[:3] == [START, START + timedelta(minutes=20), START + timedelta(minutes=40)]


def test_triggers_built_alike_share_their_first_search_only_within_its_zone_and_span() -> None:
    """The first fire found for a trigger of a spec serves the next trigger of that spec and
    zone built from an instant up to that fire time (CronSpec.recent_first), not another zone
    nor a later instant."""
    utc_start = datetime(2026, 1, 1, 7, 30, tzinfo=UTC)  # 08:30 in Berlin
    first = CronTrigger(hour=9, timezone=UTC, start_time=utc_start)
    assert first.next() == datetime(2026, 1, 1, 9, tzinfo=UTC)
    spec = first._spec
    searched = spec.recent_first
    later = CronTrigger(hour=9, timezone=UTC, start_time=utc_start + timedelta(minutes=30))
    assert later.next() == datetime(2026, 1, 1, 9, tzinfo=UTC)
    at_fire = CronTrigger(hour=9, timezone=UTC, start_time=datetime(2026, 1, 1, 9, tzinfo=UTC))
    assert at_fire.next() == datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert searched is not None and spec.recent_first is searched  # no search of their own
    berlin = CronTrigger(hour=9, timezone=BERLIN, start_time=utc_start)
    assert berlin.next() == datetime(2026, 1, 1, 9, tzinfo=BERLIN)  # 08:00 UTC
    past = CronTrigger(
        hour=9, timezone=UTC, start_time=datetime(2026, 1, 1, 9, 0, 0, 1, tzinfo=UTC)
    )
    assert past.next() == datetime(2026, 1, 2, 9, tzinfo=UTC)
    for trigger in (later, at_fire, past):
        fire, following = trigger.next(), trigger.next()
        assert following is not None and fire == following - timedelta(days=1)  # it goes on


def test_a_shared_first_search_answers_for_the_second_before_it_only_after_its_start() -> None:
    """A search from 09:00:00.5 starts at 09:00:01 and answers for every instant after
    09:00:00 up to the fire time found; 09:00:00 itself may be a fire time."""
    nine = datetime(2026, 1, 1, 9, tzinfo=UTC)
    every_second: dict[str, Any] = {"second": "*", "timezone": UTC}
    first = CronTrigger(**every_second, start_time=nine + timedelta(microseconds=500_000))
    assert first.next() == nine + timedelta(seconds=1)
    searched = first._spec.recent_first
    early = CronTrigger(**every_second, start_time=nine + timedelta(microseconds=1))
    assert early.next() == nine + timedelta(seconds=1)
    assert first._spec.recent_first is searched  # answered by the search of ``first``
    assert CronTrigger(**every_second, start_time=nine).next() == nine


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (UTC, datetime(2026, 1, 2)),
        # fixed zones compare instants in the zone itself
        (ZoneInfo("UTC"), datetime(2026, 1, 2)),
        (timezone(timedelta(hours=-5)), datetime(2026, 1, 2)),
        (ZoneInfo("Etc/GMT-14"), datetime(2026, 12, 30)),
        (BERLIN, datetime(2026, 3, 27)),  # spring forward on the 29th, at 02:00
        (BERLIN, datetime(2026, 10, 23)),  # fall back on the 25th, at 03:00
        (ZoneInfo("America/Santiago"), datetime(2026, 4, 3)),  # back at midnight, 5 Apr
        (ZoneInfo("America/Santiago"), datetime(2026, 9, 4)),  # forward at midnight, 6 Sep
    ],
)
@pytest.mark.parametrize(
    "fields",
    [
        {"minute": "*/5", "hour": "9-17", "day_of_week": "mon-fri"},
        {"minute": "*/20"},
        {"minute": "0,30", "hour": "0-3"},
    ],
)
def test_triggers_starting_through_a_day_share_its_times_as_their_own_search_finds(
    zone: Any, day: datetime, fields: dict[str, str]
) -> None:
    """A trigger of a spec starting on a day without DST change that a first search of that
    spec and zone found takes its first fire from that day's times (CronSpec.recent_day): the
    fire times are those of a search of its own, on the days around DST changes too."""
    start = day.replace(tzinfo=zone)
    shared = []
    own = []
    remembered = 0
    for i in range(4 * 24 * 60 // 7):  # four days, one start every 7 minutes and a bit
        at = start + timedelta(minutes=7 * i, microseconds=250_000 * (i % 2))
        trigger = CronTrigger(**fields, timezone=zone, start_time=at)
        remembered += trigger._spec.recent_day is not None
        shared.append([trigger.next() for _ in range(3)])
        spec = trigger._spec
        remembered_now = spec.recent_first, spec.recent_day
        spec.recent_first = spec.recent_day = None
        alone = CronTrigger(**fields, timezone=zone, start_time=at)
        own.append([alone.next() for _ in range(3)])
        spec.recent_first, spec.recent_day = remembered_now

    def exactly(times: list[list[datetime | None]]) -> list[list[Any]]:
        return [[(t, t and t.utcoffset(), t and t.fold) for t in row] for row in times]

    assert exactly(shared) == exactly(own)
    assert remembered > len(shared) // 4


def test_shared_spec_is_read_only() -> None:
    trigger = CronTrigger(hour=9, timezone=BERLIN, start_time=START)
    other = CronTrigger(hour=9, timezone=BERLIN, start_time=START)
    fields = trigger.fields
    fields["hour"] = "10"  # a copy: changes neither trigger
    with pytest.raises(TypeError):
        trigger._spec.fields["hour"] = "10"  # type: ignore[index]
    assert other.fields["hour"] == trigger.fields["hour"] == "9"
    assert other.next() == datetime(2026, 1, 1, 9, tzinfo=BERLIN)


def test_a_spec_evicted_from_the_registry_keeps_working(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_spec, "_registry", SpecRegistry(limit=2))
    first = CronTrigger(minute=7, start_time=START, timezone=BERLIN)
    for minute in (8, 9, 10):
        CronTrigger(minute=minute, timezone=BERLIN)
    assert len(_spec._registry) == 2
    again = CronTrigger(minute=7, start_time=START, timezone=BERLIN)
    assert again._spec is not first._spec  # compiled anew after its eviction
    expected = [datetime(2026, 1, 1, hour, 7, tzinfo=BERLIN) for hour in range(4)]
    assert [first.next() for _ in range(4)] == [again.next() for _ in range(4)] == expected


def test_threads_sharing_a_new_spec_get_the_same_fire_times() -> None:
    # an expression no other test uses, so that the threads fill its month tables together
    expr = {"day": "3rd wed", "month": "*/5", "hour": "6,18", "minute": "11"}
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[list[datetime | None]] = [[] for _ in range(threads_count)]

    def work(index: int) -> None:
        barrier.wait()
        trigger = CronTrigger(**expr, start_time=START, timezone=BERLIN)  # type: ignore[arg-type]
        results[index] = [trigger.next() for _ in range(300)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = results[0]
    assert all(result == first for result in results)
    assert first[:3] == [
        datetime(2026, 1, 21, 6, 11, tzinfo=BERLIN),  # the 3rd Wednesday of January
        datetime(2026, 1, 21, 18, 11, tzinfo=BERLIN),
        datetime(2026, 6, 17, 6, 11, tzinfo=BERLIN),  # months 1, 6, 11
    ]
    for fire in first:
        assert fire is not None and fire.weekday() == 2 and 15 <= fire.day <= 21


@pytest.mark.parametrize(
    "start",
    [datetime(2026, 3, 10), datetime(2026, 2, 1), datetime(2026, 3, 28), datetime(2026, 10, 20)],
    ids=str,
)
def test_triggers_of_one_zone_share_dst_look_ahead_correctly(start: datetime) -> None:
    # Every trigger in the zone reuses the stretches of days without DST change that the others
    # found; whatever ran before, an hourly trigger in Berlin fires every real hour.
    trigger = CronTrigger.from_crontab("0 * * * *", timezone=BERLIN, start_time=start)
    fires = [trigger.next() for _ in range(24 * 45)]
    instants = [fire.astimezone(UTC) for fire in fires if fire is not None]
    assert len(instants) == len(fires)
    assert all(b - a == timedelta(hours=1) for a, b in zip(instants, instants[1:], strict=False))
    assert all(fire.minute == 0 for fire in instants)
