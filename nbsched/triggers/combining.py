"""Triggers that combine other triggers: all must agree (``AndTrigger``) or any fires
(``OrTrigger``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from .._converters import as_timedelta
from .._exceptions import MaxIterationsReached
from .._marshalling import clone_trigger, trigger_from_state, trigger_to_state
from ..abc import Trigger
from ._checks import finite
from ._describe import count
from ._state import ComparedByState, StateReader, datetime_to_state

__all__ = ["AndTrigger", "OrTrigger", "MaxIterationsReached"]

_UTC = timezone.utc


def _check_triggers(triggers: Any) -> list[Trigger]:
    if isinstance(triggers, (str, bytes, Trigger)) or not isinstance(triggers, Iterable):
        raise TypeError(f"triggers: expected a list of triggers, got {triggers!r}")
    checked = list(triggers)
    if not checked:
        raise ValueError("triggers: expected at least one trigger, got an empty list")
    for index, trigger in enumerate(checked):
        if not isinstance(trigger, Trigger):
            raise TypeError(
                f"triggers[{index}]: expected a Trigger (nbsched.abc.Trigger), got "
                f"{type(trigger).__name__} {trigger!r}"
            )
    return checked


def _restored_child(reader: StateReader, index: int, data: Any) -> Trigger:
    """A combined trigger restored from its stored ``{"type": ..., "state": ...}``; any
    problem is a ValueError naming ``triggers[index]`` (with the child's reason, shortened:
    combining triggers may nest)."""
    try:
        if not isinstance(data, dict):
            raise ValueError(f"must be {{'type': ..., 'state': ...}}, got {data!r:.80}")
        # the whole state is a copy already (trigger_from_state, clone_trigger)
        return trigger_from_state(data, fresh=True)
    except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
        reason = str(exc) or type(exc).__name__
        if len(reason) > 300:
            reason = reason[:297] + "..."
        raise reader.error(("triggers", index), reason) from None


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(_UTC)


def _child_text(trigger: Trigger) -> str:
    text = str(trigger)
    return f"({text})" if isinstance(trigger, _CombiningTrigger) else text


def _catch_up(trigger: Trigger, not_before: datetime) -> None:
    """Let ``trigger`` skip its fire times before ``not_before`` in one step, if it can."""
    fast_forward = getattr(trigger, "_fast_forward", None)
    if fast_forward is not None:
        fast_forward(not_before)


#: the most fire times an AndTrigger may examine for one fire time (a few seconds' work)
MAX_ITERATIONS = 1_000_000


def _threshold(value: float | timedelta) -> timedelta:
    """The AndTrigger threshold as a timedelta: zero or positive, finite, one that fits."""
    if isinstance(value, float) and not finite(value):
        raise ValueError(f"threshold: must be a finite number of seconds, got {value!r}")
    try:
        delta = as_timedelta(value, argument="threshold")
    except OverflowError:
        raise ValueError(
            f"threshold: {value!r} seconds is too long (a timedelta holds at most 999999999 days)"
        ) from None
    if delta is None or delta < timedelta(0):
        raise ValueError(f"threshold: must be zero or positive, got {value!r}")
    return delta


class _CombiningTrigger(ComparedByState, Trigger):
    __slots__ = ("_triggers", "_pending", "_pending_utc")

    def __init__(self, triggers: Sequence[Trigger]):
        self._triggers = _check_triggers(triggers)
        # Each child's next fire time as returned (its zone) and in UTC (for comparing:
        # datetimes in the same zone compare by wall clock, ignoring the DST fold).
        self._pending: list[datetime | None] | None = None
        self._pending_utc: list[datetime | None] = []

    def _clone(self) -> Any:
        """An independent copy in the same state (see ``clone_trigger``): the combined
        triggers cloned, the pending fire times (immutable datetimes) in new lists."""
        clone = type(self).__new__(type(self))
        clone._triggers = [clone_trigger(trigger) for trigger in self._triggers]
        pending = self._pending
        clone._pending = None if pending is None else list(pending)
        clone._pending_utc = list(self._pending_utc)
        return clone

    @property
    def triggers(self) -> list[Trigger]:
        """The combined triggers (advanced by this trigger: don't share them)."""
        return self._triggers

    def _start(self) -> list[datetime | None]:
        pending = [trigger.next() for trigger in self._triggers]
        self._pending = pending
        self._pending_utc = [_utc(value) for value in pending]
        return pending

    def _advance(self, index: int) -> None:
        value = self._triggers[index].next()
        self._pending[index] = value  # type: ignore[index]
        self._pending_utc[index] = None if value is None else value.astimezone(_UTC)

    def __getstate__(self) -> dict[str, Any]:
        pending = self._pending
        return {
            "version": 1,
            "triggers": [trigger_to_state(trigger) for trigger in self._triggers],
            "next_fire_times": None
            if pending is None
            else [datetime_to_state(value) for value in pending],
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._restore(StateReader(self, state, 1))

    def _restore(self, reader: StateReader) -> None:
        triggers = [
            _restored_child(reader, index, data)
            for index, data in enumerate(reader.items("triggers", min_size=1))
        ]
        pending: list[datetime | None] | None = None
        if reader.get("next_fire_times") is not None:
            stored = reader.items("next_fire_times")
            if len(stored) != len(triggers):
                raise reader.error(
                    ("next_fire_times",),
                    f"must hold one fire time (or null) per trigger: {len(triggers)}, got "
                    f"{len(stored)}",
                )
            pending = [
                reader.instant("next_fire_times", index, optional=True)
                for index in range(len(stored))
            ]
        self._triggers = triggers
        self._pending = pending
        self._pending_utc = [] if pending is None else [_utc(value) for value in pending]


class AndTrigger(_CombiningTrigger):
    """Fires when all ``triggers`` fire within ``threshold`` of each other, at the earliest of
    their fire times.

    A trigger that lags behind the others is advanced until it catches up (an
    :class:`~nbsched.triggers.IntervalTrigger` jumps there arithmetically), so fire times
    none of the others can match are skipped quickly. The trigger is exhausted as soon as any
    of the combined triggers is.

    :param triggers: the triggers to combine (at least one; they are advanced by this trigger)
    :param threshold: how far apart (seconds or ``timedelta``, >= 0) fire times may be and
        still count as the same moment
    :param max_iterations: how many fire times of the combined triggers may be examined for one
        fire time before :class:`~nbsched.triggers.combining.MaxIterationsReached` is raised
        (they may never agree)
    :raises TypeError: ``triggers`` is not a list of triggers
    :raises ValueError: empty ``triggers``, negative ``threshold``, ``max_iterations`` < 1

    Example (every 2 hours, but only inside office hours)::

        AndTrigger([CronTrigger(hour="9-17", day_of_week="mon-fri"),
                    IntervalTrigger(hours=2, start_time=monday_9am)])
    """

    __slots__ = ("_threshold", "_max_iterations", "_done")
    # clone_trigger copies it with _clone() (a subclass may add state: it is not inherited)
    _clones_itself = True

    def __init__(
        self,
        triggers: Sequence[Trigger],
        threshold: float | timedelta = 1,
        max_iterations: int = 10000,
    ):
        super().__init__(triggers)
        threshold_delta = _threshold(threshold)
        if isinstance(max_iterations, bool) or not isinstance(max_iterations, int):
            raise TypeError(f"max_iterations: expected an int, got {max_iterations!r}")
        if max_iterations < 1:
            raise ValueError(f"max_iterations: must be at least 1, got {max_iterations!r}")
        if max_iterations > MAX_ITERATIONS:
            raise ValueError(
                f"max_iterations: must be at most {MAX_ITERATIONS} (more could block the "
                f"scheduler for minutes), got {max_iterations!r}"
            )
        self._threshold = threshold_delta
        self._max_iterations = max_iterations
        self._done = False

    def _clone(self) -> Any:
        clone = super()._clone()
        clone._threshold = self._threshold
        clone._max_iterations = self._max_iterations
        clone._done = self._done
        return clone

    @property
    def threshold(self) -> timedelta:
        """How far apart the triggers' fire times may be and still count as one."""
        return self._threshold

    @property
    def max_iterations(self) -> int:
        """How many fire times of the combined triggers one :meth:`next` may examine."""
        return self._max_iterations

    def next(self) -> datetime | None:
        if self._done:
            return None
        if self._pending is None:
            self._start()
        triggers = self._triggers
        pending = self._pending
        pending_utc = self._pending_utc
        count = len(triggers)
        budget = self._max_iterations
        while True:
            if None in pending_utc:
                self._done = True
                return None
            # No fire time of a trigger before `floor` can ever be within the threshold of
            # the latest pending one: let the lagging triggers skip straight past them.
            floor = max(pending_utc) - self._threshold  # type: ignore[type-var,operator]
            lagging = False
            for index in range(count):
                if pending_utc[index] < floor:  # type: ignore[operator]
                    lagging = True
                    trigger = triggers[index]
                    fast_forward = getattr(trigger, "_fast_forward", None)
                    if fast_forward is not None:
                        fast_forward(floor)
                    value = trigger.next()
                    pending[index] = value  # type: ignore[index]
                    pending_utc[index] = None if value is None else value.astimezone(_UTC)
                    budget -= 1
            if not lagging:
                break
            if budget <= 0:
                raise MaxIterationsReached(self, self._max_iterations)
        fire_time = pending[pending_utc.index(min(pending_utc))]  # type: ignore[index,type-var]
        for index in range(count):
            value = triggers[index].next()
            pending[index] = value  # type: ignore[index]
            pending_utc[index] = None if value is None else value.astimezone(_UTC)
        return fire_time

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["threshold"] = self._threshold.total_seconds()
        state["max_iterations"] = self._max_iterations
        state["done"] = self._done
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        reader = StateReader(self, state, 1)
        seconds = reader.number("threshold")
        max_iterations = reader.integer("max_iterations", low=1, high=MAX_ITERATIONS)
        done = reader.boolean("done")
        try:
            threshold = _threshold(seconds)
        except ValueError as exc:
            raise reader.error(("threshold",), str(exc).split(": ", 1)[-1]) from None
        self._restore(reader)
        self._threshold = threshold
        self._max_iterations = max_iterations
        self._done = done

    def __str__(self) -> str:
        seconds = self._threshold.total_seconds()
        within = f" (within {count(seconds, 'second')})" if seconds else ""
        return f"when all of{within}: " + "; ".join(_child_text(t) for t in self._triggers)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._triggers!r}, "
            f"threshold={self._threshold.total_seconds()!r}, "
            f"max_iterations={self._max_iterations!r})"
        )


