"""Positional builders for the records built once or twice per job (results, history records,
``JobReleased``): a call with a dozen keyword arguments spends about as long matching them as
the dataclass ``__init__`` spends filling the slots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

__all__ = ["positional_builder"]

T = TypeVar("T")


def positional_builder(cls: type[T]) -> Callable[..., T]:
    """A function that builds an instance of the slotted dataclass ``cls`` from every field's
    value, in field order, without ``__init__`` (and without its checks or default factories:
    the caller passes every value). A frozen class's slots are filled through their
    descriptors, as its own ``__init__`` would."""
    names = [item.name for item in fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    frozen = cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    body: list[str] = []
    for i, name in enumerate(names):
        if frozen:
            slot = next(c.__dict__[name] for c in cls.__mro__ if name in c.__dict__)
            namespace[f"_set{i}"] = slot.__set__
            body.append(f"    _set{i}(self, {name})\n")
        else:
            body.append(f"    self.{name} = {name}\n")
    header = f"def build({', '.join(names)}):\n    self = _new(_cls)\n"
    source = f"{header}{''.join(body)}    return self\n"
    exec(source, namespace)
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = build.__name__ = f"build_{cls.__name__}"
    return build
