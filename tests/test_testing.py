"""check_trigger against deliberately broken custom triggers: each broken rule is named."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nbsched import TriggerContractError
from nbsched.abc import Trigger
from nbsched.testing import TriggerCheckReport, check_trigger
from nbsched.triggers import DateTrigger, IntervalTrigger

CET = timezone(timedelta(hours=1))
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 28, 11, tzinfo=CET)
HOUR = timedelta(hours=1)


class Hourly(Trigger):
    """A correct custom trigger; subclasses below break one rule each."""

    def __init__(self, start: datetime = START, limit: int | None = None):
        self.calls = 0
        self.start = start
        self.limit = limit

    def value(self, call: int) -> Any:
        return self.start + (call - 1) * HOUR

    def next(self) -> Any:
        self.calls += 1
        if self.limit is not None and self.calls > self.limit:
            return None
        return self.value(self.calls)

    def __getstate__(self) -> Any:
        return {
            "version": 1,
            "calls": self.calls,
            "start": self.start.isoformat(),
            "limit": self.limit,
        }

    def __setstate__(self, state: Any) -> None:
        self.calls = state["calls"]
        self.start = datetime.fromisoformat(state["start"])
        self.limit = state["limit"]


class Naive(Hourly):
    def value(self, call: int) -> Any:
        return super().value(call).replace(tzinfo=None)


class RepeatsAt17(Hourly):
    def value(self, call: int) -> Any:
        return super().value(16 if call == 17 else call)


class GoesBackAt5(Hourly):
    def value(self, call: int) -> Any:
        return super().value(call) - (3 * HOUR if call == 5 else timedelta(0))


class Resurrects(Hourly):
    def next(self) -> Any:
        self.calls += 1
        return None if self.calls == 3 else self.value(self.calls)


class ReturnsText(Hourly):
    def value(self, call: int) -> Any:
        return super().value(call).isoformat() if call == 2 else super().value(call)


class RaisesAt4(Hourly):
    def value(self, call: int) -> Any:
        if call == 4:
            raise ZeroDivisionError("oops")
        return super().value(call)


class ForgetsProgress(Hourly):
    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state)
        self.calls = 0


class SetstateNeedsKey(Hourly):
    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state)
        self.extra = state["extra"]


class DatetimeInState(Hourly):
    def __getstate__(self) -> Any:
        return {**super().__getstate__(), "start": self.start}


class TupleInState(Hourly):
    def __getstate__(self) -> Any:
        return {**super().__getstate__(), "pair": (1, 2)}


class IntKeysInState(Hourly):
    def __getstate__(self) -> Any:
        return {**super().__getstate__(), "by_call": {1: "a"}}


class GetstateRaises(Hourly):
    def __getstate__(self) -> Any:
        raise RuntimeError("no state")


class LosesZoneWhenRestoredMidway(Hourly):
    """Restores a started trigger with a UTC offset instead of its zone: same instants, other
    wall clock (like storing the pending fire time without its zone)."""

    def value(self, call: int) -> Any:
        return (self.start + (call - 1) * HOUR).astimezone(self.start.tzinfo)

    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state)
        if self.calls:
            self.start = self.start.astimezone(timezone.utc)


def message_of(trigger: Trigger, **kwargs: Any) -> TriggerContractError:
    with pytest.raises(TriggerContractError) as info:
        check_trigger(trigger, **kwargs)
    return info.value


def test_correct_trigger_passes_and_reports() -> None:
    report = check_trigger(Hourly(limit=30), n=100, seed=7)
    assert isinstance(report, TriggerCheckReport)
    assert (report.calls, report.fire_times, report.exhausted) == (34, 30, True)
    assert report.first == START and report.last == START + 29 * HOUR
    text = repr(report)
    assert (
        "contract holds" in text and "34 calls, 30 fire times from 2026-03-28 11:00+01:00" in text
    )
    assert "then exhausted" in text


def test_the_report_reads_as_sentences_in_a_notebook() -> None:
    report = check_trigger(Hourly(limit=30), n=100, seed=7)
    text = str(report)
    assert text.splitlines() == [
        f"contract holds for {report.description}",
        "  34 calls of next(): 30 fire times from 2026-03-28 11:00+01:00 to "
        "2026-03-29 16:00+01:00, then next() returned None (the trigger is exhausted)",
        f"  its state, copied through __getstate__()/__setstate__() before call "
        f"{report.round_trip_at + 1}, continued the same sequence",
    ]
    printed: list[str] = []

    class Printer:  # IPython's pretty printer, as far as the report uses it
        def text(self, value: str) -> None:
            printed.append(value)

    report._repr_pretty_(Printer(), cycle=False)
    assert printed == [text]
    html = report._repr_html_()
    assert "✔ contract holds" in html and "<li>34 calls of next(): 30 fire times" in html
    assert "TriggerCheckReport" not in html + text


def test_not_exhausted_report() -> None:
    report = check_trigger(Hourly(), n=10, seed=1)
    assert (report.calls, report.fire_times, report.exhausted) == (10, 10, False)
    assert "not exhausted" in repr(report)


def test_the_users_trigger_is_not_advanced() -> None:
    trigger = Hourly()
    check_trigger(trigger, n=50)
    assert trigger.calls == 0
    interval = IntervalTrigger(hours=1, start_time=START)
    check_trigger(interval, n=50)
    assert interval.next() == START


@pytest.mark.parametrize("n", [1, 1000], ids=["round-trip-before-call-1", "random-round-trip"])
def test_naive_datetime(n: int) -> None:
    # n=1 puts the state round trip before call 1, so the restored twin returns the naive
    # value too; the awareness rule must still be the one named.
    error = message_of(Naive(), n=n)
    assert str(error) == (
        "rule broken: fire times must be timezone-aware (at call 1): next() returned the naive "
        "datetime 2026-03-28T11:00:00"
    )
    assert (error.rule, error.call) == ("fire times must be timezone-aware", 1)


def test_repeated_fire_time() -> None:
    error = message_of(RepeatsAt17())
    assert str(error) == (
        "rule broken: fire times must strictly increase (at call 17): next() returned "
        "2026-03-29 02:00+01:00 after 2026-03-29 02:00+01:00"
    )
    assert error.values == (START + 15 * HOUR, START + 15 * HOUR)


def test_earlier_fire_time() -> None:
    error = message_of(GoesBackAt5())
    assert str(error) == (
        "rule broken: fire times must strictly increase (at call 5): next() returned "
        "2026-03-28 12:00+01:00 after 2026-03-28 14:00+01:00"
    )


def test_increasing_is_judged_in_real_time_not_wall_clock() -> None:
    class Fold(Hourly):
        def value(self, call: int) -> Any:
            walls = [
                datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN),  # 00:30 UTC
                datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN, fold=1),  # 01:15 UTC: later
                datetime(2026, 10, 25, 2, 20, tzinfo=BERLIN),  # 00:20 UTC: earlier!
            ]
            return walls[call - 1]

    error = message_of(Fold(limit=3), n=3, seed=0)
    assert error.call == 3
    assert "2026-10-25 02:20+02:00 after 2026-10-25 02:15+01:00" in str(error)


def test_resurrects_after_none() -> None:
    error = message_of(Resurrects())
    assert str(error) == (
        "rule broken: once next() returns None it must keep returning None (at call 4): "
        "next() returned 2026-03-28 14:00+01:00 after returning None at call 3"
    )


def test_not_a_datetime() -> None:
    error = message_of(ReturnsText())
    assert str(error) == (
        "rule broken: next() must return a datetime or None (at call 2): next() returned str "
        "'2026-03-28T12:00:00+01:00'"
    )


def test_next_raises() -> None:
    error = message_of(RaisesAt4())
    assert str(error) == (
        "rule broken: next() must return a datetime or None (at call 4): next() raised "
        "ZeroDivisionError('oops')"
    )


def test_setstate_that_forgets_progress() -> None:
    error = message_of(ForgetsProgress(), n=100, seed=3)
    assert error.rule == (
        "a __getstate__()/__setstate__() round trip must continue the same sequence"
    )
    assert re.fullmatch(
        r"rule broken: a __getstate__\(\)/__setstate__\(\) round trip must continue the same "
        r"sequence \(at call (\d+)\): after a round trip before call \1, the restored trigger "
        r"returned 2026-03-28 11:00\+01:00 where the original returned \S+ \S+",
        str(error),
    ), str(error)


def test_setstate_that_raises() -> None:
    error = message_of(SetstateNeedsKey())
    assert error.call == 0
    assert str(error) == (
        "rule broken: a __getstate__()/__setstate__() round trip must continue the same "
        "sequence (at call 0): __setstate__(__getstate__()) raised KeyError('extra')"
    )


def test_datetime_in_state() -> None:
    error = message_of(DatetimeInState())
    assert str(error).startswith(
        "rule broken: __getstate__() must return JSON-compatible plain data (at call 0): "
        "state['start'] is a datetime (datetime.datetime(2026, 3, 28, 11, 0"
    )


def test_tuple_in_state() -> None:
    error = message_of(TupleInState())
    assert str(error).endswith("state['pair'] is a tuple ((1, 2)), not plain data")


def test_non_string_keys_in_state() -> None:
    error = message_of(IntKeysInState())
    assert str(error).endswith("state['by_call'] has the non-string key 1")


def test_getstate_raises() -> None:
    error = message_of(GetstateRaises())
    assert str(error) == (
        "rule broken: __getstate__() must return JSON-compatible plain data (at call 0): "
        "__getstate__() raised RuntimeError('no state')"
    )


def test_restored_trigger_must_keep_the_wall_clock() -> None:
    error = message_of(LosesZoneWhenRestoredMidway(), n=48, seed=20)
    assert "round trip" in error.rule
    original, restored = error.values
    assert original == restored and original.utcoffset() != restored.utcoffset()
    assert "+00:00 where the original returned" in str(error)


def test_round_trip_call_is_chosen_by_seed() -> None:
    first = check_trigger(Hourly(), n=500, seed=11)
    again = check_trigger(Hourly(), n=500, seed=11)
    assert first.round_trip_at == again.round_trip_at
    rounds = {check_trigger(Hourly(), n=500, seed=s).round_trip_at for s in range(5)}
    assert len(rounds) > 1


def test_round_trip_after_exhaustion() -> None:
    report = check_trigger(DateTrigger(START), n=1000, seed=500)
    assert report.exhausted and report.round_trip_at == 2  # right after the first None


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("0 9 * * *",), TypeError, "trigger: expected a nbsched.abc.Trigger, got str"),
        ((Hourly(), 0), ValueError, "n: must be at least 1, got 0"),
        ((Hourly(), "10"), TypeError, "n: expected an int, got str '10'"),
    ],
)
def test_bad_arguments(args: tuple, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match="^" + re.escape(message)):
        check_trigger(*args)