class OrTrigger(_CombiningTrigger):
    """Fires whenever any of ``triggers`` fires, in time order; a moment several of them share
    fires once. Exhausted when all of them are.

    :param triggers: the triggers to combine (at least one; they are advanced by this trigger)
    :raises TypeError: ``triggers`` is not a list of triggers
    :raises ValueError: empty ``triggers``

    Example (weekdays at 09:00 and weekends at 11:00)::

        OrTrigger([CronTrigger(hour=9, day_of_week="mon-fri"),
                   CronTrigger(hour=11, day_of_week="sat,sun")])
    """

    __slots__ = ()
    # clone_trigger copies it with _clone() (a subclass may add state: it is not inherited)
    _clones_itself = True

    def next(self) -> datetime | None:
        if self._pending is None:
            self._start()
        pending_utc = self._pending_utc
        earliest: datetime | None = None
        chosen = -1
        for index, value in enumerate(pending_utc):
            if value is not None and (earliest is None or value < earliest):
                earliest, chosen = value, index
        if earliest is None:
            return None
        fire_time = self._pending[chosen]  # type: ignore[index]
        for index, value in enumerate(pending_utc):
            if value == earliest:
                self._advance(index)
        return fire_time

    def _fast_forward(self, not_before: datetime) -> None:
        """Drop the fire times before ``not_before`` (used by an enclosing AndTrigger)."""
        if self._pending is None:
            self._start()
        for index, value in enumerate(self._pending_utc):
            if value is not None and value < not_before:
                _catch_up(self._triggers[index], not_before)
                self._advance(index)
                while (value := self._pending_utc[index]) is not None and value < not_before:
                    self._advance(index)

    def __str__(self) -> str:
        return "when any of: " + "; ".join(_child_text(t) for t in self._triggers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._triggers!r})"
