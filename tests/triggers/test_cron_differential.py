"""Differential tests: the first 200 fire times of random (seeded) cron specs, compared with
APScheduler 4 (keyword form) and croniter (crontab lines), in UTC and in zones with DST.

In UTC the sequences must be identical. In DST zones every difference must be one that nbsched
makes on purpose (see the explicit tests at the bottom and the README's table):

* ``gap``: a matching wall time that does not exist. APScheduler 4 returns it as is (an
  impossible reading such as 02:30+01:00 on the spring-forward day); nbsched fires once at the
  first instant after the gap (03:00+02:00).
* ``repeat``: a matching wall time that exists twice, with a restricted hour field. Both peers
  fire at both occurrences; nbsched fires at the first only.
* ``skip``: APScheduler 4 skips a fire that follows a DST change (its search adds wall-clock
  differences to timestamps); nbsched does not.

Generated specs avoid the places where the peers *read* an expression differently (listed at
the bottom): weekday steps for APScheduler 4, ``*`` inside restricted day fields for croniter.
"""

from __future__ import annotations

import random
import warnings
from collections import Counter
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from nbsched.triggers import CronTrigger

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from apscheduler.triggers.cron import CronTrigger as APS4CronTrigger
    from croniter import croniter

UTC = timezone.utc
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
COUNT = 200
SPECS_PER_ZONE = 30
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
WEEKDAYS = "sun mon tue wed thu fri sat".split()  # crontab numbering
ORDINALS = ["1st", "2nd", "3rd", "4th", "5th", "last"]


# --- random specs ----------------------------------------------------------------------------


def term(rng: random.Random, low: int, high: int, names: list[str] | None, steps: bool) -> str:
    kind = rng.random()
    if kind < 0.2:
        return "*"
    if kind < 0.35 and steps:
        return f"*/{rng.randint(1, max(1, (high - low) // 2))}"
    if kind < 0.6:
        value = rng.randint(low, high)
        return names[value - low] if names and rng.random() < 0.4 else str(value)
    first = rng.randint(low, high - 1)
    last = rng.randint(first + 1, high)
    if names and rng.random() < 0.4:
        return f"{names[first - low]}-{names[last - low]}"
    if kind < 0.8 and steps:
        return f"{first}-{last}/{rng.randint(1, last - first)}"
    return f"{first}-{last}"


def field(
    rng: random.Random, low: int, high: int, names: list[str] | None = None, steps: bool = True
) -> str:
    return ",".join(term(rng, low, high, names, steps) for _ in range(rng.choice([1, 1, 2, 3])))


def keyword_spec(rng: random.Random) -> dict[str, str]:
    """Keyword arguments both nbsched and APScheduler 4 read the same way."""
    spec = {
        "year": f"{rng.randint(2026, 2029)}-{rng.randint(2030, 2040)}",
        "month": field(rng, 1, 12, MONTHS),
        "week": field(rng, 1, 53),
        # APScheduler 4 drops steps on weekdays and counts */n from Monday
        "day_of_week": field(rng, 0, 6, WEEKDAYS, steps=False),
        "hour": field(rng, 0, 23),
        "minute": field(rng, 0, 59),
        "second": field(rng, 0, 59),
    }
    days = []
    for _ in range(rng.choice([1, 1, 2])):
        kind = rng.random()
        if kind < 0.15:
            days.append("last")
        elif kind < 0.35:
            days.append(f"{rng.choice(ORDINALS)} {rng.choice(WEEKDAYS)}")
        else:
            days.append(term(rng, 1, 31, None, True))
    spec["day"] = ",".join(days)
    chances = {"year": 0.2, "month": 0.4, "week": 0.1, "day_of_week": 0.4, "day": 0.5}
    chances.update(hour=0.7, minute=0.7, second=0.2)
    return {name: value for name, value in spec.items() if rng.random() < chances[name]}


def crontab_line(rng: random.Random) -> str:
    """A crontab line both nbsched and croniter read the same way."""

    def day_field(low: int, high: int, names: list[str] | None) -> str:
        # croniter applies the either-day rule to fields that merely contain '*'; crontab(5)
        # and nbsched only when neither field starts with '*'
        value = field(rng, low, high, names)
        if value != "*":
            value = ",".join(t for t in value.split(",") if not t.startswith("*")) or "*"
        return value

    return " ".join(
        [
            field(rng, 0, 59),
            field(rng, 0, 23),
            day_field(1, 28, None),
            field(rng, 1, 12, MONTHS),
            day_field(0, 6, WEEKDAYS),
        ]
    )


