"""The trust rule applied to the kernel's cell schedules (the signatures: :mod:`._trust`).

- a magic's schedule is signed when it is made (:func:`signed_cell`);
- stored cell schedules this user did not sign (another user's store, an unsigned one written
  by a script, code or trigger changed in the file) are paused when the store is read
  (:func:`pause_untrusted`), and named in a one-line warning (:func:`warning_html`);
- ``%sched show ID`` shows one's code (:func:`describe_html`); resuming it signs it
  (:func:`sign_and_resume`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._enums import ConflictPolicy
from .._exceptions import ScheduleLookupError
from ..abc import Trigger
from ._cell_spec import CELL_METADATA_KEY, CellSpec
from ._cell_task import TASK_ID
from ._cell_trigger import CellTrigger
from ._trust import current_signer

if TYPE_CHECKING:
    from .._schedulers.async_ import AsyncScheduler

__all__ = [
    "SIGNATURE",
    "describe_html",
    "is_trusted",
    "pause_untrusted",
    "secret_problem_html",
    "sign_and_resume",
    "signed_cell",
    "signed_for_move",
    "warning_html",
]

#: Key of the code signature in a cell schedule's kwargs, and of the schedule signature in
#: its cell details (``metadata["nbsched_cell"]``).
SIGNATURE = "signature"
_NO_DETAILS = {"cell_id": None, "magic": "", "append": False, "stop_on_error": False}


def _signed(
    schedule_id: str,
    source: str,
    details: dict[str, Any],
    trigger: Trigger,
    *,
    coalesce: str,
    misfire_grace_time: Any = None,
    max_jitter: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    signer = current_signer()
    kwargs = {
        "source": source,
        "schedule_id": schedule_id,
        SIGNATURE: signer.sign_code(schedule_id, source),
    }
    cell = {key: value for key, value in details.items() if key != SIGNATURE}
    cell[SIGNATURE] = signer.sign_schedule(
        schedule_id=schedule_id,
        task_id=TASK_ID,
        args=(),
        kwargs=kwargs,
        cell=cell,
        trigger=trigger,
        coalesce=coalesce,
        misfire_grace_time=misfire_grace_time,
        max_jitter=max_jitter,
    )
    return kwargs, cell


def signed_cell(spec: CellSpec, *, coalesce: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``kwargs`` and ``metadata`` of the schedule a magic makes for ``spec`` (added with
    the ``coalesce`` policy named), signed by this user."""
    kwargs, cell = _signed(
        spec.schedule_id,
        spec.source,
        spec.metadata()[CELL_METADATA_KEY],
        spec.trigger,
        coalesce=coalesce,
    )
    return kwargs, {CELL_METADATA_KEY: cell}


def is_trusted(schedule: Any) -> bool:
    """True if this user signed the cell schedule ``schedule`` as it is now stored."""
    cell = schedule.metadata.get(CELL_METADATA_KEY)
    kwargs = schedule.kwargs
    signer = current_signer()
    return (
        isinstance(cell, dict)
        and signer.code_is_signed(
            kwargs.get("schedule_id"), kwargs.get("source"), kwargs.get(SIGNATURE)
        )
        and signer.schedule_is_signed(schedule, cell)
    )


async def pause_untrusted(scheduler: AsyncScheduler, schedules: Iterable[Any]) -> list[str]:
    """Pause each cell schedule in ``schedules`` that this user did not sign; return the ids
    of all of those (paused now or already)."""
    untrusted = []
    for schedule in schedules:
        if schedule.task_id != TASK_ID or is_trusted(schedule):
            continue
        untrusted.append(schedule.id)
        if not schedule.paused:
            try:
                await scheduler.pause_schedule(schedule.id)
            except ScheduleLookupError:
                pass  # removed meanwhile: nothing left to run
    return untrusted


