from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil import tz as dateutil_tz

from nbsched.testing import check_trigger
from nbsched.triggers import DateTrigger

BERLIN = ZoneInfo("Europe/Berlin")


def test_fires_once_then_stays_exhausted() -> None:
    run_time = datetime(2026, 12, 1, 18, tzinfo=BERLIN)
    trigger = DateTrigger(run_time)
    assert trigger.next() == run_time
    assert [trigger.next() for _ in range(3)] == [None, None, None]


def test_accepts_iso_string_with_offset() -> None:
    trigger = DateTrigger("2026-12-01T18:00:00+01:00")
    assert trigger.next() == datetime(2026, 12, 1, 17, tzinfo=timezone.utc)


def test_str_and_repr() -> None:
    trigger = DateTrigger(datetime(2026, 12, 1, 18, tzinfo=BERLIN))
    assert str(trigger) == "once at 2026-12-01 18:00 (Europe/Berlin)"
    assert (
        str(DateTrigger("2026-12-01T18:00:30+05:30")) == "once at 2026-12-01 18:00:30 (UTC+05:30)"
    )
    rebuilt = eval(
        repr(trigger), {"DateTrigger": DateTrigger, "datetime": dt, "zoneinfo": zoneinfo}
    )
    assert rebuilt.run_time == trigger.run_time and rebuilt.run_time.tzinfo is BERLIN


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (datetime(2026, 12, 1, 18), ValueError, "run_time: datetime.datetime(2026, 12, 1, 18, 0)"),
        (
            "2026-12-01T18:00",
            ValueError,
            "run_time: datetime.datetime(2026, 12, 1, 18, 0) is a naive",
        ),
        ("next tuesday", ValueError, "run_time: 'next tuesday' is not an ISO 8601"),
        (1764608400, TypeError, "run_time: expected a datetime or ISO 8601 string, got int"),
        (None, TypeError, "run_time"),
    ],
)
def test_bad_run_time(value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        DateTrigger(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("fold", [0, 1])
def test_nonexistent_wall_time_fires_when_the_clocks_jump(dst_zone, fold: int) -> None:
    """nbsched's one rule for a wall time that does not exist (as the calendar and cron
    triggers fire): the moment the clocks jump, whatever ``fold`` says."""
    wall = dst_zone.gap.wall_inside
    fire_time = DateTrigger(wall.replace(tzinfo=dst_zone.zone, fold=fold)).next()
    assert fire_time is not None
    assert fire_time.astimezone(timezone.utc) == dst_zone.gap.utc
    assert fire_time.utcoffset() == dst_zone.gap.after
    assert fire_time.tzinfo is dst_zone.zone


@pytest.mark.parametrize("fold", [0, 1])
def test_ambiguous_wall_time_follows_fold(dst_zone, fold: int) -> None:
    wall = dst_zone.fold.wall_inside
    fire_time = DateTrigger(wall.replace(tzinfo=dst_zone.zone, fold=fold)).next()
    assert fire_time is not None
    assert fire_time.replace(tzinfo=None) == wall
    expected_offset = dst_zone.fold.before if fold == 0 else dst_zone.fold.after
    assert fire_time.utcoffset() == expected_offset


def test_berlin_example() -> None:
    fire_time = DateTrigger(datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN)).next()
    assert fire_time is not None and fire_time.isoformat() == "2026-03-29T03:00:00+02:00"
    # an aware datetime that exists is an instant, in whatever zone
    assert DateTrigger("2026-03-29T02:30:00+01:00").next() == datetime(
        2026, 3, 29, 1, 30, tzinfo=timezone.utc
    )


class _CustomZone(dt.tzinfo):
    def utcoffset(self, value: datetime | None) -> timedelta:
        return timedelta(hours=2)

    def dst(self, value: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, value: datetime | None) -> str:
        raise NotImplementedError  # as tzinfo's own: no name


def test_zone_with_iana_name_is_converted_to_zoneinfo() -> None:
    trigger = DateTrigger(datetime(2026, 7, 1, 12, tzinfo=dateutil_tz.gettz("Europe/Berlin")))
    fire_time = trigger.next()
    assert fire_time == datetime(2026, 7, 1, 10, tzinfo=timezone.utc)
    assert fire_time.tzinfo == BERLIN  # type: ignore[union-attr]


def test_unstorable_zone_is_pinned_to_its_offset() -> None:
    trigger = DateTrigger(datetime(2026, 7, 1, 12, tzinfo=_CustomZone()))
    fire_time = trigger.next()
    assert fire_time == datetime(2026, 7, 1, 10, tzinfo=timezone.utc)
    assert fire_time.tzinfo == timezone(timedelta(hours=2))  # type: ignore[union-attr]


@pytest.mark.parametrize("advance", [0, 1])
def test_state_round_trip(round_trip, advance: int) -> None:
    trigger = DateTrigger(datetime(2026, 12, 1, 18, tzinfo=BERLIN))
    assert round_trip(trigger, advance)[0] == (None if advance else trigger.run_time)


def test_contract() -> None:
    report = check_trigger(DateTrigger(datetime(2026, 12, 1, 18, tzinfo=BERLIN)), seed=3)
    assert report.fire_times == 1 and report.exhausted


def test_refuses_unknown_state_version() -> None:
    trigger = DateTrigger(datetime(2026, 12, 1, 18, tzinfo=BERLIN))
    state = trigger.__getstate__()
    state["version"] = 2
    with pytest.raises(ValueError, match="DateTrigger state has version 2, but this nbsched only"):
        trigger.__setstate__(state)