def offset_changes(zone: tzinfo) -> list[datetime]:
    """The instants in 2026-2028 when ``zone`` changes its UTC offset (to the hour)."""
    hour = datetime(2026, 1, 1, tzinfo=UTC)
    changes = []
    offset = hour.astimezone(zone).utcoffset()
    while hour.year < 2029:
        hour += timedelta(hours=1)
        if (new := hour.astimezone(zone).utcoffset()) != offset:
            changes.append(hour)
            offset = new
    return changes


def start_time(rng: random.Random, zone: tzinfo, changes: list[datetime]) -> datetime:
    """Half the time a few days before a DST change, so the changes get tested often."""
    if changes and rng.random() < 0.5:
        change = rng.choice(changes)
        return (change - timedelta(days=rng.randint(0, 3), hours=rng.randint(0, 24))).astimezone(
            zone
        )
    return datetime(2026, 1, 1, tzinfo=zone) + timedelta(
        days=rng.randint(0, 800), seconds=rng.randint(0, 86400)
    )


NIGHT_HOURS = ["1", "2", "1-3", "0-2,14", "*", "2/12"]
NIGHT_MINUTES = ["0", "30", "*/15", "15,45", "*/7"]


# --- comparing -------------------------------------------------------------------------------


def kind_of_wall(local: datetime) -> str:
    wall = local.replace(tzinfo=None)
    before = wall.replace(tzinfo=local.tzinfo, fold=0).utcoffset()
    after = wall.replace(tzinfo=local.tzinfo, fold=1).utcoffset()
    if before == after:
        return "normal"
    return "gap" if before < after else "repeat"  # type: ignore[operator]


def offset_changes_between(zone: tzinfo, low: datetime, high: datetime) -> bool:
    probe = low
    offset = low.astimezone(zone).utcoffset()
    while probe < high:
        probe = min(probe + timedelta(hours=12), high)
        if probe.astimezone(zone).utcoffset() != offset:
            return True
    return False


def explain(
    ours: list[datetime],
    theirs: list[datetime],
    zone: tzinfo,
    *,
    start: datetime,
    every_hour: bool,
    peer_skips: bool,
) -> Counter:
    """Sort every difference between the two sequences into the documented kinds; fail on any
    other. Compares the instants up to the end of the shorter sequence."""
    ours_utc = [f.astimezone(UTC) for f in ours]
    theirs_utc = [f.astimezone(UTC) for f in theirs]
    horizon = min(ours_utc[-1], theirs_utc[-1])
    ours_set = {f for f in ours_utc if f <= horizon}
    theirs_set = {f for f in theirs_utc if f <= horizon}
    kinds: Counter = Counter()
    for instant in sorted(theirs_set - ours_set):
        local = instant.astimezone(zone)
        reported = next(f for f in theirs if f.astimezone(UTC) == instant)
        if kind_of_wall(reported) == "gap":
            kinds["gap"] += 1
        elif local.fold == 1 and kind_of_wall(local) == "repeat" and not every_hour:
            kinds["repeat"] += 1
        else:
            pytest.fail(f"the peer fires at {reported} ({instant}) and nbsched does not")
    for instant in sorted(ours_set - theirs_set):
        local = instant.astimezone(zone)
        just_before = (instant - timedelta(seconds=1)).astimezone(zone)
        offset, offset_before = local.utcoffset(), just_before.utcoffset()
        assert offset is not None and offset_before is not None
        if offset > offset_before:
            kinds["gap"] += 1  # nbsched's fire right after the gap
            continue
        previous = max((f for f in ours_utc if f < instant), default=start)
        if peer_skips and offset_changes_between(zone, previous, instant):
            kinds["skip"] += 1
            continue
        pytest.fail(f"nbsched fires at {local} ({instant}) and the peer does not")
    return kinds


def take(source, count: int = COUNT) -> list[datetime]:
    values = []
    for _ in range(count):
        value = source()
        if value is None:
            break
        values.append(value)
    return values


@pytest.mark.parametrize("zone_name", ZONES)
def test_same_fire_times_as_apscheduler4(zone_name: str) -> None:
    rng = random.Random(f"aps4-{zone_name}")
    zone = ZoneInfo(zone_name)
    changes = offset_changes(zone)
    kinds: Counter = Counter()
    compared = 0
    while compared < SPECS_PER_ZONE:
        spec = keyword_spec(rng)
        start = start_time(rng, zone, changes)
        if changes and rng.random() < 0.5:  # the hours around DST changes
            spec.update(hour=rng.choice(NIGHT_HOURS), minute=rng.choice(NIGHT_MINUTES))
        try:
            ours = CronTrigger(**spec, start_time=start, timezone=zone)
        except ValueError as exc:
            assert "never fire" in str(exc)
            # APScheduler 4 has no such check: it would search until the year 9999
            continue
        peer = APS4CronTrigger(**spec, start_time=start, timezone=zone)
        ours_times, theirs = take(ours.next), take(peer.next)
        assert ours_times and theirs, spec
        if zone_name == "UTC":
            assert ours_times == theirs, spec
        else:
            every_hour = len(ours._search.hours) == 24
            kinds += explain(
                ours_times, theirs, zone, start=start, every_hour=every_hour, peer_skips=True
            )
        compared += 1
    assert set(kinds) <= {"gap", "repeat", "skip"}


