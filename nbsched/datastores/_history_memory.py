"""The memory store's run history: a bounded queue of records per schedule."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from copy import copy
from datetime import datetime

from .._history import HistoryRetention, RunRecord

__all__ = ["MemoryHistory"]


def _records(held: RunRecord | deque[RunRecord]) -> Collection[RunRecord]:
    return (held,) if isinstance(held, RunRecord) else held


class MemoryHistory:
    """Run records kept in memory, pruned by ``retention`` as they are added.

    Each schedule (jobs without one count as one schedule) has its own queue, capped at
    ``max_runs``; records older than ``max_age`` are dropped from a schedule's queue when it
    gets a new record, and from every queue by :meth:`prune` (the store's cleanup). A
    schedule's first record is kept on its own, and the queue is made with the second: many
    schedules run once (a date trigger), and a queue costs more than the record.
    """

    def __init__(self, retention: HistoryRetention | None) -> None:
        self.retention = retention
        self._runs: dict[str | None, RunRecord | deque[RunRecord]] = {}

    def add(self, record: RunRecord) -> None:
        retention = self.retention
        if retention is None:
            return
        key = record.schedule_id
        held = self._runs.get(key)
        if held is None:
            self._runs[key] = record
            return
        if isinstance(held, RunRecord):
            runs = self._runs[key] = deque((held,), maxlen=retention.max_runs)
        else:
            runs = held
        runs.append(record)
        if retention.max_age is not None and runs[0].finished_at < record.finished_at - (
            retention.max_age
        ):
            self._drop_old(runs, record.finished_at - retention.max_age)

    @staticmethod
    def _drop_old(runs: deque[RunRecord], cutoff: datetime) -> None:
        while runs and runs[0].finished_at < cutoff:
            runs.popleft()

    def prune(self, now: datetime) -> None:
        """Drop the records that finished more than ``max_age`` before ``now``."""
        if self.retention is None or self.retention.max_age is None:
            return
        cutoff = now - self.retention.max_age
        for schedule_id in list(self._runs):
            held = self._runs[schedule_id]
            if isinstance(held, RunRecord):
                if held.finished_at < cutoff:
                    del self._runs[schedule_id]
                continue
            self._drop_old(held, cutoff)
            if not held:
                del self._runs[schedule_id]

    def get(self, schedule_id: str | None, since: datetime | None) -> list[RunRecord]:
        """Copies of the records of one schedule (``None``: all), finished at or after
        ``since``, oldest first."""
        if schedule_id is None:
            records = [r for held in self._runs.values() for r in _records(held)]
            records.sort(key=lambda r: r.finished_at)
        else:
            held = self._runs.get(schedule_id)
            records = [] if held is None else list(_records(held))
        if since is not None:
            records = [r for r in records if r.finished_at >= since]
        return [copy(r) for r in records]

    def __len__(self) -> int:
        return sum(len(_records(held)) for held in self._runs.values())
