"""``nbsched.history()``: a scheduler's run history as a pandas DataFrame."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from ._converters import as_aware_datetime
from ._history import RunRecord
from ._protocols import SchedulerLike, sync_store_of
from ._scheduler_reads import _is_scheduler
from ._schedulers.sync import Scheduler, run_blocking

__all__ = [
    "HISTORY_COLUMNS",
    "ahistory",
    "astored_past_runs",
    "history",
    "history_frame",
    "read_history",
    "stored_past_runs",
]

#: The columns of :func:`history`'s DataFrame, in order.
HISTORY_COLUMNS = (
    "schedule_id",
    "fire_time",
    "started_at",
    "finished_at",
    "duration",
    "lateness",
    "outcome",
    "error",
    "scheduler_id",
)


def _utc_column(values: list[datetime | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[ns, UTC]")


def history_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """The DataFrame :func:`history` returns, built from run records (oldest release first)."""
    # newest last; runs released at the same moment in the order of their fire times
    records = sorted(records, key=lambda r: (r.finished_at, r.fire_time or r.finished_at))
    fire = _utc_column([r.fire_time for r in records])
    started = _utc_column([r.started_at for r in records])
    finished = _utc_column([r.finished_at for r in records])
    return pd.DataFrame(
        {
            "schedule_id": pd.Series([r.schedule_id for r in records], dtype=object),
            "fire_time": fire,
            "started_at": started,
            "finished_at": finished,
            "duration": finished - started,
            "lateness": started - fire,
            "outcome": pd.Series([r.outcome.value for r in records], dtype=object),
            "error": pd.Series([r.error for r in records], dtype=object),
            "scheduler_id": pd.Series([r.scheduler_id for r in records], dtype=object),
        },
        columns=list(HISTORY_COLUMNS),
    )


def _check_arguments(schedule_id: Any, since: Any) -> datetime | None:
    if schedule_id is not None and not isinstance(schedule_id, str):
        raise TypeError(
            f"schedule_id: expected a schedule id (str) or None, got "
            f"{type(schedule_id).__name__} {schedule_id!r}"
        )
    return as_aware_datetime(since, argument="since")


def _step(coro: Any) -> tuple[bool, Any]:
    """Run a coroutine that finishes without ever waiting (the memory store's reads)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return True, stop.value
    coro.close()
    return False, None


def read_history(
    scheduler: SchedulerLike, schedule_id: str | None = None, since: datetime | None = None
) -> list[RunRecord]:
    """The run records of ``scheduler``'s store, read without awaiting (see :func:`history`)."""
    if not _is_scheduler(scheduler):
        raise TypeError(
            f"scheduler: expected a Scheduler or an AsyncScheduler, got "
            f"{type(scheduler).__name__} {scheduler!r}"
        )
    store = scheduler.data_store
    if isinstance(scheduler, Scheduler):
        read = store.get_run_history(schedule_id, since)
        try:
            return list(run_blocking(scheduler, read))
        finally:
            read.close()  # never started when called from the scheduler's own thread
    inner = sync_store_of(store)
    if inner is not None:
        return list(inner.get_run_history(schedule_id, since))  # a sync store: thread-safe
    from .datastores.memory import MemoryDataStore

    if isinstance(store, MemoryDataStore):
        done, records = _step(store.get_run_history(schedule_id, since))
        if done:
            return list(records)
    raise TypeError(
        f"scheduler: the run history in {type(store).__name__} can only be read "
        f"asynchronously; use `await nbsched.ahistory(scheduler)` (works in a notebook cell)"
    )


def history(
    scheduler: SchedulerLike, schedule_id: str | None = None, since: datetime | str | None = None
) -> pd.DataFrame:
    """Return what ``scheduler`` has run, from its store's run history, as a DataFrame.

    The store keeps a bounded history (see :class:`~nbsched.HistoryRetention`): on SQLite it
    survives a kernel restart, on PostgreSQL it holds every scheduler's runs.

    :param scheduler: a :class:`~nbsched.Scheduler`, or an :class:`~nbsched.AsyncScheduler`
        on the memory store or a sync store such as SQLite (on PostgreSQL use
        :func:`ahistory`)
    :param schedule_id: only this schedule's runs (``None``: all runs)
    :param since: only runs that finished at or after this time (aware datetime or ISO 8601)
    :return: one row per run, newest last, with the columns ``schedule_id``, ``fire_time``,
        ``started_at``, ``finished_at`` (tz-aware, UTC), ``duration`` (finished - started),
        ``lateness`` (started - fire time) (timedeltas; ``NaT`` for a run that never
        started), ``outcome`` (``"success"``, ``"error"``, ``"missed_start_deadline"``,
        ``"cancelled"``, ``"abandoned"``, ...), ``error`` (``"Type: message"`` or ``None``)
        and ``scheduler_id``
    :raises TypeError: ``scheduler`` is not a scheduler, or its store can only be read
        asynchronously; bad ``schedule_id``
    :raises ValueError: ``since`` is naive or not ISO 8601

    Example::

        >>> df = nbsched.history(scheduler, "report")
        >>> df.groupby("outcome").duration.median()
    """
    return history_frame(
        read_history(scheduler, schedule_id, _check_arguments(schedule_id, since))
    )


async def ahistory(
    scheduler: SchedulerLike, schedule_id: str | None = None, since: datetime | str | None = None
) -> pd.DataFrame:
    """Like :func:`history`, awaiting the store: works with every store, in a notebook cell
    (``df = await nbsched.ahistory(scheduler)``) or any coroutine on the scheduler's loop."""
    checked_since = _check_arguments(schedule_id, since)
    if not _is_scheduler(scheduler):
        raise TypeError(
            f"scheduler: expected a Scheduler or an AsyncScheduler, got "
            f"{type(scheduler).__name__} {scheduler!r}"
        )
    if not inspect.iscoroutinefunction(scheduler.get_schedules):
        return history(scheduler, schedule_id, checked_since)
    records = await scheduler.data_store.get_run_history(schedule_id, checked_since)
    return history_frame(records)


def _past_runs_frame(records: Iterable[RunRecord]) -> pd.DataFrame | None:
    records = [r for r in records if r.schedule_id is not None]
    if not records:
        return None
    return pd.DataFrame(
        {
            "schedule_id": pd.Series([r.schedule_id for r in records], dtype=object),
            "fire_time": pd.to_datetime(
                [r.fire_time or r.started_at or r.finished_at for r in records], utc=True
            ),
            "outcome": pd.Series([r.outcome.name for r in records], dtype=object),
        }
    )


def stored_past_runs(scheduler: SchedulerLike) -> pd.DataFrame | None:
    """The past runs a timeline chart draws, from the store's run history (so they survive a
    restart): ``schedule_id``, ``fire_time`` (UTC) and ``outcome``. ``None`` when the history
    cannot be read without awaiting (PostgreSQL, or from the scheduler's own thread; see
    :func:`astored_past_runs`) or keeps nothing, so the caller falls back to the runs it saw
    itself."""
    try:
        records = read_history(scheduler)
    except (TypeError, RuntimeError):
        return None
    return _past_runs_frame(records)


async def astored_past_runs(scheduler: SchedulerLike) -> pd.DataFrame | None:
    """Like :func:`stored_past_runs`, awaiting an :class:`~nbsched.AsyncScheduler`'s store:
    on PostgreSQL these are the runs of every scheduler on the schema. ``None`` when the
    store keeps nothing."""
    if not inspect.iscoroutinefunction(scheduler.get_schedules):
        return stored_past_runs(scheduler)
    return _past_runs_frame(await scheduler.data_store.get_run_history())
