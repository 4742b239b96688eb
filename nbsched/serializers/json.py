"""JSON serializer with tags for the Python types plain JSON cannot carry.

Plain JSON values (``None``, bools, ints, floats, strings, lists, dicts with string keys) are
stored as themselves. Everything else the serializer knows is stored as a tagged object
``{"__nbsched__": "<type>", "v": ...}``:

=================================  =======================================================
``tuple``, ``set``, ``frozenset``  the items, as a list
``dict`` with non-str keys         ``[[key, value], ...]`` (also one with a key ``__nbsched__``)
``datetime``                       ISO 8601 (with the IANA zone name for ``ZoneInfo`` zones)
``date``, ``time``                 ISO 8601
``timedelta``                      ``[days, seconds, microseconds]``
``Decimal``, ``UUID``              the string form
``bytes``, ``bytearray``           base64
exceptions                         the import path of the class, its args and its message
triggers                           the import path of the class and its ``__getstate__()``
=================================  =======================================================

Reading never runs stored code and imports nothing: an exception's class is looked up among the
modules this process has already imported; one whose class is not there (never imported, gone,
or not an exception class) comes back as :class:`UnresolvedException` carrying the original type
name and message. A trigger's class is looked up the same way (nbsched's own trigger modules
are imported when needed), then given its state through ``__setstate__``.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._exceptions import DeserializationError, SerializationError
from .._marshalling import (
    UnknownStoredType,
    callable_to_ref,
    stored_class,
    trigger_from_state,
    trigger_to_state,
)
from ..abc import Serializer, Trigger

TAG = "__nbsched__"

_PLAIN = (str, int, float, bool, type(None))


class UnresolvedException(Exception):
    """Stands in for a stored exception whose class is not loaded in this process (nbsched
    never imports a module named by stored data) or does not exist any more.

    :ivar type_ref: the import path of the original exception class
    :ivar message: ``str()`` of the original exception
    """

    def __init__(self, type_ref: str, message: str):
        super().__init__(f"{type_ref}: {message}")
        self.type_ref = type_ref
        self.message = message


class JSONSerializer(Serializer):
    """Serialize to UTF-8 JSON, tagging the types plain JSON lacks (see the module docstring).

    A value of any other type (a lambda, a pandas DataFrame, an Enum member...) fails with
    :class:`~nbsched.SerializationError` naming the type and where in the value it sits; use
    :class:`~nbsched.serializers.pickle.PickleSerializer` if you need such values stored.
    """

    __slots__ = ()

    def serialize(self, obj: Any) -> bytes:
        encoded = _encode(obj, "value")
        try:
            return json.dumps(encoded, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:  # e.g. circular references
            raise SerializationError(f"cannot serialize value as JSON: {exc}") from exc

    def deserialize(self, serialized: bytes) -> Any:
        try:
            return json.loads(serialized, object_hook=_decode_tagged)
        except DeserializationError:
            raise
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise DeserializationError(f"cannot read stored JSON data: {exc}") from exc

    def __repr__(self) -> str:
        return "JSONSerializer()"


def _tag(kind: str, value: Any) -> dict[str, Any]:
    return {TAG: kind, "v": value}


def _encode(obj: Any, path: str, depth: int = 0) -> Any:
    if depth > 200:
        raise SerializationError(f"{path}: value nested too deeply (circular reference?)")
    cls = type(obj)
    if cls in _PLAIN:
        return obj
    if cls is list:
        return [_encode(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(obj)]
    if cls is dict:
        if all(type(key) is str for key in obj) and TAG not in obj:
            return {
                key: _encode(value, f"{path}[{key!r}]", depth + 1) for key, value in obj.items()
            }
        return _tag(
            "dict",
            [
                [
                    _encode(key, f"{path} key", depth + 1),
                    _encode(value, f"{path}[{key!r}]", depth + 1),
                ]
                for key, value in obj.items()
            ],
        )
    if isinstance(obj, Enum):
        raise SerializationError(
            f"{path}: cannot serialize enum member {obj!r} as JSON; pass its .value or .name, "
            f"or use PickleSerializer"
        )
    if isinstance(obj, tuple):
        return _tag(
            "tuple", [_encode(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(obj)]
        )
    if isinstance(obj, (set, frozenset)):
        kind = "frozenset" if isinstance(obj, frozenset) else "set"
        return _tag(kind, [_encode(item, f"{path} item", depth + 1) for item in obj])
    if isinstance(obj, datetime):
        value: dict[str, Any] = {TAG: "datetime", "v": obj.isoformat()}
        if isinstance(obj.tzinfo, ZoneInfo) and obj.tzinfo.key:
            value["tz"] = obj.tzinfo.key
        return value
    if isinstance(obj, date):
        return _tag("date", obj.isoformat())
    if isinstance(obj, time):
        return _tag("time", obj.isoformat())
    if isinstance(obj, timedelta):
        return _tag("timedelta", [obj.days, obj.seconds, obj.microseconds])
    if isinstance(obj, Decimal):
        return _tag("decimal", str(obj))
    if isinstance(obj, UUID):
        return _tag("uuid", str(obj))
    if isinstance(obj, (bytes, bytearray)):
        return _tag("bytes", base64.b64encode(obj).decode("ascii"))
    if isinstance(obj, BaseException):
        try:
            type_ref = callable_to_ref(cls)
        except ValueError:
            type_ref = f"{cls.__module__}:{cls.__qualname__}"
        try:
            args = _encode(list(obj.args), f"{path}.args", depth + 1)
        except SerializationError:
            args = [str(arg) for arg in obj.args]
        return {TAG: "exception", "v": type_ref, "args": args, "message": str(obj)}
    if isinstance(obj, Trigger):
        return _encode_trigger(obj, path, depth)
    if isinstance(obj, (str, int, float, list, dict)):
        # subclasses of plain types (not enums): store as the plain type
        base: Any = next(b for b in (bool, int, float, str, list, dict) if isinstance(obj, b))
        return _encode(base(obj), path, depth)
    raise SerializationError(
        f"{path}: cannot serialize {cls.__module__}.{cls.__qualname__} value {obj!r:.100} as "
        f"JSON (supported: None, bool, int, float, str, list, tuple, dict, set, frozenset, "
        f"datetime, date, time, timedelta, Decimal, UUID, bytes, exceptions, triggers); use "
        f"PickleSerializer to store other types"
    )


def _encode_trigger(trigger: Trigger, path: str, depth: int) -> dict[str, Any]:
    try:
        data = trigger_to_state(trigger)
    except ValueError as exc:  # a class that cannot be imported back by its path
        raise SerializationError(f"{path}: {exc}") from exc
    state = _encode(data["state"], f"{path} state", depth + 1)
    return _tag("trigger", {"type": data["type"], "state": state})


def _decode_trigger(obj: dict[str, Any]) -> Trigger:
    data = obj["v"]
    try:
        return trigger_from_state(data, fresh=True)
    except (UnknownStoredType, ValueError, TypeError, KeyError) as exc:
        type_ref = data.get("type") if isinstance(data, dict) else None
        raise DeserializationError(f"cannot read stored trigger {type_ref!r}: {exc}") from exc


def _decode_datetime(obj: dict[str, Any]) -> datetime:
    value = datetime.fromisoformat(obj["v"])
    zone = obj.get("tz")
    if zone is not None:
        try:
            value = value.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            pass  # keep the fixed UTC offset the ISO string carries
    return value


def _decode_exception(obj: dict[str, Any]) -> BaseException:
    type_ref, args, message = obj["v"], tuple(obj["args"]), obj["message"]
    try:
        cls = stored_class(type_ref, BaseException)
    except UnknownStoredType:
        cls = None
    if cls is not None:
        try:
            # __new__ only: the class's __init__ (user code) is not run on stored data
            exc = cls.__new__(cls, *args)
            exc.args = args
            return exc
        except Exception:
            pass
    return UnresolvedException(type_ref, message)


def _decode_decimal(obj: dict[str, Any]) -> Decimal:
    try:
        return Decimal(obj["v"])
    except InvalidOperation as exc:
        raise ValueError(f"bad decimal {obj['v']!r}") from exc


_DECODERS = {
    "tuple": lambda obj: tuple(obj["v"]),
    "set": lambda obj: set(obj["v"]),
    "frozenset": lambda obj: frozenset(obj["v"]),
    "dict": lambda obj: dict(obj["v"]),
    "datetime": _decode_datetime,
    "date": lambda obj: date.fromisoformat(obj["v"]),
    "time": lambda obj: time.fromisoformat(obj["v"]),
    "timedelta": lambda obj: timedelta(*obj["v"]),
    "decimal": _decode_decimal,
    "uuid": lambda obj: UUID(obj["v"]),
    "bytes": lambda obj: base64.b64decode(obj["v"], validate=True),
    "exception": _decode_exception,
    "trigger": _decode_trigger,
}


def _decode_tagged(obj: dict[str, Any]) -> Any:
    kind = obj.get(TAG)
    if kind is None:
        return obj
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise DeserializationError(f"unknown tag {kind!r} in stored JSON data")
    return decoder(obj)
