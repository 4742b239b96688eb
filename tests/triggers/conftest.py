from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from nbsched._marshalling import trigger_from_state, trigger_to_state
from nbsched.abc import Trigger
from nbsched.testing import check_trigger

#: The three zones every DST test runs in: 1 h changes in Europe and North America (on
#: different dates and hours), and Lord Howe's 30-minute change.
DST_ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe")


@dataclass(frozen=True)
class Change:
    """A UTC offset change: at ``utc`` the offset goes from ``before`` to ``after``."""

    utc: datetime
    before: timedelta
    after: timedelta

    @property
    def size(self) -> timedelta:
        return abs(self.after - self.before)

    @property
    def wall_inside(self) -> datetime:
        """A naive wall time in the middle of the gap (nonexistent) or fold (ambiguous)."""
        low = self.utc.replace(tzinfo=None) + min(self.before, self.after)
        return low + self.size / 2


@dataclass(frozen=True)
class DstZone:
    zone: ZoneInfo
    gap: Change  # spring forward
    fold: Change  # fall back

    @property
    def key(self) -> str:
        return self.zone.key


def offset_changes(zone: ZoneInfo, year: int) -> list[Change]:
    """Find the zone's offset changes in ``year`` (to the second) by bisecting between hourly
    samples."""
    changes = []
    moment = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    step = timedelta(hours=1)
    while moment < end:
        before = moment.astimezone(zone).utcoffset()
        after = (moment + step).astimezone(zone).utcoffset()
        if before != after:
            low, high = int(moment.timestamp()), int((moment + step).timestamp())
            while high - low > 1:  # to the second: transitions are on whole seconds
                middle = (low + high) // 2
                if datetime.fromtimestamp(middle, zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            high = datetime.fromtimestamp(high, timezone.utc)  # type: ignore[assignment]
            changes.append(Change(high, before, after))  # type: ignore[arg-type]
        moment += step
    return changes


@pytest.fixture(params=DST_ZONES)
def dst_zone(request: pytest.FixtureRequest) -> DstZone:
    """One of the DST zones with its 2026 spring-forward and fall-back changes."""
    zone = ZoneInfo(request.param)
    changes = offset_changes(zone, 2026)
    gaps = [c for c in changes if c.after > c.before]
    folds = [c for c in changes if c.after < c.before]
    assert len(gaps) == 1 and len(folds) == 1, changes
    return DstZone(zone, gaps[0], folds[0])


@pytest.fixture
def round_trip() -> Callable[[Trigger, int], list]:
    """Advance ``trigger`` by ``advance`` calls, store it as JSON (as a data store would),
    restore it and assert the restored trigger continues with the same fire times as the
    original, also checking the full contract with ``check_trigger``. Returns the next fire
    times."""

    def run(trigger: Trigger, advance: int = 3) -> list:
        check_trigger(trigger, n=200, seed=advance)
        for _ in range(advance):
            trigger.next()
        stored = json.dumps(trigger_to_state(trigger))
        restored = trigger_from_state(json.loads(stored))
        assert type(restored) is type(trigger)
        assert repr(restored) == repr(trigger)
        assert str(restored) == str(trigger)
        expected = [trigger.next() for _ in range(20)]
        actual = [restored.next() for _ in range(20)]
        assert actual == expected
        assert [v and v.utcoffset() for v in actual] == [v and v.utcoffset() for v in expected]
        return expected

    return run
