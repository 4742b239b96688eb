"""The event classes build as the frozen dataclasses they are declared as (their ``__init__``
is a faster one than ``dataclass`` writes, see ``nbsched.events._with_fast_init``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from enum import Enum
from uuid import uuid4

import pytest

from nbsched import JobOutcome, events
from nbsched.serializers import JSONSerializer, PickleSerializer

EVENT_CLASSES = sorted(
    (
        cls
        for cls in vars(events).values()
        if isinstance(cls, type) and issubclass(cls, events.Event)
    ),
    key=lambda cls: cls.__name__,
)


def _required(cls: type[events.Event]) -> dict[str, object]:
    return {
        f.name: f"value of {f.name}"
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_an_event_holds_what_it_was_given_and_its_defaults(cls: type[events.Event]) -> None:
    given = _required(cls)
    before = datetime.now(timezone.utc)
    event = cls(**given)  # type: ignore[arg-type]
    for item in dataclasses.fields(cls):
        value = getattr(event, item.name)
        if item.name in given:
            assert value == given[item.name]
        elif item.default is not dataclasses.MISSING:
            assert value == item.default
    assert before <= event.timestamp <= datetime.now(timezone.utc) + timedelta(seconds=1)
    stamped = cls(timestamp=before, **given)  # type: ignore[arg-type]
    assert stamped.timestamp is before
    assert stamped == dataclasses.replace(event, timestamp=before)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_an_event_is_frozen_and_keyword_only(cls: type[events.Event]) -> None:
    given = _required(cls)
    event = cls(**given)  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.timestamp = datetime.now(timezone.utc)  # type: ignore[misc]
    with pytest.raises(TypeError):
        cls(datetime.now(timezone.utc))  # type: ignore[misc]
    with pytest.raises(TypeError, match="unexpected keyword"):
        cls(no_such_field=1, **given)  # type: ignore[call-arg, arg-type]
    if given:
        missing = dict(given)
        name = missing.popitem()[0]
        with pytest.raises(TypeError, match=name):
            cls(**missing)  # type: ignore[arg-type]


# --- APScheduler 4's calls on events: marshal()/unmarshal(), optional job times ---------------

SAMPLE_EVENTS = [
    events.JobAdded(job_id=uuid4(), task_id="task", schedule_id="schedule"),
    events.JobAcquired(job_id=uuid4(), scheduler_id="s1", task_id="task", schedule_id=None),
    events.JobReleased(
        job_id=uuid4(),
        scheduler_id="s1",
        task_id="task",
        schedule_id="schedule",
        outcome=JobOutcome.missed_start_deadline,
    ),
    events.ScheduleAdded(
        schedule_id="s", task_id="task", next_fire_time=datetime(2026, 1, 1, tzinfo=timezone.utc)
    ),
    events.SchedulerStopped(scheduler_id="s1", exception="Boom: it broke"),
]


@pytest.mark.parametrize("event", SAMPLE_EVENTS, ids=lambda event: type(event).__name__)
@pytest.mark.parametrize("serializer", [JSONSerializer(), PickleSerializer()], ids=repr)
def test_an_event_marshals_to_plain_values_and_back(event: events.Event, serializer) -> None:
    marshalled = event.marshal()
    assert set(marshalled) == {f.name for f in dataclasses.fields(event)}
    assert not any(isinstance(value, Enum) for value in marshalled.values())
    payload = serializer.serialize(marshalled)
    assert type(event).unmarshal(serializer.deserialize(payload)) == event


def test_job_events_leave_the_times_a_job_may_not_have_optional() -> None:
    released = events.JobReleased(
        job_id=uuid4(),
        scheduler_id="s1",
        task_id="t",
        schedule_id=None,
        outcome=JobOutcome.success,
    )
    assert released.scheduled_start is None and released.started_at is None
    acquired = events.JobAcquired(job_id=uuid4(), scheduler_id="s1", task_id="t", schedule_id=None)
    assert acquired.scheduled_start is None