def signed_for_move(schedule: Any, trigger: Trigger) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``kwargs`` and ``metadata`` with which ``schedule`` moves to another store with
    ``trigger``: signed again if this user had signed it, unchanged (so still untrusted)
    otherwise."""
    if not is_trusted(schedule):
        return schedule.kwargs, schedule.metadata
    kwargs, cell = _signed(
        schedule.id,
        schedule.kwargs["source"],
        schedule.metadata[CELL_METADATA_KEY],
        trigger,
        coalesce=schedule.coalesce.name,
        misfire_grace_time=schedule.misfire_grace_time,
        max_jitter=schedule.max_jitter,
    )
    return kwargs, {**schedule.metadata, CELL_METADATA_KEY: cell}


async def sign_and_resume(scheduler: AsyncScheduler, schedule_id: str) -> None:
    """Resume a paused schedule; a cell schedule this user had not signed is signed first
    (resuming it is the user's word that its code may run)."""
    schedule = await scheduler.get_schedule(schedule_id)
    if schedule.task_id == TASK_ID and not is_trusted(schedule):
        source = schedule.kwargs.get("source")
        if not isinstance(source, str):
            raise ValueError(f"schedule {schedule_id!r} holds no cell code to run")
        details = schedule.metadata.get(CELL_METADATA_KEY)
        trigger = schedule.trigger
        if schedule.next_fire_time is not None:
            # the stored trigger is already past the pending fire time: keep that one first
            trigger = CellTrigger(trigger, first_fire=schedule.next_fire_time)
        kwargs, cell = _signed(
            schedule_id,
            source,
            details if isinstance(details, dict) else dict(_NO_DETAILS),
            trigger,
            coalesce=schedule.coalesce.name,
            misfire_grace_time=schedule.misfire_grace_time,
            max_jitter=schedule.max_jitter,
        )
        await scheduler.add_schedule(
            TASK_ID,
            trigger,
            id=schedule_id,
            kwargs=kwargs,
            metadata={**schedule.metadata, CELL_METADATA_KEY: cell},
            paused=True,
            coalesce=schedule.coalesce,
            misfire_grace_time=schedule.misfire_grace_time,
            max_jitter=schedule.max_jitter,
            conflict_policy=ConflictPolicy.replace,
        )
    await scheduler.unpause_schedule(schedule_id)


def warning_html(schedule_ids: list[str], where: str) -> str:
    """The one-line warning naming the cell schedules found in ``where`` that stay paused."""
    shown = ", ".join(f"<code>{html.escape(repr(i))}</code>" for i in schedule_ids[:10])
    if len(schedule_ids) > 10:
        shown += f" and {len(schedule_ids) - 10} more"
    count = len(schedule_ids)
    return (
        f"<span style='color:#b26a00'>nbsched: {count} cell schedule{'s' if count != 1 else ''}"
        f" in <code>{html.escape(where)}</code> {'were' if count != 1 else 'was'} not signed by"
        f" you and stay{'' if count != 1 else 's'} paused: {shown}. Review the code with"
        f" <code>%sched show ID</code>; <code>%sched resume ID</code> runs it.</span>"
    )


def secret_problem_html() -> str | None:
    """A warning line when this user's signing secret cannot be used, else ``None``."""
    problem = current_signer().problem
    if problem is None:
        return None
    return (
        f"<span style='color:#b26a00'>nbsched: {html.escape(problem)}; the cell schedules "
        f"you make in this kernel will come back paused after a restart</span>"
    )


def describe_html(schedule: Any) -> str:
    """What ``%sched show ID`` displays: the schedule, whether it is signed, and its code."""
    cell = schedule.metadata.get(CELL_METADATA_KEY)
    cell = cell if isinstance(cell, dict) else {}
    if schedule.task_id != TASK_ID:
        trust, code = "not a cell schedule", f"task {schedule.task_id!r}"
    else:
        trust = "signed by you" if is_trusted(schedule) else "<b>not signed by you</b>"
        source = schedule.kwargs.get("source")
        code = source if isinstance(source, str) else repr(source)
    lines = [
        f"<code>{html.escape(schedule.id)}</code> · {trust}",
        f"{'paused' if schedule.paused else 'active'} · {html.escape(str(schedule.trigger))}",
    ]
    if cell.get("magic"):
        lines.append(f"<code>{html.escape(str(cell['magic']))}</code>")
    return (
        "<br>".join(lines)
        + "<pre style='border-left:3px solid #999;padding-left:6px'>"
        + html.escape(code)
        + "</pre>"
    )
