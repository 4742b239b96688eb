"""A bounded, thread-safe registry of the read-only specs that triggers built alike share."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

__all__ = ["SpecRegistry"]

K = TypeVar("K")
V = TypeVar("V")


class SpecRegistry(Generic[K, V]):
    """Maps a key (what a trigger was built from) to the spec compiled for it.

    Lookups take no lock (a dict read is atomic); inserting does, so that two threads
    compiling the same key end up sharing one spec. Past ``limit`` entries the oldest is
    evicted: triggers holding an evicted spec keep it, later ones compile their own.
    """

    __slots__ = ("limit", "_specs", "_lock")

    def __init__(self, limit: int = 1024):
        self.limit = limit
        self._specs: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._specs.get(key)

    def add(self, key: K, spec: V) -> V:
        """Register ``spec`` for ``key`` and return it, or the one another thread registered
        meanwhile."""
        with self._lock:
            known = self._specs.get(key)
            if known is not None:
                return known
            if len(self._specs) >= self.limit:
                del self._specs[next(iter(self._specs))]  # the oldest entry
            self._specs[key] = spec
            return spec

    def __len__(self) -> int:
        return len(self._specs)
