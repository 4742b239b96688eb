"""Job executors: where and how a job's callable runs.

=============  ======================================================================
``async``      coroutine functions, on the scheduler's event loop (the default for them)
``threadpool`` plain functions in a thread pool (the default for them)
``loop``       plain functions called directly on the event loop's thread; for code that
               must run there (a notebook cell on the kernel's main thread); keep it quick
``processpool`` picklable plain functions in a pool of processes
=============  ======================================================================
"""

from __future__ import annotations

from .base import JobExecutor as JobExecutor

__all__ = ["JobExecutor"]
