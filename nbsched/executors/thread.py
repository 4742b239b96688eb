"""APScheduler 4's module path for the thread pool executor (``apscheduler.executors.thread``);
the executor lives in :mod:`nbsched.executors.threadpool`."""

from __future__ import annotations

from .threadpool import ThreadPoolJobExecutor as ThreadPoolJobExecutor

__all__ = ["ThreadPoolJobExecutor"]
