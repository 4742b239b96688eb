"""The cron trigger: fires when the wall clock in its time zone matches every field.

See :class:`CronTrigger` and :meth:`CronTrigger.from_crontab`.
"""

from __future__ import annotations

from ._trigger import CronTrigger as CronTrigger

__all__ = ["CronTrigger"]
