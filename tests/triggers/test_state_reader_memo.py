"""StateReader remembers the instants it read (a store restores the same start times on every
fire): what it gives back is the instant of that exact text, checked as the first time."""

from __future__ import annotations

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from nbsched.triggers import IntervalTrigger

BERLIN = "2026-03-01T00:00:00+01:00[Europe/Berlin]"
FIXED = "2026-03-01T00:00:00+01:00"


def restored(start_time: str, next_fire_time: str | None = None) -> IntervalTrigger:
    trigger = IntervalTrigger.__new__(IntervalTrigger)
    trigger.__setstate__(
        {
            "version": 1,
            "interval": {
                "weeks": 0,
                "days": 0,
                "hours": 1,
                "minutes": 0,
                "seconds": 0,
                "microseconds": 0,
            },
            "start_time": start_time,
            "end_time": None,
            "next_fire_time": next_fire_time,
        }
    )
    return trigger


def test_the_same_instant_in_other_words_keeps_its_own_zone() -> None:
    for _ in range(2):  # the second time from memory
        in_berlin, fixed = restored(BERLIN), restored(FIXED)
        assert in_berlin.start_time == fixed.start_time  # the same instant
        assert in_berlin.start_time.tzinfo == ZoneInfo("Europe/Berlin")
        assert fixed.start_time.tzinfo == timezone(timedelta(hours=1))


def test_bad_text_is_refused_every_time_and_good_text_still_read() -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match=r"state\['start_time'\]: must be an ISO 8601"):
            restored("2026-03-01T25:00:00+01:00")
        with pytest.raises(ValueError, match=r"state\['start_time'\]: is a naive date"):
            restored("2026-03-01T00:00:00")
        assert restored(BERLIN, BERLIN).next() == restored(BERLIN).start_time
