"""Random ids for jobs and for schedules added without one."""

from __future__ import annotations

import os
import random
from uuid import UUID, SafeUUID

__all__ = ["new_uuid"]

_rng = random.Random()  # seeded from os.urandom; reseeded in forked children
_getrandbits = _rng.getrandbits
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_rng.seed)
_new_object = object.__new__
_set_attribute = object.__setattr__
_SAFE_UNKNOWN = SafeUUID.unknown


def new_uuid() -> UUID:
    """A random (version 4) UUID from the ``random`` module: ids need to be unique, not
    unpredictable, and this avoids a system call per job. Built as ``UUID.__init__`` builds
    one, without its argument checks (a third of a job's id cost)."""
    value = (_getrandbits(128) & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (
        0x8000 << 48
    )
    uuid = _new_object(UUID)
    _set_attribute(uuid, "int", value)
    _set_attribute(uuid, "is_safe", _SAFE_UNKNOWN)
    return uuid
