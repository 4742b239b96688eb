"""APScheduler 4's module path for the process pool executor
(``apscheduler.executors.subprocess``); the executor lives in
:mod:`nbsched.executors.processpool`."""

from __future__ import annotations

from .processpool import ProcessPoolJobExecutor as ProcessPoolJobExecutor

__all__ = ["ProcessPoolJobExecutor"]
