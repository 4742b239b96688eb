"""Data stores keep tasks, schedules, jobs and job results.

:class:`~nbsched.datastores.memory.MemoryDataStore` keeps them in memory (the default);
``nbsched.datastores.sqlite`` in one SQLite file; ``nbsched.datastores.postgresql`` in a
PostgreSQL database shared by several schedulers.
"""