@pytest.mark.parametrize("zone_name", ZONES)
def test_same_fire_times_as_croniter(zone_name: str) -> None:
    rng = random.Random(f"croniter-{zone_name}")
    zone = ZoneInfo(zone_name)
    changes = offset_changes(zone)
    kinds: Counter = Counter()
    for _ in range(SPECS_PER_ZONE):
        line = crontab_line(rng)
        start = start_time(rng, zone, changes)
        if changes and rng.random() < 0.5:  # the hours around DST changes
            minute, hour, *rest = line.split()
            line = " ".join([rng.choice(NIGHT_MINUTES), rng.choice(NIGHT_HOURS), *rest])
        ours = CronTrigger.from_crontab(line, timezone=zone, start_time=start)
        # croniter starts strictly after its start time; nbsched includes its start_time
        peer = croniter(line, start.replace(microsecond=0) - timedelta(seconds=1))
        ours_times = take(ours.next)
        theirs = take(lambda: peer.get_next(datetime))  # noqa: B023
        if zone_name == "UTC":
            assert ours_times == theirs, line
        else:
            every_hour = len(ours._search.hours) == 24
            kinds += explain(
                ours_times, theirs, zone, start=start, every_hour=every_hour, peer_skips=False
            )
    assert set(kinds) <= {"gap", "repeat"}


# --- every deliberate difference, shown explicitly -------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def aps4(count: int, **fields: object) -> list[datetime]:
    trigger = APS4CronTrigger(**fields)  # type: ignore[arg-type]
    return [trigger.next() for _ in range(count)]  # type: ignore[misc]  # these all fire


def ours(count: int, **fields: object) -> list[datetime | None]:
    trigger = CronTrigger(**fields)  # type: ignore[arg-type]
    return [trigger.next() for _ in range(count)]


def from_croniter(line: str, start: datetime, count: int) -> list[datetime]:
    peer = croniter(line, start - timedelta(seconds=1))
    return [peer.get_next(datetime) for _ in range(count)]


def from_crontab(line: str, start: datetime, count: int) -> list[datetime | None]:
    trigger = CronTrigger.from_crontab(line, timezone=start.tzinfo, start_time=start)
    return [trigger.next() for _ in range(count)]


def weekday_names(values: list) -> list[str]:
    return [v.strftime("%a") for v in values]


def test_difference_weekday_star_step_counts_from_sunday() -> None:
    start = datetime(2026, 1, 4, tzinfo=BERLIN)  # a Sunday
    fields = {"day_of_week": "*/2", "hour": 0, "start_time": start, "timezone": BERLIN}
    assert weekday_names(aps4(4, **fields)) == ["Sun", "Mon", "Wed", "Fri"]  # from Monday
    assert weekday_names(ours(4, **fields)) == ["Sun", "Tue", "Thu", "Sat"]  # as crontab


def test_difference_steps_on_weekday_ranges_are_kept() -> None:
    start = datetime(2026, 1, 5, tzinfo=BERLIN)  # a Monday
    for value in ("mon-fri/2", "1-5/2"):
        fields = {"day_of_week": value, "hour": 0, "start_time": start, "timezone": BERLIN}
        assert weekday_names(aps4(4, **fields)) == ["Mon", "Tue", "Wed", "Thu"]  # step dropped
        assert weekday_names(ours(4, **fields)) == ["Mon", "Wed", "Fri", "Mon"]


def test_difference_crontab_lines_use_either_day() -> None:
    start = datetime(2026, 1, 1, tzinfo=BERLIN)
    peer = APS4CronTrigger.from_crontab("0 0 13 * fri", timezone=BERLIN, start_time=start)
    assert [peer.next().day for _ in range(2)] == [13, 13]  # type: ignore[union-attr]  # 13th, Fri
    assert [f.day for f in from_crontab("0 0 13 * fri", start, 3)] == [2, 9, 13]  # type: ignore[union-attr]


