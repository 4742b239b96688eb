"""Turning triggers and callables into plain references and back, without pickling code."""

from __future__ import annotations

import copy
from importlib import import_module
from typing import Any

from .abc import Trigger


def callable_to_ref(func: Any) -> str:
    """Return ``"module:qualname"`` for an importable function or class.

    Raises ``ValueError`` for lambdas, nested functions and other callables that cannot be
    imported back by reference.
    """
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise ValueError(
            f"func: {func!r} cannot be referred to by an import path (lambdas, nested functions "
            f"and bound methods of local objects can't); define it at module level"
        )
    return f"{module}:{qualname}"


def ref_to_callable(ref: str) -> Any:
    """Import and return the object named by ``"module:qualname"``."""
    if not isinstance(ref, str) or ":" not in ref:
        raise ValueError(f"ref: {ref!r} is not of the form 'package.module:name'")
    module_name, qualname = ref.split(":", 1)
    obj: Any = import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def copy_plain_data(data: Any) -> Any:
    """Return an independent copy of plain data (dicts, lists, tuples of immutables).

    Trigger state is JSON-compatible by contract, so this is all a clone needs; it is several
    times faster than ``copy.deepcopy``, which matters because every schedule added clones its
    trigger. Anything else is handed to ``copy.deepcopy``.
    """
    kind = type(data)
    if kind is dict:
        return {key: copy_plain_data(value) for key, value in data.items()}
    if kind is list:
        return [copy_plain_data(value) for value in data]
    if kind in _IMMUTABLE:
        return data
    return copy.deepcopy(data)


_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def trigger_to_state(trigger: Trigger) -> dict[str, Any]:
    """Return ``{"type": "module:Class", "state": trigger.__getstate__()}``."""
    return {"type": callable_to_ref(type(trigger)), "state": trigger.__getstate__()}


def trigger_from_state(data: dict[str, Any]) -> Trigger:
    """Rebuild a trigger from :func:`trigger_to_state`'s output."""
    cls = ref_to_callable(data["type"])
    if not (isinstance(cls, type) and issubclass(cls, Trigger)):
        raise TypeError(f"{data['type']!r} is not a Trigger subclass")
    trigger = cls.__new__(cls)
    trigger.__setstate__(copy_plain_data(data["state"]))
    return trigger


def clone_trigger(trigger: Trigger) -> Trigger:
    """Return an independent copy of ``trigger`` in the same state, through the trigger's own
    ``__getstate__``/``__setstate__`` (so previews never advance the live trigger).

    A class that sets ``_immutable_slots = True`` in its own body (not inherited: a subclass
    may add state) declares that it keeps its whole state in ``__slots__`` holding immutable
    values; it is copied slot by slot, which costs a fraction of a state round trip.
    """
    cls = type(trigger)
    clone = cls.__new__(cls)
    if cls.__dict__.get("_immutable_slots", False):
        slots: tuple[str, ...] = cls.__dict__["__slots__"]
        for name in slots:
            setattr(clone, name, getattr(trigger, name))
        return clone
    clone.__setstate__(copy_plain_data(trigger.__getstate__()))
    return clone
