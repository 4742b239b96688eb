"""Tasks of :class:`~nbsched.AsyncScheduler`: default task ids, the local task cache (with the
callables resolved) and :meth:`configure_task`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from inspect import (
    isbuiltin,
    isclass,
    iscoroutinefunction,
    isfunction,
    ismethod,
    ismethoddescriptor,
)
from typing import Any

from .._converters import as_timedelta
from .._exceptions import TaskLookupError
from .._marshalling import func_as_read
from .._structures import Task
from ._core import SchedulerCore

__all__ = ["TaskConfig", "task_id_of"]

_ZERO = timedelta(0)


def task_id_of(func: Callable[..., Any]) -> str:
    """The default task id of a callable: ``"module:qualname"``.

    Callables that share that name with others — lambdas, nested functions, partials, bound
    methods of instances, callable instances — get the object's identity appended
    (``"module:<lambda>@7f..."``), so that each runs its own code.
    """
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if qualname is None:
        qualname = type(func).__qualname__
    owner = _distinct_owner(func, qualname)
    if owner is not None:
        return f"{module}:{qualname}@{id(owner):x}"
    return f"{module}:{qualname}"


def _distinct_owner(func: object, qualname: str) -> object | None:
    """The object that tells ``func`` apart from others of the same name, if it needs one."""
    if ismethod(func):
        return None if isclass(func.__self__) else func.__self__
    if isfunction(func):
        return func if "<" in qualname else None
    if isclass(func) or isbuiltin(func) or ismethoddescriptor(func):
        return None
    return func  # a partial, a callable instance...


class TaskConfig(SchedulerCore):
    """:meth:`configure_task` and the task cache of a scheduler."""

    async def _get_task(self, task_id: str) -> Task:
        task = await self._call("get_task", self.data_store.get_task, task_id)
        self._tasks[task_id] = task
        return task

    def _executor_for(self, func: Any, job_executor: str | None) -> str:
        if job_executor is not None:
            if job_executor not in self.job_executors:
                raise ValueError(
                    f"job_executor: {job_executor!r} is not one of {sorted(self.job_executors)}"
                )
            return job_executor
        if self.default_job_executor is not None:
            return self.default_job_executor
        if iscoroutinefunction(func) or iscoroutinefunction(type(func).__dict__.get("__call__")):
            return "async"
        return "threadpool"

    async def configure_task(
        self,
        func_or_task_id: Callable[..., Any] | str,
        *,
        func: Callable[..., Any] | None = None,
        job_executor: str | None = None,
        max_running_jobs: int | None = None,
        misfire_grace_time: timedelta | float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Task:
        """Add or update a task: which callable runs, where, and how many at once.

        Arguments left ``None`` keep the task's current setting.

        :param func_or_task_id: a callable (its task id is ``"module:qualname"``) or a task id
        :param func: the callable, when ``func_or_task_id`` is an id
        :param job_executor: ``"async"``, ``"threadpool"``, ``"loop"``, ``"processpool"`` or the
            name of an executor given to the scheduler
        :param max_running_jobs: how many jobs of the task may run at once
        :param misfire_grace_time: default for the task's schedules: how late a job may start
        :param metadata: JSON-compatible key-value pairs
        :return: the stored task, as :meth:`get_tasks` shows it (``func`` as its import reference
            when it has one)
        """
        await self._usable()
        if callable(func_or_task_id):
            if func is not None and func is not func_or_task_id:
                raise ValueError("func: give the callable either first or as func=, not both")
            func = func_or_task_id
            task_id = task_id_of(func)
        elif isinstance(func_or_task_id, str):
            if not func_or_task_id:
                raise ValueError("func_or_task_id: the task id is empty")
            task_id = func_or_task_id
        else:
            raise TypeError(
                f"func_or_task_id: expected a callable or a task id string, got "
                f"{type(func_or_task_id).__name__} {func_or_task_id!r}"
            )
        if func is not None and not callable(func):
            raise TypeError(f"func: expected a callable, got {func!r}")
        if max_running_jobs is not None and (
            isinstance(max_running_jobs, bool)
            or not isinstance(max_running_jobs, int)
            or max_running_jobs < 1
        ):
            raise ValueError(
                f"max_running_jobs: expected a positive integer or None, got {max_running_jobs!r}"
            )
        grace = as_timedelta(misfire_grace_time, argument="misfire_grace_time")
        if grace is not None and grace < _ZERO:
            raise ValueError(f"misfire_grace_time: {misfire_grace_time!r} is negative")
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata: expected a dict, got {metadata!r}")
        try:
            existing: Task | None = self._tasks.get(task_id) or await self._get_task(task_id)
        except TaskLookupError:
            existing = None
        if existing is None:
            if func is None:
                raise TaskLookupError(task_id)
            task = Task(
                id=task_id,
                func=func,
                job_executor=self._executor_for(func, job_executor),
                max_running_jobs=max_running_jobs,
                misfire_grace_time=grace,
                metadata=dict(metadata or {}),
            )
        else:
            new_func = func if func is not None else existing.func
            task = existing.copy(
                func=new_func,
                job_executor=(
                    self._executor_for(new_func, job_executor)
                    if job_executor is not None or func is not None
                    else existing.job_executor
                ),
                max_running_jobs=(
                    max_running_jobs if max_running_jobs is not None else existing.max_running_jobs
                ),
                misfire_grace_time=grace if grace is not None else existing.misfire_grace_time,
                metadata=dict(metadata) if metadata is not None else existing.metadata,
            )
            if func is None and job_executor is None and existing.job_executor:
                task.job_executor = existing.job_executor
        await self._call("add_task", self.data_store.add_task, task)
        self._tasks[task_id] = task
        self._runnables.pop(task_id, None)
        return task.copy(func=func_as_read(task.func))  # as get_tasks() shows it

    def _cached_task_id(
        self,
        func_or_task_id: Callable[..., Any] | str,
        job_executor: str | None,
        max_running_jobs: int | None,
    ) -> str | None:
        """The task id of the callable given last, if it is given again with no setting to
        change (nothing to store: :meth:`_ensure_task` would return at once); else None."""
        last = self._last_task_id
        if (
            last is None
            or last[0] is not func_or_task_id
            or job_executor is not None
            or max_running_jobs is not None
        ):
            return None
        cached = self._tasks.get(last[1])
        if cached is None or cached.func is not func_or_task_id:
            return None
        return last[1]

    async def _ensure_task(
        self,
        func_or_task_id: Callable[..., Any] | str,
        job_executor: str | None,
        max_running_jobs: int | None = None,
    ) -> str:
        if isinstance(func_or_task_id, str):
            task_id = func_or_task_id
            if job_executor is None and max_running_jobs is None:
                if task_id not in self._tasks:
                    await self._get_task(task_id)
                return task_id
            await self.configure_task(
                task_id, job_executor=job_executor, max_running_jobs=max_running_jobs
            )
            return task_id
        if not callable(func_or_task_id):
            raise TypeError(
                f"func_or_task_id: expected a callable or a task id string, got "
                f"{type(func_or_task_id).__name__} {func_or_task_id!r}"
            )
        last = self._last_task_id
        if last is not None and last[0] is func_or_task_id:
            task_id = last[1]  # many schedules of one function in a row
        else:
            task_id = task_id_of(func_or_task_id)
            self._last_task_id = (func_or_task_id, task_id)
        cached = self._tasks.get(task_id)
        if (
            cached is not None
            and cached.func is func_or_task_id
            and (job_executor is None or job_executor == cached.job_executor)
            and (max_running_jobs is None or max_running_jobs == cached.max_running_jobs)
        ):
            return task_id
        await self.configure_task(
            func_or_task_id, job_executor=job_executor, max_running_jobs=max_running_jobs
        )
        return task_id