def test_difference_crontab_l_and_named_range_steps() -> None:
    with pytest.raises(ValueError):
        APS4CronTrigger.from_crontab("0 0 L * *", timezone=BERLIN)
    start = datetime(2026, 1, 1, tzinfo=BERLIN)
    assert from_crontab("0 0 L * *", start, 1) == [datetime(2026, 1, 31, tzinfo=BERLIN)]
    peer = APS4CronTrigger.from_crontab("0 0 1 jan-sep/2 *", timezone=BERLIN, start_time=start)
    assert [peer.next().month for _ in range(3)] == [1, 2, 3]  # type: ignore[union-attr]  # no step
    assert [f.month for f in from_crontab("0 0 1 jan-sep/2 *", start, 3)] == [1, 3, 5]  # type: ignore[union-attr]


def test_difference_nonexistent_time_fires_after_the_gap() -> None:
    start = datetime(2026, 3, 29, tzinfo=BERLIN)
    fields = {"hour": 2, "minute": 30, "start_time": start, "timezone": BERLIN}
    impossible = aps4(1, **fields)[0]
    assert impossible.replace(tzinfo=None) == datetime(2026, 3, 29, 2, 30)  # does not exist
    assert kind_of_wall(impossible) == "gap"
    assert ours(1, **fields) == [datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)]
    assert from_croniter("30 2 * * *", start, 1) == ours(1, **fields)  # croniter agrees


def test_difference_repeated_time_fires_once() -> None:
    start = datetime(2026, 10, 25, tzinfo=BERLIN)
    fields = {"hour": 2, "minute": 30, "start_time": start, "timezone": BERLIN}
    twice = [f.astimezone(UTC) for f in aps4(2, **fields)]
    assert twice == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ]
    assert [f.astimezone(UTC) for f in from_croniter("30 2 * * *", start, 2)] == twice
    once = [f.astimezone(UTC) for f in ours(2, **fields)]  # type: ignore[union-attr]
    assert once == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]


def test_difference_apscheduler4_skips_a_fire_after_a_dst_change() -> None:
    start = datetime(2028, 3, 1, tzinfo=BERLIN)
    fields = {"day": 1, "hour": "*/10", "start_time": start, "timezone": BERLIN}
    april = datetime(2028, 4, 1, 0, 0, tzinfo=BERLIN)
    assert april not in aps4(4, **fields)
    assert ours(4, **fields)[3] == april


def test_difference_croniter_either_day_with_star_inside() -> None:
    # '*/3' starts with '*': crontab(5) (and nbsched) require both day fields; croniter either
    start = datetime(2026, 6, 1, tzinfo=BERLIN)
    ours_days = [f.day for f in from_crontab("0 0 */3 * mon", start, 3)]  # type: ignore[union-attr]
    assert ours_days == [1, 22, 13]  # Mondays that are the 1st, 4th, 7th, ... (1 mod 3)
    theirs_days = [f.day for f in from_croniter("0 0 */3 * mon", start, 3)]
    assert theirs_days == [1, 4, 7]


def test_difference_croniter_reads_a_one_day_weekday_range_as_every_day() -> None:
    # 'sun-sun' (and '0-0', '7-7') is Sunday to Sunday: Sunday alone for nbsched, APScheduler 4
    # and cronie; croniter fires every day
    start = datetime(2026, 1, 5, tzinfo=BERLIN)  # a Monday
    for value in ("sun-sun", "0-0", "7-7"):
        assert weekday_names(from_crontab(f"0 0 * * {value}", start, 3)) == ["Sun"] * 3
        assert weekday_names(from_croniter(f"0 0 * * {value}", start, 3)) == ["Mon", "Tue", "Wed"]
    fields = {"day_of_week": "sun-sun", "hour": 0, "start_time": start, "timezone": BERLIN}
    assert weekday_names(aps4(3, **fields)) == ["Sun"] * 3
    assert weekday_names(ours(3, **fields)) == ["Sun"] * 3


def test_difference_a_stepped_weekday_range_wrapping_the_week() -> None:
    # 'thu-tue/2' steps through Thu, Fri, Sat, Sun, Mon, Tue: Thu, Sat, Mon for nbsched;
    # croniter selects Tue, Thu, Sat and APScheduler 4 drops the step (every day but Wed)
    start = datetime(2026, 1, 1, tzinfo=BERLIN)  # a Thursday
    ours_week = ["Thu", "Sat", "Mon", "Thu", "Sat", "Mon"]
    for value in ("thu-tue/2", "4-2/2"):
        assert weekday_names(from_crontab(f"0 0 * * {value}", start, 6)) == ours_week
        assert weekday_names(from_croniter(f"0 0 * * {value}", start, 6)) == [
            "Thu", "Sat", "Tue", "Thu", "Sat", "Tue",
        ]  # fmt: skip
    fields = {"day_of_week": "thu-tue/2", "hour": 0, "start_time": start, "timezone": BERLIN}
    assert weekday_names(ours(6, **fields)) == ours_week
    assert weekday_names(aps4(6, **fields)) == ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue"]
