"""Turning triggers and callables into plain references and back, without pickling code.

Two kinds of reference are read back differently:

* a task's function (:func:`ref_to_callable`) is imported: a task names code to run, as a
  crontab line does, and running it is what the user asked for by scheduling it;
* a class named by stored data (a trigger's type, an exception's type) is only looked up
  (:func:`stored_class`) among the modules this process has already imported, so a store can
  never make nbsched import a module (and run its top-level code). nbsched's own trigger
  modules are the one exception: they are imported on demand.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from importlib import import_module
from types import MethodType, ModuleType
from typing import Any, TypeVar

from ._copiers import attribute_copier
from .abc import Trigger

C = TypeVar("C", bound=type)

#: nbsched's own modules holding triggers: a stored reference may import these (and only these)
_OWN_TRIGGER_MODULES = ("nbsched.triggers", "nbsched.notebook._cell_trigger")


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
    bound_to = getattr(func, "__self__", None)
    if bound_to is not None and not isinstance(bound_to, type) and isinstance(func, MethodType):
        # its path names the class's function: imported back, it would lack its instance
        raise ValueError(
            f"func: {func!r} is bound to an object, which an import path cannot carry; "
            f"schedule a module-level function (pass the object in args)"
        )
    return f"{module}:{qualname}"


def func_as_read(func: Any) -> Any:
    """What a store hands out as ``Task.func`` for the ``func`` it was given: the import
    reference ``"module:qualname"`` when that names ``func`` itself in the module already
    loaded (nothing is imported), else ``func`` (a lambda, a nested function, a bound method, a
    partial, a callable instance, or a name since bound to something else: it runs as given).
    """
    if not callable(func):
        return func  # a reference already, or None
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return func
    found: Any = sys.modules.get(module)
    try:
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:  # not there, or an attribute that fails when read: no reference
        return func
    return f"{module}:{qualname}" if found is func else func


def ref_to_callable(ref: str) -> Any:
    """Import and return the object named by ``"module:qualname"``.

    Only for task functions (code the user scheduled); a class named by stored data goes
    through :func:`stored_class`, which imports nothing.
    """
    if not isinstance(ref, str) or ":" not in ref:
        raise ValueError(f"ref: {ref!r} is not of the form 'package.module:name'")
    module_name, qualname = ref.split(":", 1)
    obj: Any = import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class UnknownStoredType(LookupError):
    """A stored type reference names no class this process has loaded (or the wrong kind)."""


def _is_own_trigger_module(name: str) -> bool:
    return any(name == own or name.startswith(own + ".") for own in _OWN_TRIGGER_MODULES)


#: (reference, base) -> (module name, module, class name, class) of the classes found by
#: stored_class, checked against sys.modules and the module's namespace on each use
_found_classes: dict[tuple[str, type], tuple[str, ModuleType, str, Any]] = {}
_FOUND_LIMIT = 256


def stored_class(ref: Any, base: C) -> C:
    """Return the subclass of ``base`` that a stored ``"module:qualname"`` names, importing
    nothing.

    The module must already be in :data:`sys.modules` (nbsched's own trigger modules excepted,
    when ``base`` is :class:`~nbsched.abc.Trigger`); names are looked up in the module's and
    classes' ``__dict__`` only, never through a module ``__getattr__`` (which may import).

    :raises UnknownStoredType: naming the reference and what is wrong with it
    """
    known = _found_classes.get((ref, base)) if type(ref) is str else None
    if known is not None and sys.modules.get(known[0]) is known[1]:
        _, known_module, known_name, known_class = known
        if vars(known_module).get(known_name) is known_class:  # still there under that name
            return known_class  # type: ignore[return-value]
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise UnknownStoredType(f"type {ref!r:.200} is not of the form 'package.module:Class'")
    module_name, qualname = ref.split(":")
    module = sys.modules.get(module_name)
    if module is None and base is Trigger and _is_own_trigger_module(module_name):
        try:
            module = import_module(module_name)
        except ImportError:
            module = None
    if module is None:
        raise UnknownStoredType(
            f"type {ref!r}: module {module_name!r} is not imported in this process, and "
            f"nbsched never imports a module named by stored data; import {module_name} (or "
            f"define the class) before reading the store"
        )
    found: Any = module
    for part in qualname.split("."):
        if not isinstance(found, (ModuleType, type)):
            found = None
            break
        found = vars(found).get(part)
    if not (isinstance(found, type) and issubclass(found, base)):
        kind = "exception" if base is BaseException else base.__name__
        raise UnknownStoredType(
            f"type {ref!r}: {module_name} has no {kind} class named {qualname!r}"
        )
    if "." not in qualname:  # a class at module level: remembered (a store reads many rows)
        if len(_found_classes) >= _FOUND_LIMIT:
            _found_classes.clear()
        _found_classes[ref, base] = (module_name, module, qualname, found)
    return found  # type: ignore[return-value]


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


def trigger_from_state(data: dict[str, Any], *, fresh: bool = False) -> Trigger:
    """Rebuild a trigger from :func:`trigger_to_state`'s output (imports nothing; see
    :func:`stored_class`).

    The trigger gets a copy of the state, unless ``fresh`` says that nothing else holds it
    (just parsed from a store's text, or part of a state that was copied already).
    """
    if not isinstance(data, dict):
        raise TypeError(f"trigger: expected {{'type': ..., 'state': ...}}, got {data!r:.200}")
    cls = stored_class(data.get("type"), Trigger)
    trigger = cls.__new__(cls)  # type: ignore[type-abstract]  # cls is a concrete subclass
    state = data["state"]
    trigger.__setstate__(state if fresh else copy_plain_data(state))
    return trigger


def clone_trigger(trigger: Trigger) -> Trigger:
    """Return an independent copy of ``trigger`` in the same state, through the trigger's own
    ``__getstate__``/``__setstate__`` (so previews never advance the live trigger).

    A class that sets ``_immutable_slots = True`` in its own body (not inherited: a subclass
    may add state) declares that it keeps its whole state in ``__slots__`` holding immutable
    values; it is copied slot by slot, which costs a fraction of a state round trip. One that
    sets ``_clones_itself = True`` in its own body has a ``_clone()`` method doing the same
    (the combining triggers: their lists are copied and their triggers cloned).
    """
    cls = type(trigger)
    copier = _slot_copiers.get(cls)
    if copier is not None:
        return copier(trigger)
    own = cls.__dict__
    if own.get("_clones_itself", False):
        return trigger._clone()  # type: ignore[attr-defined,no-any-return]
    if own.get("_immutable_slots", False):
        copier = _slot_copiers[cls] = _slot_copier(cls, own["__slots__"])
        return copier(trigger)
    clone = cls.__new__(cls)
    clone.__setstate__(copy_plain_data(trigger.__getstate__()))
    return clone


#: the slot copier of each class with ``_immutable_slots`` cloned so far
_slot_copiers: dict[type, Callable[[Trigger], Trigger]] = {}


def _slot_copier(cls: type, slots: tuple[str, ...]) -> Callable[[Trigger], Trigger]:
    """A function that copies an instance of ``cls`` slot by slot (every add clones a
    trigger; a cron trigger has 15 slots)."""
    if isinstance(slots, str):
        slots = (slots,)
    # (slot names are identifiers, Python checks; a weak reference is not state)
    return attribute_copier(cls, [_mangled(cls, name) for name in slots if name != "__weakref__"])


def _mangled(cls: type, name: str) -> str:
    """The attribute name of the slot ``name`` of ``cls`` (``__x`` is stored as ``_Cls__x``)."""
    if name.startswith("__") and not name.endswith("__"):
        return f"_{cls.__name__.lstrip('_')}{name}"
    return name


def clones_cheaply(cls: type) -> bool:
    """Whether :func:`clone_trigger` copies this class's triggers without a state round trip."""
    own = cls.__dict__
    return bool(own.get("_immutable_slots", False) or own.get("_clones_itself", False))
