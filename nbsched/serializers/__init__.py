"""Serializers turn job arguments, return values and exceptions into bytes and back.

* :class:`~nbsched.serializers.json.JSONSerializer` (the default): tagged JSON; handles
  datetimes, dates, times, timedeltas, decimals, UUIDs, bytes, tuples, sets, exceptions and
  triggers, and never runs code when reading.
* :class:`~nbsched.serializers.pickle.PickleSerializer`: any picklable object; opt-in only,
  because unpickling stored data can run arbitrary code.
"""

from __future__ import annotations

from .json import JSONSerializer as JSONSerializer
from .pickle import PickleSerializer as PickleSerializer

__all__ = ["JSONSerializer", "PickleSerializer"]
