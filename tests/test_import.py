"""``import nbsched`` stays light, and every public name of DESIGN.md can be imported."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest

HEAVY = ("IPython", "ipywidgets", "pandas", "altair")

# The public names DESIGN.md lists ("Public names", "Layers", "Notebook layer"), by module.
PUBLIC_NAMES = {
    "nbsched": [
        "AsyncScheduler", "Scheduler", "Task", "Schedule", "ScheduleResult", "Job", "JobResult",
        "CoalescePolicy", "ConflictPolicy", "FakeClock", "TriggerContractError",
        "timeline", "preview", "load_ipython_extension", "unload_ipython_extension",
    ],
    "nbsched.abc": [
        "Trigger", "DataStore", "AsyncDataStore", "EventBroker", "AsyncEventBroker", "Serializer",
    ],
    "nbsched.triggers": [
        "DateTrigger", "IntervalTrigger", "CalendarIntervalTrigger", "CronTrigger", "AndTrigger",
        "OrTrigger",
    ],
    "nbsched.triggers.date": ["DateTrigger"],
    "nbsched.triggers.interval": ["IntervalTrigger"],
    "nbsched.triggers.calendarinterval": ["CalendarIntervalTrigger"],
    "nbsched.triggers.cron": ["CronTrigger"],
    "nbsched.triggers.combining": ["AndTrigger", "OrTrigger"],
    "nbsched.events": [
        "Event", "SchedulerStarted", "SchedulerStopped", "TaskAdded", "TaskUpdated", "TaskRemoved",
        "ScheduleAdded", "ScheduleUpdated", "ScheduleRemoved", "ScheduleDeserializationFailed",
        "JobAdded", "JobAcquired", "JobReleased",
    ],
    "nbsched.testing": ["check_trigger"],
}  # fmt: skip

SCHEDULER_METHODS = [
    "add_schedule", "add_job", "run_job", "get_schedule", "get_schedules", "pause_schedule",
    "unpause_schedule", "remove_schedule", "get_job_result", "subscribe", "start_in_background",
    "run_until_stopped", "stop",
]  # fmt: skip
SCHEDULE_OPTIONS = [
    "id", "args", "kwargs", "paused", "coalesce", "misfire_grace_time", "max_jitter",
    "max_running_jobs", "conflict_policy", "metadata",
]  # fmt: skip

# Constructor arguments DESIGN.md gives, in order.
TRIGGER_SIGNATURES = {
    "DateTrigger": ["run_time"],
    "IntervalTrigger": [
        "weeks", "days", "hours", "minutes", "seconds", "microseconds", "start_time", "end_time",
    ],
    "CalendarIntervalTrigger": [
        "years", "months", "weeks", "days", "hour", "minute", "second", "start_date", "end_date",
        "timezone",
    ],
    "CronTrigger": [
        "year", "month", "day", "week", "day_of_week", "hour", "minute", "second", "start_time",
        "end_time", "timezone",
    ],
    "AndTrigger": ["triggers", "threshold", "max_iterations"],
    "OrTrigger": ["triggers"],
}  # fmt: skip


def _modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize(
    "code",
    [
        "import nbsched",
        "import nbsched, nbsched.triggers, nbsched.testing, nbsched.abc, nbsched.events",
        "import nbsched._cli, nbsched.__main__",
    ],
)
def test_import_does_not_load_the_notebook_stack(code: str) -> None:
    loaded = _modules_after(code)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], f"{code!r} imported {heavy}"


@pytest.mark.slow
def test_probe_would_see_a_heavy_import() -> None:
    # The check above can fail: importing pandas shows up in the same probe.
    assert "pandas" in _modules_after("import pandas")


@pytest.mark.parametrize(("module", "names"), PUBLIC_NAMES.items())
def test_public_names_import(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in names if not hasattr(imported, name)]
    assert missing == []


@pytest.mark.parametrize("name", ["Scheduler", "AsyncScheduler"])
def test_scheduler_api(name: str) -> None:
    import nbsched

    scheduler = getattr(nbsched, name)
    assert [m for m in SCHEDULER_METHODS if not callable(getattr(scheduler, m, None))] == []
    parameters = inspect.signature(scheduler.add_schedule).parameters
    assert [option for option in SCHEDULE_OPTIONS if option not in parameters] == []


@pytest.mark.parametrize(("name", "arguments"), TRIGGER_SIGNATURES.items())
def test_trigger_arguments_match_design(name: str, arguments: list[str]) -> None:
    import nbsched.triggers

    parameters = list(inspect.signature(getattr(nbsched.triggers, name)).parameters)
    assert parameters == arguments


def test_from_crontab() -> None:
    from nbsched.triggers import CronTrigger

    parameters = list(inspect.signature(CronTrigger.from_crontab).parameters)
    assert parameters[:2] == ["expr", "timezone"]


# APScheduler 4's own top-level names (``from apscheduler import ...``) that nbsched has the
# concept of: code moving over changes only the import.
APSCHEDULER_TOP_LEVEL = [
    "CoalescePolicy", "ConflictPolicy", "ConflictingIdError", "DeserializationError", "Job",
    "JobCancelled", "JobDeadlineMissed", "JobLookupError", "JobOutcome", "JobResult",
    "JobResultNotReady", "MaxIterationsReached", "RunState", "Schedule", "ScheduleLookupError",
    "SerializationError", "Task", "TaskLookupError", "current_async_scheduler", "current_job",
    "current_scheduler",
    # the event classes (APScheduler 4 exports them at the top too)
    "DataStoreEvent", "Event", "JobAcquired", "JobAdded", "JobDeserializationFailed",
    "JobReleased", "JobRemoved", "ScheduleAdded", "ScheduleDeserializationFailed",
    "ScheduleRemoved", "SchedulerEvent", "SchedulerStarted", "SchedulerStopped",
    "ScheduleUpdated", "TaskAdded", "TaskRemoved", "TaskUpdated",
]  # fmt: skip


def test_apscheduler_top_level_names() -> None:
    import nbsched

    assert [name for name in APSCHEDULER_TOP_LEVEL if not hasattr(nbsched, name)] == []


def test_every_event_class_at_top_level() -> None:
    import nbsched
    import nbsched.events

    event_classes = {
        name: value
        for name, value in vars(nbsched.events).items()
        if isinstance(value, type) and issubclass(value, nbsched.events.Event)
    }
    assert {name: getattr(nbsched, name, None) for name in event_classes} == event_classes


# APScheduler 4's module paths for the executors (``apscheduler.executors.thread`` ...).
APSCHEDULER_EXECUTOR_MODULES = {
    "nbsched.executors.async_": ("AsyncJobExecutor", "nbsched.executors.async_"),
    "nbsched.executors.thread": ("ThreadPoolJobExecutor", "nbsched.executors.threadpool"),
    "nbsched.executors.subprocess": ("ProcessPoolJobExecutor", "nbsched.executors.processpool"),
}


@pytest.mark.parametrize(("module", "where"), APSCHEDULER_EXECUTOR_MODULES.items())
def test_apscheduler_executor_modules(module: str, where: tuple[str, str]) -> None:
    name, home = where
    assert getattr(importlib.import_module(module), name) is getattr(
        importlib.import_module(home), name
    )
