"""Property tests over random cron specs: the fire times are exactly the ones the fields and
the documented DST rules define, and the trigger contract holds.

The oracle here is written from the definition, not from the implementation: it walks the
calendar day by day, lists every matching wall-clock time of a matching day, turns each into
instants by the DST rules (normal: itself; nonexistent: the first instant after the gap;
repeated: the first occurrence, and the second too when every hour is allowed), sorts them and
drops those before ``start_time``.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import product
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbsched.testing import check_trigger
from nbsched.triggers import CronTrigger

UTC = timezone.utc
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
WEEKDAYS = "sun mon tue wed thu fri sat".split()  # crontab numbering
ORDINALS = {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "last": -1}
COUNT = 25
#: more than any DST shift: how far wall order and instant order can disagree
SHIFT = timedelta(minutes=65)


@dataclass
class Field:
    text: str
    values: set[int]  # for day_of_week: Monday=0 as date.weekday()

    def __repr__(self) -> str:
        return repr(self.text)


@dataclass
class Day:
    text: str
    days: set[int] = field(default_factory=set)
    last: bool = False
    nth: set[tuple[int, int]] = field(default_factory=set)  # (n or -1, weekday Monday=0)


# --- strategies ------------------------------------------------------------------------------


@st.composite
def term(draw: st.DrawFn, low: int, high: int, names: list[str] | None = None) -> Field:
    def show(value: int) -> str:
        return names[value - low] if names and draw(st.booleans()) else str(value)

    kind = draw(st.sampled_from(["star", "step", "one", "range", "range_step", "start_step"]))
    if kind == "star":
        return Field("*", set(range(low, high + 1)))
    if kind == "one":
        value = draw(st.integers(low, high))
        return Field(show(value), {value})
    # a step may not be larger than the range it steps through (but 1 always works)
    if kind == "step":
        step = draw(st.integers(1, high - low))
        return Field(f"*/{step}", set(range(low, high + 1, step)))
    first = draw(st.integers(low, high))
    if kind == "start_step":
        step = draw(st.integers(1, max(1, high - first)))
        return Field(f"{first}/{step}", set(range(first, high + 1, step)))
    last = draw(st.integers(first, high))
    if kind == "range":
        return Field(f"{show(first)}-{show(last)}", set(range(first, last + 1)))
    step = draw(st.integers(1, max(1, last - first)))
    return Field(f"{show(first)}-{show(last)}/{step}", set(range(first, last + 1, step)))


@st.composite
def numeric(draw: st.DrawFn, low: int, high: int, names: list[str] | None = None) -> Field:
    terms = draw(st.lists(term(low, high, names), min_size=1, max_size=3))
    return Field(",".join(t.text for t in terms), set().union(*(t.values for t in terms)))


@st.composite
def weekday_term(draw: st.DrawFn) -> Field:
    """crontab numbering (0 and 7 Sunday), names, steps and ranges wrapping the week."""
    kind = draw(st.sampled_from(["star_step", "one", "range", "wrap"]))
    if kind == "star_step":
        step = draw(st.integers(1, 7))
        cron = set(range(0, 7, step))
        text = f"*/{step}"
    elif kind == "one":
        number = draw(st.integers(0, 7))
        cron = {number % 7}
        text = draw(st.sampled_from([str(number), WEEKDAYS[number % 7]]))
    else:
        first = draw(st.integers(0, 6))
        last = draw(
            st.integers(first, 7) if kind == "range" else st.integers(0, first - 1 if first else 0)
        )
        span = (last - first) % 7 if kind == "wrap" else last - first
        step = draw(st.integers(1, max(1, min(3, span))))
        cron = {(first + k) % 7 for k in range(0, span + 1, step)}
        if kind == "wrap":  # only names may wrap in the oracle's eyes: fri-mon
            text = f"{WEEKDAYS[first]}-{WEEKDAYS[last % 7]}"
        else:
            text = f"{first}-{last}"
        if step > 1:
            text += f"/{step}"
    return Field(text, {(c + 6) % 7 for c in cron})


@st.composite
def weekdays(draw: st.DrawFn) -> Field:
    terms = draw(st.lists(weekday_term(), min_size=1, max_size=2))
    return Field(",".join(t.text for t in terms), set().union(*(t.values for t in terms)))


@st.composite
def day_of_month(draw: st.DrawFn, nth: bool = True) -> Day:
    """Day numbers, ``last``/``L`` and (not in crontab lines: they split on spaces) ``2nd fri``."""
    day = Day("")
    texts = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(
            st.sampled_from(
                ["numbers", "numbers", "last", "nth", "nth"] if nth else ["numbers", "last"]
            )
        )
        if kind == "numbers":
            numbers = draw(term(1, 31))
            texts.append(numbers.text)
            day.days |= numbers.values
        elif kind == "last":
            texts.append(draw(st.sampled_from(["last", "L"])))
            day.last = True
        else:
            ordinal = draw(st.sampled_from(sorted(ORDINALS)))
            weekday = draw(st.integers(0, 6))
            texts.append(f"{ordinal} {WEEKDAYS[weekday]}")
            day.nth.add((ORDINALS[ordinal], (weekday + 6) % 7))
    day.text = ",".join(texts)
    return day


@dataclass
class Spec:
    """A spec and, from the strategy that drew it, the values each field allows."""

    crontab: bool
    kwargs: dict[str, str]
    fields: dict[str, Field]
    day: Day | None
    line: str = ""

    def build(self, start: datetime, zone: ZoneInfo) -> CronTrigger:
        if self.crontab:
            return CronTrigger.from_crontab(self.line, timezone=zone, start_time=start)
        return CronTrigger(**self.kwargs, start_time=start, timezone=zone)


NIGHT_HOURS = [
    Field("1", {1}),
    Field("2", {2}),
    Field("1-3", {1, 2, 3}),
    Field("0-2,14", {0, 1, 2, 14}),
    Field("*", set(range(24))),
]
NIGHT_MINUTES = [
    Field("0", {0}),
    Field("30", {30}),
    Field("*/15", {0, 15, 30, 45}),
    Field("15,45", {15, 45}),
    Field("*/7", set(range(0, 60, 7))),
]

ANY = {
    "year": Field("*", set(range(1970, 10000))),
    "month": Field("*", set(range(1, 13))),
    "week": Field("*", set(range(1, 54))),
    "day_of_week": Field("*", set(range(7))),
}


@st.composite
def keyword_specs(draw: st.DrawFn, night: bool = False) -> Spec:
    """Keyword specs; ``night`` puts the hours and minutes where DST changes happen."""
    fields: dict[str, Field] = {}
    kwargs: dict[str, str] = {}
    options = {
        "year": st.builds(
            lambda a, b: Field(f"{a}-{a + b}", set(range(a, a + b + 1))),
            st.integers(2000, 2040),
            st.integers(0, 30),
        ),
        "month": numeric(1, 12, MONTHS),
        "week": numeric(1, 53),
        "day_of_week": weekdays(),
        "hour": numeric(0, 23),
        "minute": numeric(0, 59),
        "second": numeric(0, 59),
    }
    chances = {"year": 0.1, "month": 0.3, "week": 0.1, "day_of_week": 0.3}
    chances.update(hour=0.7, minute=0.7, second=0.3)
    for name, strategy in options.items():
        if draw(st.floats(0, 1)) < chances[name]:
            fields[name] = draw(strategy)
            kwargs[name] = fields[name].text
    if night:
        fields["hour"] = draw(st.sampled_from(NIGHT_HOURS))
        fields["minute"] = draw(st.sampled_from(NIGHT_MINUTES))
        kwargs.update(hour=fields["hour"].text, minute=fields["minute"].text)
    day = draw(day_of_month()) if draw(st.floats(0, 1)) < 0.5 else None
    if day is not None:
        kwargs["day"] = day.text
    # the defaults: coarser than the finest given field '*', finer ones the minimum
    order = ["year", "month", "day", "week", "day_of_week", "hour", "minute", "second"]
    finest = max((order.index(name) for name in kwargs), default=-1)
    for index, name in enumerate(order):
        if name in fields or name == "day":
            continue
        if index < finest or name in ("year", "week", "day_of_week"):
            fields[name] = ANY.get(name) or Field("*", set(range(0, 60)))
        else:
            fields[name] = Field("min", {1} if name == "month" else {0})
    if day is None and finest > order.index("day"):
        day = None  # '*'
    elif day is None:
        day = Day("1", {1})
    if "hour" in fields and fields["hour"].text == "*":
        fields["hour"] = Field("*", set(range(24)))
    return Spec(False, kwargs, fields, day)


@st.composite
def crontab_specs(draw: st.DrawFn, night: bool = False) -> Spec:
    if night:
        minute = draw(st.sampled_from(NIGHT_MINUTES))
        hour = draw(st.sampled_from(NIGHT_HOURS))
    else:
        minute, hour = draw(numeric(0, 59)), draw(numeric(0, 23))
    month = draw(numeric(1, 12, MONTHS))
    day = draw(day_of_month(nth=False)) if draw(st.booleans()) else None
    weekday = draw(weekdays()) if draw(st.booleans()) else ANY["day_of_week"]
    line = " ".join([minute.text, hour.text, day.text if day else "*", month.text, weekday.text])
    fields = {
        "year": ANY["year"],
        "month": month,
        "week": ANY["week"],
        "day_of_week": weekday,
        "hour": hour,
        "minute": minute,
        "second": Field("0", {0}),
    }
    return Spec(True, {}, fields, day, line)


# --- the oracle ------------------------------------------------------------------------------


def day_matches(spec: Spec, day: datetime) -> bool:
    f = spec.fields
    if day.year not in f["year"].values or day.month not in f["month"].values:
        return False
    if day.isocalendar()[1] not in f["week"].values:
        return False
    length = calendar.monthrange(day.year, day.month)[1]
    weekday_ok = day.weekday() in f["day_of_week"].values
    if spec.day is None:
        return weekday_ok
    d = spec.day
    date_ok = (
        day.day in d.days
        or (d.last and day.day == length)
        or any(
            weekday == day.weekday()
            and ((day.day - 1) // 7 + 1 == n or (n < 0 and day.day + 7 > length))
            for n, weekday in d.nth
        )
    )
    weekday_text = f["day_of_week"].text
    if spec.crontab and not d.text.startswith("*") and not weekday_text.startswith("*"):
        return date_ok or weekday_ok
    return date_ok and weekday_ok


def wall_kind(wall: datetime, zone: ZoneInfo) -> int:
    before = wall.replace(tzinfo=zone).utcoffset()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset()
    return 0 if before == after else (1 if before < after else 2)  # type: ignore[operator]


def expected_fire_times(spec: Spec, zone: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    f = spec.fields
    every_hour = f["hour"].values == set(range(24))
    times = sorted(product(f["hour"].values, f["minute"].values, f["second"].values))
    instants: set[datetime] = set()
    local_start = start.astimezone(zone).replace(tzinfo=None)
    day = datetime(local_start.year, local_start.month, 1) - timedelta(days=1)
    limit = day + timedelta(days=366 * 40)
    early = local_start - SHIFT  # walls a little earlier may be later instants
    cutoff: datetime | None = None  # and walls a little later earlier ones (DST)
    found = 0
    while day < limit:
        day += timedelta(days=1)
        if cutoff is not None and day > cutoff:
            break
        if day + timedelta(days=1) <= early or not day_matches(spec, day):
            continue
        first = 0
        if day.date() == early.date():
            first = bisect_left(times, (early.hour, early.minute, early.second))
        for hour, minute, second in times[first:]:
            wall = day.replace(hour=hour, minute=minute, second=second)
            if cutoff is not None and wall > cutoff:
                break
            kind = wall_kind(wall, zone)
            new = []
            if kind == 1:  # nonexistent: the first instant after the gap
                while wall_kind(wall, zone) == 1:
                    wall += timedelta(seconds=1)
                new.append(wall.replace(tzinfo=zone).astimezone(UTC))
            else:
                new.append(wall.replace(tzinfo=zone).astimezone(UTC))
                if kind == 2 and every_hour:
                    new.append(wall.replace(tzinfo=zone, fold=1).astimezone(UTC))
            for instant in new:
                if instant >= start and instant not in instants:
                    found += 1
                instants.add(instant)
            if cutoff is None and found >= count:
                cutoff = wall + SHIFT
    return sorted(i for i in instants if i >= start)[:count]


# --- the properties --------------------------------------------------------------------------


def offset_changes(zone: ZoneInfo) -> list[datetime]:
    """The instants in 2026-2027 when ``zone`` changes its UTC offset (to the hour)."""
    hour = datetime(2026, 1, 1, tzinfo=UTC)
    changes = []
    offset = hour.astimezone(zone).utcoffset()
    while hour.year < 2028:
        hour += timedelta(hours=1)
        if (new := hour.astimezone(zone).utcoffset()) != offset:
            changes.append(hour)
            offset = new
    return changes


CHANGES = {name: offset_changes(ZoneInfo(name)) for name in ZONES}


@st.composite
def cases(draw: st.DrawFn, specs) -> tuple[Spec, datetime, ZoneInfo]:
    """A spec, a naive start (read in the zone) and a zone; half the time the start is a
    few hours before a DST change and the spec fires at night."""
    name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(name)
    if len(CHANGES[name]) > 0 and draw(st.booleans()):
        change = draw(st.sampled_from(CHANGES[name]))
        before = timedelta(
            minutes=draw(st.integers(0, 3 * 24 * 60)), seconds=draw(st.integers(0, 59))
        )
        start = (change - before).astimezone(zone).replace(tzinfo=None)
        return draw(specs(night=True)), start, zone
    start = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2045, 12, 31)))
    return draw(specs()), start, zone


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(spec: Spec, start_wall: datetime, zone: ZoneInfo, seed: int) -> None:
    start = start_wall.replace(tzinfo=zone)
    try:
        trigger = spec.build(start, zone)
    except ValueError as exc:
        # only a spec that can never fire may be refused
        assert "never fire" in str(exc)
        assert expected_fire_times(spec, zone, datetime(2000, 1, 1, tzinfo=UTC), 1) == []
        return
    check_trigger(trigger, n=40, seed=seed)
    got: list[datetime] = []
    while len(got) < COUNT and (fire_time := trigger.next()) is not None:
        assert fire_time.tzinfo is zone
        got.append(fire_time)
    if len(got) < COUNT:  # exhausted (a year field that runs out): for good
        assert trigger.next() is None
    expected = expected_fire_times(spec, zone, start, COUNT)
    got_utc = [f.astimezone(UTC) for f in got]
    if len(expected) == COUNT:
        assert got_utc == expected, (spec, start)
    else:  # the oracle looks about 40 years ahead: compare within that window
        window_end = start + timedelta(days=365 * 39)
        assert [g for g in got_utc if g < window_end] == [e for e in expected if e < window_end]


@SETTINGS
@given(case=cases(keyword_specs), seed=st.integers(0, 1000))
def test_keyword_specs_fire_exactly_when_the_definition_says(
    case: tuple[Spec, datetime, ZoneInfo], seed: int
) -> None:
    check(*case, seed)


@SETTINGS
@given(case=cases(crontab_specs), seed=st.integers(0, 1000))
def test_crontab_lines_fire_exactly_when_the_definition_says(
    case: tuple[Spec, datetime, ZoneInfo], seed: int
) -> None:
    check(*case, seed)


def check_built_one_after_another(
    spec: Spec, start_wall: datetime, zone: ZoneInfo, data: st.DataObject
) -> None:
    """Triggers of one spec and zone built from later and later instants: each after the
    first may take its first fire time from the search of the one before (CronSpec's
    recent_first, valid up to the fire time that search found); each fires as defined."""
    instant = start_wall.replace(tzinfo=zone).astimezone(UTC)
    instant += timedelta(microseconds=data.draw(st.integers(0, 999_999)))
    for _ in range(data.draw(st.integers(2, 6))):
        try:
            trigger = spec.build(instant.astimezone(zone), zone)
        except ValueError:
            return  # can never fire (see check)
        got: list[datetime] = []
        while len(got) < 3 and (fire_time := trigger.next()) is not None:
            got.append(fire_time.astimezone(UTC))
        expected = expected_fire_times(spec, zone, instant, 3)
        window_end = instant + timedelta(days=365 * 39)
        assert [g for g in got if g < window_end] == [e for e in expected if e < window_end], (
            spec,
            instant,
        )
        if not got:
            return
        first = got[0]
        # the whole second the search started from (the instant rounded up), less one second
        searched = instant.replace(microsecond=0) - timedelta(
            seconds=0 if instant.microsecond else 1
        )
        # within the span the last search covers, at either end of it, or past it
        instant = data.draw(
            st.sampled_from(
                [
                    instant + (first - instant) * data.draw(st.floats(0, 1)),
                    instant,
                    searched,
                    searched + timedelta(microseconds=1),
                    first,
                    first - timedelta(microseconds=1),
                    first + timedelta(microseconds=1),
                    first + timedelta(seconds=data.draw(st.integers(1, 3 * 3600))),
                ]
            )
        )


@SETTINGS
@given(case=cases(keyword_specs), data=st.data())
def test_keyword_triggers_built_alike_one_after_another_fire_as_defined(
    case: tuple[Spec, datetime, ZoneInfo], data: st.DataObject
) -> None:
    check_built_one_after_another(*case, data)


@SETTINGS
@given(case=cases(crontab_specs), data=st.data())
def test_crontab_triggers_built_alike_one_after_another_fire_as_defined(
    case: tuple[Spec, datetime, ZoneInfo], data: st.DataObject
) -> None:
    check_built_one_after_another(*case, data)
