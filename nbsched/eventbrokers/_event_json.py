"""Events as JSON text and back, for brokers that carry events between processes.

An event is written as ``{"type": "<module>:<Class>", "fields": {...}}`` through
:class:`~nbsched.serializers.json.JSONSerializer` (which tags datetimes and UUIDs); the fields
are :meth:`~nbsched.events.Event.marshal`'s (enums by value), read back by its ``unmarshal``.
Reading looks the class up among the loaded subclasses of :class:`~nbsched.events.Event`: a
payload can never make this process import a module.
"""

from __future__ import annotations

import sys
from typing import Any

from .._exceptions import DeserializationError
from ..events import Event
from ..serializers.json import JSONSerializer

__all__ = ["event_to_json", "event_from_json"]

_serializer = JSONSerializer()


def _ref(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def event_to_json(event: Event) -> str:
    """Return ``event`` as JSON text (raises ``SerializationError`` for unsupported fields)."""
    return _serializer.serialize({"type": _ref(type(event)), "fields": event.marshal()}).decode()


def _event_classes() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    pending: list[type[Event]] = [Event]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        # @dataclass(slots=True) replaces the class it decorates; the replaced one lingers in
        # __subclasses__(), so prefer what the module actually exports under that name.
        exported: Any = sys.modules.get(cls.__module__)
        for part in cls.__qualname__.split("."):
            exported = getattr(exported, part, None)
        found[_ref(cls)] = exported if exported is not None else cls
    return found


_classes: dict[str, type[Event]] = {}


def event_from_json(text: str | bytes) -> Event:
    """Rebuild an event written by :func:`event_to_json`.

    Raises ``DeserializationError`` if the text is not such an event or its class is not
    loaded in this process.
    """
    global _classes
    data = _serializer.deserialize(text.encode() if isinstance(text, str) else text)
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise DeserializationError(f"not a serialized event: {text!r:.200}")
    type_ref = data.get("type")
    cls = _classes.get(type_ref)  # type: ignore[arg-type]
    if cls is None:
        _classes = _event_classes()
        cls = _classes.get(type_ref)  # type: ignore[arg-type]
        if cls is None:
            raise DeserializationError(
                f"unknown event class {type_ref!r} (not loaded in this process)"
            )
    try:
        return cls.unmarshal(data["fields"])
    except (TypeError, ValueError) as exc:
        raise DeserializationError(f"cannot rebuild {type_ref}: {exc}") from exc
