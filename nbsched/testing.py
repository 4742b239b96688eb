"""Check that a trigger keeps the trigger contract: :func:`check_trigger`.

Run it on a custom trigger while you write it (in a notebook cell or a test)::

    from nbsched.testing import check_trigger
    check_trigger(MyTrigger(...))      # raises TriggerContractError naming the broken rule

The rules are those of :class:`nbsched.abc.Trigger`. The check runs on a copy made through the
trigger's own ``__getstate__``/``__setstate__``, so the trigger you pass is not advanced.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._exceptions import TriggerContractError
from .abc import Trigger

__all__ = ["TriggerCheckReport", "check_trigger"]

RULE_TYPE = "next() must return a datetime or None"
RULE_AWARE = "fire times must be timezone-aware"
RULE_INCREASING = "fire times must strictly increase"
RULE_EXHAUSTED = "once next() returns None it must keep returning None"
RULE_JSON = "__getstate__() must return JSON-compatible plain data"
RULE_ROUND_TRIP = "a __getstate__()/__setstate__() round trip must continue the same sequence"

_CALLS_AFTER_NONE = 3
_UTC = timezone.utc


@dataclass(frozen=True, slots=True)
class TriggerCheckReport:
    """What :func:`check_trigger` did; returned when the contract holds.

    ``str(report)`` and its display in a notebook read as sentences (``repr`` is one line).

    :ivar description: ``str(trigger)``
    :ivar calls: how many times ``next()`` was called (on the copy)
    :ivar fire_times: how many fire times were checked
    :ivar exhausted: whether the trigger returned ``None`` within the calls made
    :ivar first: the first fire time, or ``None``
    :ivar last: the last fire time checked, or ``None``
    :ivar round_trip_at: the call before which the state round trip was made (0: before the
        first call)
    """

    description: str
    calls: int
    fire_times: int
    exhausted: bool
    first: datetime | None
    last: datetime | None
    round_trip_at: int

    def __repr__(self) -> str:
        if self.fire_times:
            span = f"from {_show(self.first)} to {_show(self.last)}"
        else:
            span = "none"
        end = "then exhausted" if self.exhausted else "not exhausted"
        return (
            f"<TriggerCheckReport: contract holds for {self.description!r}: {self.calls} calls, "
            f"{self.fire_times} fire time{'' if self.fire_times == 1 else 's'} {span}, {end}; "
            f"state round trip before call "
            f"{self.round_trip_at + 1} continued identically>"
        )

    def facts(self) -> list[str]:
        """What the check did, one readable sentence each."""
        count = f"{self.fire_times} fire time{'' if self.fire_times == 1 else 's'}"
        span = f" from {_show(self.first)} to {_show(self.last)}" if self.fire_times else ""
        if self.exhausted:
            end = "then next() returned None (the trigger is exhausted)"
        else:
            end = "not exhausted (the trigger goes on)"
        return [
            f"{self.calls} calls of next(): {count}{span}, {end}",
            f"its state, copied through __getstate__()/__setstate__() before call "
            f"{self.round_trip_at + 1}, continued the same sequence",
        ]

    def __str__(self) -> str:
        lines = [f"contract holds for {self.description}", *self.facts()]
        return "\n  ".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's plain-text display: the readable form, not the repr
        printer.text(str(self))

    def _repr_html_(self) -> str:
        import html

        items = "".join(f"<li>{html.escape(fact)}</li>" for fact in self.facts())
        return (
            f'<div class="nbsched-check-report"><span style="color:#1a7f37;font-weight:600">'
            f"✔ contract holds</span> for <code>{html.escape(self.description)}</code>"
            f'<ul style="margin:2px 0 4px">{items}</ul></div>'
        )


def _show(value: Any) -> str:
    """``2026-03-29 02:00+01:00`` (seconds only when not zero)."""
    if not isinstance(value, datetime):
        return repr(value)
    text = value.strftime("%Y-%m-%d %H:%M")
    if value.second or value.microsecond:
        text += value.strftime(":%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    offset = value.utcoffset()
    if offset is not None:
        total = int(offset.total_seconds())
        sign = "-" if total < 0 else "+"
        minutes = abs(total) // 60
        text += f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text


def _non_json(value: Any, path: str) -> str | None:
    """Say where ``value`` stops being plain JSON data, or ``None`` if it is plain data."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"{path} is {value!r}, which JSON cannot represent"
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _non_json(item, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has the non-string key {key!r}"
            found = _non_json(item, f"{path}[{key!r}]")
            if found:
                return found
        return None
    return f"{path} is a {type(value).__name__} ({value!r}), not plain data"


def _checked_state(trigger: Trigger, call: int) -> Any:
    try:
        state = trigger.__getstate__()
    except Exception as exc:
        raise TriggerContractError(RULE_JSON, call, f"__getstate__() raised {exc!r}", exc) from exc
    problem = _non_json(state, "state")
    if problem:
        raise TriggerContractError(RULE_JSON, call, problem, state)
    if json.loads(json.dumps(state)) != state:
        raise TriggerContractError(
            RULE_JSON, call, "the state differs after json.dumps()/json.loads()", state
        )
    return state


def _restored(trigger: Trigger, state: Any, call: int) -> Trigger:
    cls = type(trigger)
    copy = cls.__new__(cls)
    try:
        # Feed it what a data store would give back: the JSON-decoded state.
        copy.__setstate__(json.loads(json.dumps(state)))
    except Exception as exc:
        raise TriggerContractError(
            RULE_ROUND_TRIP, call, f"__setstate__(__getstate__()) raised {exc!r}", exc
        ) from exc
    return copy


def _call_next(trigger: Trigger, call: int, label: str = "next()") -> datetime | None:
    try:
        value = trigger.next()
    except Exception as exc:
        raise TriggerContractError(RULE_TYPE, call, f"{label} raised {exc!r}", exc) from exc
    if value is not None and not isinstance(value, datetime):
        raise TriggerContractError(
            RULE_TYPE, call, f"{label} returned {type(value).__name__} {value!r}", value
        )
    return value


def check_trigger(
    trigger: Trigger, n: int = 1000, *, seed: int | None = None
) -> TriggerCheckReport:
    """Check that ``trigger`` keeps the trigger contract over ``n`` calls of ``next()``.

    The checks run on a copy (through ``__getstate__``/``__setstate__``), so ``trigger`` is
    not advanced. They are, in order of the message you will see:

    * every value is a ``datetime`` or ``None`` and every datetime is timezone-aware;
    * fire times strictly increase (never the same instant twice, never an earlier one);
    * after ``None``, ``next()`` keeps returning ``None`` (checked with a few more calls);
    * ``__getstate__()`` returns JSON-compatible plain data (also after ``json`` round trip);
    * a ``__setstate__(__getstate__())`` round trip at a random call (chosen with ``seed``)
      continues the identical sequence: same instants and same UTC offsets.

    :param trigger: any :class:`nbsched.abc.Trigger`
    :param n: how many times to call ``next()`` (>= 1)
    :param seed: seed for choosing the round-trip call (``None``: random)
    :returns: a :class:`TriggerCheckReport`
    :raises TriggerContractError: naming the broken rule, the call number and the values,
        e.g. ``rule broken: fire times must strictly increase (at call 17): next() returned
        2026-03-29 02:00+01:00 after 2026-03-29 02:00+01:00``
    :raises TypeError: ``trigger`` is not a Trigger or ``n`` not an int
    :raises ValueError: ``n`` < 1
    """
    if not isinstance(trigger, Trigger):
        raise TypeError(
            f"trigger: expected a nbsched.abc.Trigger, got {type(trigger).__name__} {trigger!r}"
        )
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n: expected an int, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"n: must be at least 1, got {n!r}")

    current = _restored(trigger, _checked_state(trigger, 0), 0)
    round_trip_at = random.Random(seed).randrange(n)
    twin: Trigger | None = None
    previous: datetime | None = None
    previous_utc: datetime | None = None
    first: datetime | None = None
    fire_times = 0
    calls = 0
    exhausted_at: int | None = None

    for call in range(1, n + 1 + _CALLS_AFTER_NONE):
        if call > (n if exhausted_at is None else exhausted_at + _CALLS_AFTER_NONE):
            break
        if twin is None and (call - 1 == round_trip_at or exhausted_at is not None):
            twin = _restored(current, _checked_state(current, call - 1), call - 1)
            round_trip_at = call - 1
        value = _call_next(current, call)
        calls = call
        if twin is not None:
            twin_value = _call_next(twin, call, "the restored trigger's next()")
            same = (value is None and twin_value is None) or (
                value is not None
                and twin_value is not None
                # Naive values compare equal here so that the awareness rule below names them.
                and value == twin_value
                and value.utcoffset() == twin_value.utcoffset()
            )
            if not same:
                raise TriggerContractError(
                    RULE_ROUND_TRIP,
                    call,
                    f"after a round trip before call {round_trip_at + 1}, the restored trigger "
                    f"returned {_show(twin_value)} where the original returned {_show(value)}",
                    (value, twin_value),
                )
        if exhausted_at is not None:
            if value is not None:
                raise TriggerContractError(
                    RULE_EXHAUSTED,
                    call,
                    f"next() returned {_show(value)} after returning None at call {exhausted_at}",
                    value,
                )
            continue
        if value is None:
            exhausted_at = call
            continue
        if value.tzinfo is None or value.utcoffset() is None:
            raise TriggerContractError(
                RULE_AWARE, call, f"next() returned the naive datetime {value.isoformat()}", value
            )
        value_utc = value.astimezone(_UTC)
        if previous_utc is not None and value_utc <= previous_utc:
            raise TriggerContractError(
                RULE_INCREASING,
                call,
                f"next() returned {_show(value)} after {_show(previous)}",
                (previous, value),
            )
        if first is None:
            first = value
        previous, previous_utc = value, value_utc
        fire_times += 1

    return TriggerCheckReport(
        description=str(trigger),
        calls=calls,
        fire_times=fire_times,
        exhausted=exhausted_at is not None,
        first=first,
        last=previous,
        round_trip_at=round_trip_at,
    )
