"""nbsched: a scheduler for people who work in Jupyter, with APScheduler 4's architecture.

The core (this package) imports neither IPython, ipywidgets nor pandas; the notebook layer
(``%load_ext nbsched``, :mod:`nbsched.widgets`, :func:`timeline`, :func:`preview`) loads them
when it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._context import current_async_scheduler as current_async_scheduler
from ._context import current_job as current_job
from ._context import current_scheduler as current_scheduler
from ._enums import CoalescePolicy as CoalescePolicy
from ._enums import ConflictPolicy as ConflictPolicy
from ._enums import JobOutcome as JobOutcome
from ._enums import ResumeFrom as ResumeFrom
from ._enums import RunState as RunState
from ._exceptions import ConflictingIdError as ConflictingIdError
from ._exceptions import DataStoreError as DataStoreError
from ._exceptions import DataStoreUnavailableError as DataStoreUnavailableError
from ._exceptions import DeserializationError as DeserializationError
from ._exceptions import JobCancelled as JobCancelled
from ._exceptions import JobDeadlineMissed as JobDeadlineMissed
from ._exceptions import JobLookupError as JobLookupError
from ._exceptions import JobResultNotReady as JobResultNotReady
from ._exceptions import MaxIterationsReached as MaxIterationsReached
from ._exceptions import NbschedError as NbschedError
from ._exceptions import ScheduleLookupError as ScheduleLookupError
from ._exceptions import SchedulerNotRunningError as SchedulerNotRunningError
from ._exceptions import SerializationError as SerializationError
from ._exceptions import TaskLookupError as TaskLookupError
from ._exceptions import TriggerContractError as TriggerContractError
from ._history import HistoryRetention as HistoryRetention
from ._history import RunRecord as RunRecord
from ._structures import Job as Job
from ._structures import JobResult as JobResult
from ._structures import Schedule as Schedule
from ._structures import ScheduleResult as ScheduleResult
from ._structures import Task as Task

if TYPE_CHECKING:
    from ._chart import atimeline_chart as atimeline_chart
    from ._chart import timeline_chart as timeline_chart
    from ._clock import Clock as Clock
    from ._clock import FakeClock as FakeClock
    from ._clock import SystemClock as SystemClock
    from ._history_frame import ahistory as ahistory
    from ._history_frame import history as history
    from ._schedulers.async_ import AsyncScheduler as AsyncScheduler
    from ._schedulers.sync import Scheduler as Scheduler
    from .events import DataStoreEvent as DataStoreEvent
    from .events import DataStoreRecovered as DataStoreRecovered
    from .events import DataStoreRetryGaveUp as DataStoreRetryGaveUp
    from .events import DataStoreUnavailable as DataStoreUnavailable
    from .events import Event as Event
    from .events import JobAcquired as JobAcquired
    from .events import JobAdded as JobAdded
    from .events import JobDeserializationFailed as JobDeserializationFailed
    from .events import JobReleased as JobReleased
    from .events import JobRemoved as JobRemoved
    from .events import ScheduleAdded as ScheduleAdded
    from .events import ScheduleDeserializationFailed as ScheduleDeserializationFailed
    from .events import ScheduleRemoved as ScheduleRemoved
    from .events import SchedulerEvent as SchedulerEvent
    from .events import SchedulerStarted as SchedulerStarted
    from .events import SchedulerStopped as SchedulerStopped
    from .events import ScheduleTriggerFailed as ScheduleTriggerFailed
    from .events import ScheduleUpdated as ScheduleUpdated
    from .events import TaskAdded as TaskAdded
    from .events import TaskRemoved as TaskRemoved
    from .events import TaskUpdated as TaskUpdated
    from .simulation import asimulate as asimulate
    from .simulation import simulate as simulate
    from .simulation import simulation_chart as simulation_chart
    from .timelines import atimeline as atimeline
    from .timelines import preview as preview
    from .timelines import timeline as timeline

__version__ = "0.1.0"

# Names loaded on first use, so that ``import nbsched`` stays light (no anyio event loop
# machinery, and never pandas) until a scheduler or a timeline is actually needed.
_LAZY = {
    "AsyncScheduler": "._schedulers.async_",
    "Scheduler": "._schedulers.sync",
    "Clock": "._clock",
    "SystemClock": "._clock",
    "FakeClock": "._clock",
    "timeline": ".timelines",
    "preview": ".timelines",
    "atimeline": ".timelines",
    "timeline_chart": "._chart",
    "atimeline_chart": "._chart",
    "history": "._history_frame",
    "ahistory": "._history_frame",
    "simulate": ".simulation",
    "asimulate": ".simulation",
    "simulation_chart": ".simulation",
    # the event classes, at the top as in APScheduler 4 (``from nbsched import JobReleased``);
    # defining them costs more than the rest of ``import nbsched``
    "DataStoreEvent": ".events",
    "DataStoreRecovered": ".events",
    "DataStoreRetryGaveUp": ".events",
    "DataStoreUnavailable": ".events",
    "Event": ".events",
    "JobAcquired": ".events",
    "JobAdded": ".events",
    "JobDeserializationFailed": ".events",
    "JobReleased": ".events",
    "JobRemoved": ".events",
    "ScheduleAdded": ".events",
    "ScheduleDeserializationFailed": ".events",
    "ScheduleRemoved": ".events",
    "ScheduleTriggerFailed": ".events",
    "ScheduleUpdated": ".events",
    "SchedulerEvent": ".events",
    "SchedulerStarted": ".events",
    "SchedulerStopped": ".events",
    "TaskAdded": ".events",
    "TaskRemoved": ".events",
    "TaskUpdated": ".events",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'nbsched' has no attribute {name!r}")
    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbsched``: start a scheduler on the kernel's event loop, register magics."""
    from .notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext nbsched``: stop the kernel's scheduler cleanly."""
    from .notebook import unload_ipython_extension as unload

    unload(ipython)
