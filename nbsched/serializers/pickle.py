"""Pickle serializer: any picklable value, for users who trust their data store."""

from __future__ import annotations

import pickle
from typing import Any

from .._exceptions import DeserializationError, SerializationError
from ..abc import Serializer


class PickleSerializer(Serializer):
    """Serialize with :mod:`pickle`. Opt-in only.

    Reading pickled data can execute arbitrary code, so use this only with a data store that
    nobody else can write to. Lambdas, open files and other unpicklable values still fail with
    :class:`~nbsched.SerializationError`.

    :param protocol: the pickle protocol (default: the highest this Python supports)
    """

    __slots__ = ("protocol",)

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL):
        if not isinstance(protocol, int) or not 0 <= protocol <= pickle.HIGHEST_PROTOCOL:
            raise ValueError(
                f"protocol: {protocol!r} is not a pickle protocol (0-{pickle.HIGHEST_PROTOCOL})"
            )
        self.protocol = protocol

    def serialize(self, obj: Any) -> bytes:
        try:
            return pickle.dumps(obj, protocol=self.protocol)
        except Exception as exc:
            raise SerializationError(
                f"cannot pickle {type(obj).__name__} value {obj!r:.200}: {exc}"
            ) from exc

    def deserialize(self, serialized: bytes) -> Any:
        try:
            return pickle.loads(serialized)
        except Exception as exc:
            raise DeserializationError(f"cannot unpickle stored data: {exc}") from exc

    def __repr__(self) -> str:
        return f"PickleSerializer(protocol={self.protocol})"
