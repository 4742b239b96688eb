"""What the scheduler does with a schedule whose trigger misbehaves: it pauses the schedule at
its pending fire time and says so with a :class:`~nbsched.events.ScheduleTriggerFailed` event.

A trigger that raises, returns something other than an aware datetime or ``None``, or a fire
time not later than the one before it (see :func:`._processing.due_fire_times`) would
otherwise hang the processing loop or make jobs for fire times that make no sense. Pausing
keeps the schedule (nothing stored is lost) where the user can look at it, fix the trigger and
resume it; the other schedules run on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._enums import ConflictPolicy
from .._exceptions import TriggerContractError
from .._structures import Schedule, ScheduleResult
from ..events import ScheduleTriggerFailed

if TYPE_CHECKING:
    from ._core import SchedulerCore

__all__ = ["describe_trigger_error", "pause_for_trigger_error", "unchanged_result"]


def describe_trigger_error(error: Exception) -> str:
    """``"TriggerContractError: rule broken: ..."`` or ``"RuntimeError: ..."``."""
    text = str(error)
    if len(text) > 500:
        text = text[:497] + "..."
    return f"{type(error).__name__}: {text}"


def unchanged_result(schedule: Schedule) -> ScheduleResult:
    """Release ``schedule`` as it was acquired: still at its pending fire time."""
    return ScheduleResult(
        schedule_id=schedule.id,
        task_id=schedule.task_id,
        trigger=schedule.trigger,
        last_fire_time=schedule.last_fire_time,
        next_fire_time=schedule.next_fire_time,
    )


async def pause_for_trigger_error(
    scheduler: SchedulerCore, schedule: Schedule, error: Exception
) -> None:
    """Pause the (released) ``schedule`` in the store and publish ``ScheduleTriggerFailed``."""
    reason = describe_trigger_error(error)
    scheduler.logger.error(
        "the trigger of schedule %r broke the trigger contract; the schedule is paused: %s",
        schedule.id,
        reason,
        exc_info=None if isinstance(error, TriggerContractError) else error,
    )
    store = scheduler.data_store
    stored = await scheduler._call("get_schedules", store.get_schedules, [schedule.id])
    if stored and not stored[0].paused:
        await scheduler._call(
            "add_schedule", store.add_schedule, stored[0].copy(paused=True), ConflictPolicy.replace
        )
    await scheduler.event_broker.publish(
        ScheduleTriggerFailed(
            timestamp=scheduler.clock.now(),
            schedule_id=schedule.id,
            task_id=schedule.task_id,
            exception=reason,
        )
    )
