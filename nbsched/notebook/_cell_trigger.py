"""The trigger of a scheduled cell: another trigger plus ``--now`` and ``--times N``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._marshalling import trigger_from_state, trigger_to_state
from ..abc import Trigger
from ..triggers._state import StateReader

__all__ = ["CellTrigger"]


class CellTrigger(Trigger):
    """Wraps ``trigger``: fires at ``first_fire`` first (``--now``), then at the wrapped
    trigger's times after it, and stops after ``times`` fires (``--times``) when given.

    ``times`` counts the fire times it handed out; a schedule's pending fire time counts as
    soon as it is handed out. Resuming a paused cell schedule goes through :meth:`resume_at`,
    so the fire times skipped while paused do not count (``--times N`` means N runs).

    Its state is plain data like any trigger's, so a cell's schedule survives in a file store.
    """

    __slots__ = ("_trigger", "_times", "_fired", "_first_fire", "_last")

    def __init__(
        self, trigger: Trigger, *, times: int | None = None, first_fire: datetime | None = None
    ):
        if not isinstance(trigger, Trigger):
            raise TypeError(f"trigger: expected a Trigger, got {type(trigger).__name__}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
            raise TypeError(f"times: expected an int, got {type(times).__name__} {times!r}")
        if times is not None and times < 1:
            raise ValueError(f"times: must be at least 1, got {times!r}")
        if first_fire is not None and first_fire.tzinfo is None:
            raise ValueError(f"first_fire: {first_fire!r} is a naive datetime")
        self._trigger = trigger
        self._times = times
        self._fired = 0
        self._first_fire = first_fire
        self._last: datetime | None = None

    @property
    def trigger(self) -> Trigger:
        """The wrapped trigger."""
        return self._trigger

    @property
    def times(self) -> int | None:
        """How many fires in all (``None``: as many as the wrapped trigger gives)."""
        return self._times

    def next(self) -> datetime | None:
        if self._times is not None and self._fired >= self._times:
            return None
        fire_time: datetime | None
        if self._first_fire is not None:
            fire_time, self._first_fire = self._first_fire, None
        else:
            fire_time = self._trigger.next()
            while fire_time is not None and self._last is not None and fire_time <= self._last:
                fire_time = self._trigger.next()
            if fire_time is None:
                return None
        self._fired += 1
        self._last = fire_time
        return fire_time

    def resume_at(self, pending: datetime | None, resume_from: datetime) -> datetime | None:
        """Prepare to resume a paused schedule at ``resume_from``: skip the fire times before
        it *without counting them*, so that the next :meth:`next` returns the first fire time
        at or after ``resume_from`` (and counts it).

        :param pending: the paused schedule's next fire time (handed out and counted before
            the pause; it is given back, and counted again only if it is still to come)
        :return: that first fire time, or ``None`` if the wrapped trigger has none left
        """
        if pending is None:
            return None
        self._fired = max(0, self._fired - 1)
        fire_time: datetime | None = pending
        while fire_time is not None and fire_time < resume_from:
            fire_time = self._trigger.next()
            while fire_time is not None and self._last is not None and fire_time <= self._last:
                fire_time = self._trigger.next()
        self._first_fire = fire_time
        return fire_time

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "trigger": trigger_to_state(self._trigger),
            "times": self._times,
            "fired": self._fired,
            "first_fire": self._first_fire.isoformat() if self._first_fire else None,
            "last": self._last.isoformat() if self._last else None,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        # stored state is checked field by field (a ValueError naming the field), and nothing
        # is assigned until all of it is good
        reader = StateReader(self, state, 1)
        try:
            trigger = trigger_from_state(reader.mapping("trigger"))
        except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
            raise reader.error(("trigger",), str(exc) or type(exc).__name__) from None
        times = None if reader.get("times") is None else reader.integer("times", low=1)
        fired = reader.integer("fired", low=0, high=times)
        first_fire = reader.instant("first_fire", optional=True)
        last = reader.instant("last", optional=True)
        self._trigger, self._times, self._fired = trigger, times, fired
        self._first_fire, self._last = first_fire, last

    def __str__(self) -> str:
        text = str(self._trigger)
        if self._times is not None:
            text += f", {self._times} time{'s' if self._times != 1 else ''} in all"
        return text

    def __repr__(self) -> str:
        return (
            f"CellTrigger({self._trigger!r}, times={self._times!r}, "
            f"first_fire={self._first_fire!r})"
        )
