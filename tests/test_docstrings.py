"""Every public item of nbsched has a docstring (one inherited from a base class counts), so
that ``help()`` and the API reference show something for it.

Public: ``nbsched.__all__``, and in each public module (no ``_`` in its dotted path) the names
of its ``__all__`` (or, without one, the classes and functions it defines), with their public
methods and properties. Members that come from another library (ipywidgets' ``close_all``)
are that library's to document.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import nbsched


def _public_modules() -> Iterator[ModuleType]:
    yield nbsched
    for info in pkgutil.walk_packages(nbsched.__path__, "nbsched."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            yield importlib.import_module(info.name)


def _public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    ]


def _own_code(member: Any, package: str) -> Any:
    """The function behind a method or property, if ``package`` defines it; else ``None``."""
    if isinstance(member, (staticmethod, classmethod)):
        member = member.__func__
    if isinstance(member, property):
        member = member.fget
    if inspect.isfunction(member) and member.__module__.startswith(package):
        return member
    return None


def _undocumented_members(cls: type, label: str, package: str = "nbsched") -> Iterator[str]:
    for name in dir(cls):
        if name.startswith("_"):
            continue
        if isinstance(cls, enum.EnumMeta) and name in cls.__members__:
            continue
        raw = inspect.getattr_static(cls, name)
        if _own_code(raw, package) is None:
            continue  # data (a field, an enum member) or another library's method
        # getdoc looks up the class hierarchy: a docstring inherited from a base class counts
        if not inspect.getdoc(raw if isinstance(raw, property) else getattr(cls, name)):
            yield f"{label}.{name}"


def undocumented() -> list[str]:
    """The public items of nbsched without a docstring, by dotted name."""
    missing: list[str] = []
    seen: set[int] = set()
    for module in _public_modules():
        if not inspect.getdoc(module):
            missing.append(module.__name__)
        for name in _public_names(module):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            label = f"{module.__name__}.{name}"
            if not inspect.getdoc(obj):
                missing.append(label)
            if inspect.isclass(obj):
                missing.extend(_undocumented_members(obj, label))
    return missing


def test_every_public_item_has_a_docstring() -> None:
    assert undocumented() == []


class _Base:
    def documented(self) -> None:
        """Documented here."""

    @property
    def value(self) -> int:
        """Documented here too."""
        return 1


class _Child(_Base):
    def documented(self) -> None:
        pass

    @property
    def value(self) -> int:
        return 2

    def bare(self) -> None:
        pass


def test_the_walk_finds_a_method_without_a_docstring() -> None:
    """The check itself: a public method with no docstring of its own or inherited is found;
    a method or property that inherits one is not."""
    assert list(_undocumented_members(_Child, "Child", package=__name__)) == ["Child.bare"]


def test_help_on_the_sqlite_store_shows_its_methods_documented() -> None:
    from nbsched.datastores.sqlite import SQLiteDataStore

    text = pydoc_text(SQLiteDataStore)
    assert "acquire_jobs(" in text and "Lease up to ``limit``" in text


def pydoc_text(obj: object) -> str:
    import pydoc

    return pydoc.render_doc(obj, renderer=pydoc.plaintext)  # type: ignore[attr-defined]  # untyped
