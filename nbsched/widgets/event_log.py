"""A live, filterable table of the events a scheduler publishes."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import threading
from collections import deque
from collections.abc import Iterable
from datetime import datetime, tzinfo
from enum import Enum
from typing import Any
from uuid import UUID

import ipywidgets as widgets

from .. import events as events_module
from .._localzone import get_local_timezone
from ..events import Event

__all__ = ["EventLog", "event_types"]


def event_types() -> list[type[Event]]:
    """Every concrete event class in :mod:`nbsched.events`, by name."""
    found = []
    for value in vars(events_module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Event)
            and value.__module__ == events_module.__name__
            and value.__subclasses__() == []
        ):
            found.append(value)
    return sorted(found, key=lambda cls: cls.__name__)


def _short(value: Any) -> str:
    if isinstance(value, UUID):
        return str(value)[:8]
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def summarize(event: Event, *, leave_out: Iterable[str] = ()) -> str:
    """``schedule_id=tick task_id=… outcome=success`` (fields that are set, timestamp and the
    fields named in ``leave_out`` left out)."""
    skipped = {"timestamp", *leave_out}
    parts = []
    for field in dataclasses.fields(event):  # type: ignore[arg-type]
        if field.name in skipped:
            continue
        value = getattr(event, field.name)
        if value is None or value == "":
            continue
        text = _short(value)
        if len(text) > 120:
            text = text[:117] + "..."
        parts.append(f"{field.name}={text}")
    return " ".join(parts)


class EventLog(widgets.VBox):
    """Streams a scheduler's events into a compact table, newest first.

    The "scheduler" column says which scheduler published a scheduler event (for
    ``JobReleased``: which one ran the job): "this kernel", or the identity of another
    scheduler sharing the store and event broker (another kernel or host).

    :param scheduler: anything with ``subscribe(callback, event_types)`` (a scheduler or an
        event broker)
    :param types: event classes (or their names) shown at first; all of them by default. The
        selector above the table changes this while it runs.
    :param max_rows: how many events are kept (the oldest are dropped)
    :param tz: the zone for timestamps (the local zone by default)

    :ivar events: the kept events, oldest first
    :ivar type_filter: the ``SelectMultiple`` of event type names
    :ivar text_filter: a ``Text``: only events whose summary contains it are shown
    :ivar table: the ``HTML`` widget with the table

    Example::

        from nbsched.widgets import EventLog
        EventLog(scheduler, types=["JobReleased"])
    """

    def __init__(
        self,
        scheduler: Any,
        *,
        types: Iterable[type[Event] | str] | None = None,
        max_rows: int = 200,
        tz: tzinfo | None = None,
    ):
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ValueError(f"max_rows: expected a positive int, got {max_rows!r}")
        known = {cls.__name__: cls for cls in event_types()}
        selected = list(known) if types is None else [self._type_name(t, known) for t in types]
        self.tz = tz if tz is not None else get_local_timezone()
        self.max_rows = max_rows
        self.events: deque[Event] = deque(maxlen=max_rows)
        self.type_filter = widgets.SelectMultiple(
            options=list(known),
            value=selected,
            rows=6,
            description="types",
            layout=widgets.Layout(width="22em"),
        )
        self.text_filter = widgets.Text(
            placeholder="contains…", description="filter", layout=widgets.Layout(width="22em")
        )
        self.clear_button = widgets.Button(description="clear", icon="eraser")
        self.count = widgets.HTML()
        self.table = widgets.HTML()
        self.type_filter.observe(lambda _change: self.render(), "value")
        self.text_filter.observe(lambda _change: self.render(), "value")
        self.clear_button.on_click(lambda _button: self.clear())
        controls = widgets.HBox(
            [self.type_filter, widgets.VBox([self.text_filter, self.clear_button, self.count])]
        )
        super().__init__([controls, self.table])
        self.add_class("nbsched-event-log")
        self._loop: asyncio.AbstractEventLoop | None
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._thread = threading.get_ident()
        self._render_pending = False
        self._identity: str | None = getattr(scheduler, "identity", None)
        self._subscription = scheduler.subscribe(self._on_event)
        self.render()

    @staticmethod
    def _type_name(value: type[Event] | str, known: dict[str, type[Event]]) -> str:
        name = value if isinstance(value, str) else getattr(value, "__name__", repr(value))
        if name not in known:
            raise ValueError(
                f"types: {value!r} is not an nbsched event type (known: {', '.join(known)})"
            )
        return name

    def _on_event(self, event: Event) -> None:
        loop = self._loop
        if loop is not None and threading.get_ident() != self._thread:
            # a synchronous Scheduler publishes on its own thread: keep to ours
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._on_event, event)
            return
        self.events.append(event)
        if loop is None:
            self.render()
        elif not self._render_pending:
            # one redraw for a burst of events published in the same loop iteration
            self._render_pending = True
            loop.call_soon(self._render_soon)

    def _render_soon(self) -> None:
        self._render_pending = False
        self.render()

    def visible(self) -> list[Event]:
        """The events the table shows now, newest first."""
        wanted = set(self.type_filter.value)
        needle = self.text_filter.value.strip().lower()
        shown = []
        for event in reversed(self.events):
            if type(event).__name__ not in wanted:
                continue
            if needle and needle not in f"{type(event).__name__} {summarize(event)}".lower():
                continue
            shown.append(event)
        return shown

    def render(self) -> None:
        """Redraw the table from the kept events and the filters."""
        shown = self.visible()
        rows = "".join(
            "<tr>"
            f"<td style='white-space:nowrap'>{html.escape(self._time(event))}</td>"
            f"<td><b>{html.escape(type(event).__name__)}</b></td>"
            f"<td style='white-space:nowrap'>{self._scheduler_cell(event)}</td>"
            "<td style='font-family:monospace'>"
            f"{html.escape(summarize(event, leave_out=('scheduler_id',)))}</td>"
            "</tr>"
            for event in shown
        )
        self.table.value = (
            "<table style='font-size:12px;border-collapse:collapse'>"
            "<thead><tr><th align='left'>time</th><th align='left'>event</th>"
            "<th align='left'>scheduler</th><th align='left'>details</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
        self.count.value = f"<small>{len(shown)} shown, {len(self.events)} kept</small>"

    def _scheduler_cell(self, event: Event) -> str:
        who = getattr(event, "scheduler_id", None)
        if not who:
            return ""
        shown = "this kernel" if who == self._identity else who
        return f"<span title='{html.escape(who)}'>{html.escape(shown)}</span>"

    def _time(self, event: Event) -> str:
        return event.timestamp.astimezone(self.tz).strftime("%H:%M:%S.%f")[:-3]

    def clear(self) -> None:
        """Forget every event kept so far."""
        self.events.clear()
        self.render()

    def close(self) -> None:
        """Stop listening and close the widget."""
        subscription = getattr(self, "_subscription", None)  # None if __init__ failed
        if subscription is not None:
            subscription.unsubscribe()
        super().close()
