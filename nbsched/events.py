"""Events published by data stores and schedulers on the event broker.

Every event is a frozen dataclass whose fields are plain data (str, int, bool, datetime, UUID,
enums), so brokers that cross process boundaries can serialize them. Subscribe with
``scheduler.subscribe(callback, {JobReleased})``.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from ._enums import JobOutcome


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base class of every event. ``timestamp`` is when it happened (UTC)."""

    timestamp: datetime = field(default_factory=_utcnow)

    def marshal(self) -> dict[str, Any]:
        """The event's fields as a dict of plain values (an enum by its value), for a broker
        to send with a serializer; ``type(event).unmarshal()`` rebuilds the event from it (as
        in APScheduler 4)."""
        return {
            item.name: value.value
            if isinstance(value := getattr(self, item.name), Enum)
            else value
            for item in fields(self)
        }

    @classmethod
    def unmarshal(cls: type[_E], marshalled: Mapping[str, Any]) -> _E:
        """Rebuild an event of this class from what :meth:`marshal` returned.

        :raises TypeError: for a missing or unknown field
        :raises ValueError: for a value that is not one of its enum's
        """
        values = dict(marshalled)
        for name, enum_type in _enum_fields(cls).items():
            value = values.get(name)
            if value is not None and not isinstance(value, enum_type):
                values[name] = enum_type(value)
        return cls(**values)


# --- data store events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStoreEvent(Event):
    """Base class of the events a data store publishes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskAdded(DataStoreEvent):
    task_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskUpdated(DataStoreEvent):
    task_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRemoved(DataStoreEvent):
    task_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleAdded(DataStoreEvent):
    schedule_id: str
    task_id: str
    next_fire_time: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleUpdated(DataStoreEvent):
    schedule_id: str
    task_id: str
    next_fire_time: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRemoved(DataStoreEvent):
    """A schedule was removed; ``finished`` is True when its trigger ran out of fire times."""

    schedule_id: str
    task_id: str
    finished: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleDeserializationFailed(DataStoreEvent):
    """A stored schedule could not be read back (its trigger class is gone, say)."""

    schedule_id: str
    exception: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobAdded(DataStoreEvent):
    job_id: UUID
    task_id: str
    schedule_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRemoved(DataStoreEvent):
    job_id: UUID
    task_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDeserializationFailed(DataStoreEvent):
    job_id: UUID
    exception: str


# --- scheduler events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerEvent(Event):
    """Base class of the events a scheduler publishes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStarted(SchedulerEvent):
    scheduler_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStopped(SchedulerEvent):
    """The scheduler stopped; ``exception`` says why if it crashed."""

    scheduler_id: str = ""
    exception: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobAcquired(SchedulerEvent):
    job_id: UUID
    scheduler_id: str
    task_id: str
    schedule_id: str | None
    scheduled_start: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobReleased(SchedulerEvent):
    """A job ended (or was given up on); ``outcome`` says how."""

    job_id: UUID
    scheduler_id: str
    task_id: str
    schedule_id: str | None
    scheduled_start: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: JobOutcome
    exception_type: str | None = None
    exception_message: str | None = None
    exception_traceback: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTriggerFailed(SchedulerEvent):
    """A schedule's trigger broke the trigger contract (it raised, returned something other
    than an aware datetime or None, or a fire time not later than the one before it). The
    scheduler paused the schedule at its pending fire time; the other schedules run on."""

    schedule_id: str
    task_id: str
    exception: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStoreRetryGaveUp(SchedulerEvent):
    """A call you made (``add_schedule``, ``get_schedules``, ...) retried a data store operation
    on temporary errors for the whole retry window and gave up, raising
    :class:`~nbsched.DataStoreUnavailableError`. (The scheduler's own calls never give up: see
    :class:`DataStoreUnavailable`.)"""

    operation: str
    attempts: int
    exception: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStoreUnavailable(SchedulerEvent):
    """The data store has failed with temporary errors (locked, disk full, server unreachable)
    for longer than the retry window. The scheduler keeps retrying with capped backoff and
    carries on by itself when it is back (:class:`DataStoreRecovered`).

    ``since`` is when the failing call first failed; ``exception`` the last error.
    """

    scheduler_id: str
    store: str
    since: datetime
    operation: str
    exception: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStoreRecovered(SchedulerEvent):
    """The data store answered again after being unavailable since ``unavailable_since``."""

    scheduler_id: str
    store: str
    unavailable_since: datetime


# --- construction ------------------------------------------------------------------------------

_E = TypeVar("_E", bound=Event)

#: event class -> its fields typed with an enum (or an optional one), and that enum
_enum_fields_of: dict[type[Event], dict[str, type[Enum]]] = {}


def _enum_fields(cls: type[Event]) -> dict[str, type[Enum]]:
    found = _enum_fields_of.get(cls)
    if found is None:
        found = {}
        for name, hint in typing.get_type_hints(cls).items():
            for candidate in typing.get_args(hint) or (hint,):
                if isinstance(candidate, type) and issubclass(candidate, Enum):
                    found[name] = candidate
                    break
        _enum_fields_of[cls] = found
    return found


def _with_fast_init(cls: type[Event]) -> None:
    """Give a frozen event class an ``__init__`` that fills its slots through their descriptors.

    The ``__init__`` that ``dataclass(frozen=True)`` writes assigns each field with
    ``object.__setattr__``, which costs about twice as much; the scheduler builds one or two
    events per job when somebody subscribes to them. Same signature (keyword-only, the same
    defaults and default factories), same result; instances stay frozen.
    """
    namespace: dict[str, object] = {"_NO_VALUE": _NO_VALUE}
    params: list[str] = []
    body: list[str] = []
    for i, item in enumerate(fields(cls)):
        name = item.name
        slot = next(c.__dict__[name] for c in cls.__mro__ if name in c.__dict__)
        namespace[f"_set{i}"] = slot.__set__
        if item.default is not MISSING:
            namespace[f"_default{i}"] = item.default
            params.append(f"{name}=_default{i}")
        elif item.default_factory is not MISSING:
            namespace[f"_factory{i}"] = item.default_factory
            params.append(f"{name}=_NO_VALUE")
            body.append(f"    if {name} is _NO_VALUE:\n        {name} = _factory{i}()\n")
        else:
            params.append(name)
        body.append(f"    _set{i}(self, {name})\n")
    source = f"def __init__(self, *, {', '.join(params)}):\n{''.join(body)}"
    exec(source, namespace)
    init: Any = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]


_NO_VALUE: Any = object()

for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, Event) and _cls.__module__ == __name__:
        _with_fast_init(_cls)
del _cls
