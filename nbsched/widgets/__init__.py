"""Notebook widgets, each a composition of stock ipywidgets (no custom JavaScript).

Names load on first use, so importing this package does not import ipywidgets until a widget
is actually needed. Each widget lives in its own module.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# name -> module (relative to this package); widget modules add their public names here
_LAZY = {
    "Dashboard": ".dashboard",
    "EventLog": ".event_log",
    "Timeline": ".timeline",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'nbsched.widgets' has no attribute {name!r}")
    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
