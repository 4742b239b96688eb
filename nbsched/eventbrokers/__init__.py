"""Event brokers: deliver the events of data stores and schedulers to subscribers.

:class:`~nbsched.eventbrokers.local.LocalEventBroker` delivers within one process; the
PostgreSQL broker (``nbsched.eventbrokers.postgresql``) spans processes and machines.
"""
