"""The schedulers: :class:`~nbsched.AsyncScheduler` and its thread-safe facade
:class:`~nbsched.Scheduler`."""
