"""A live, filterable log of the events a scheduler publishes, newest first.

The log is a fixed-height scrolling box of rows, one ``HTML`` widget per event. A new event
fills one row: a new row while fewer than ``max_rows`` are shown, else the row of the oldest
event shown, moved to the top with the flex ``order`` of its layout. So an event costs a
message or two, whatever the number of rows, and the box's list of rows is not re-sent.
Changing a filter redraws every row (the user asked for it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from enum import Enum
from typing import Any
from uuid import UUID

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle

from .. import events as events_module
from .._localzone import get_local_timezone
from .._protocols import SchedulerLike
from ..events import Event

__all__ = ["EventLog", "event_types"]


def event_types() -> list[type[Event]]:
    """Every concrete event class in :mod:`nbsched.events`, by name."""
    found = [
        value
        for value in vars(events_module).values()
        if isinstance(value, type)
        and issubclass(value, Event)
        and value.__module__ == events_module.__name__
        and value.__subclasses__() == []
    ]
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
    for field in dataclasses.fields(event):
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


#: How tall the box of rows may grow before it scrolls.
LOG_HEIGHT = "22em"

# one style block for every log in the page: the rows stay short (a row is sent per event)
_STYLE = (
    "<style>"
    ".nbsched-ev{display:flex;gap:0.8em;font-size:12px;line-height:1.45;align-items:baseline}"
    ".nbsched-ev>*{flex:none;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
    ".nbsched-ev>:nth-child(1){width:7.5em}.nbsched-ev>:nth-child(2){width:11em}"
    ".nbsched-ev>:nth-child(3){width:9em}"
    ".nbsched-ev>:nth-child(4){flex:1 1 auto;white-space:normal;font-family:monospace}"
    ".nbsched-ev details>pre{font-size:11px;white-space:pre-wrap;margin:2px 0}"
    "</style>"
)
#: Fields the details column leaves out (shown elsewhere in the row, or too long for it).
_NOT_IN_DETAILS = (
    "scheduler_id",
    "exception_type",
    "exception_message",
    "exception_traceback",
)
#: The task of scheduled cells: its id is left out of their rows (every row would show it).
_CELL_TASK = "nbsched.notebook:cell"


def details_html(event: Event) -> str:
    """The details column of a row: the event's fields in short, and for a failed job the
    last line of its traceback, which expands to the whole traceback."""
    leave_out = list(_NOT_IN_DETAILS)
    if getattr(event, "task_id", None) == _CELL_TASK:
        leave_out.append("task_id")
    text = html.escape(summarize(event, leave_out=leave_out))
    error = _error_line(event)
    if error is None:
        return text
    traceback = getattr(event, "exception_traceback", None)
    if not traceback:
        return f"{text} <b>{html.escape(error)}</b>"
    return (
        f"{text}<details><summary>{html.escape(error)}</summary>"
        f"<pre>{html.escape(traceback)}</pre></details>"
    )


def _error_line(event: Event) -> str | None:
    exception_type = getattr(event, "exception_type", None)
    if not exception_type:
        return None
    traceback = getattr(event, "exception_traceback", None) or ""
    lines = [line for line in traceback.splitlines() if line.strip()]
    if lines:
        return lines[-1].strip()
    message = getattr(event, "exception_message", None)
    return f"{exception_type}: {message}" if message else exception_type


class EventLog(widgets.VBox):
    """Streams a scheduler's events into a fixed-height scrolling log, newest first.

    The "scheduler" column says which scheduler published a scheduler event (for
    ``JobReleased``: which one ran the job): "this kernel", or the identity of another
    scheduler sharing the store and event broker (another kernel or host). A failed job's
    row shows the last line of its traceback; click it for the whole traceback.

    :param scheduler: anything with ``subscribe(callback, event_types)`` (a scheduler or an
        event broker)
    :param types: event classes (or their names) shown at first; all of them by default. The
        selector above the log changes this while it runs.
    :param max_rows: how many events are kept (the oldest are dropped)
    :param tz: the zone for timestamps (the local zone by default)
    :param annotate: HTML added to an event's details, given the event as it arrives (the
        notebook layer marks the events of a cell schedule whose cell no front end shows:
        "cell not shown", its output went nowhere to be seen)

    :ivar events: the kept events, oldest first
    :ivar type_filter: the ``SelectMultiple`` of event type names
    :ivar text_filter: a ``Text``: only events whose summary contains it are shown
    :ivar rows: the scrolling ``VBox`` of rows (``HTML`` widgets)

    Example::

        from nbsched.widgets import EventLog
        EventLog(scheduler, types=["JobReleased"])
    """

    def __init__(
        self,
        scheduler: SchedulerLike,
        *,
        types: Iterable[type[Event] | str] | None = None,
        max_rows: int = 200,
        tz: tzinfo | None = None,
        annotate: Callable[[Event], str] | None = None,
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
        header = widgets.HTML(
            _STYLE + "<div class='nbsched-ev'><b>time</b><b>event</b><b>scheduler</b>"
            "<b>details</b></div>"
        )
        self.rows = widgets.VBox(
            layout=widgets.Layout(max_height=LOG_HEIGHT, overflow="auto", flex_flow="column")
        )
        self.rows.add_class("nbsched-event-rows")
        self._row_style = HTMLStyle()  # one style model shared by every row
        self._shown: deque[tuple[widgets.HTML, Event]] = deque()  # oldest shown first
        self._new: list[Event] = []
        self._sequence = 0
        self.type_filter.observe(lambda _change: self.render(), "value")
        self.text_filter.observe(lambda _change: self.render(), "value")
        self.clear_button.on_click(lambda _button: self.clear())
        controls = widgets.HBox(
            [self.type_filter, widgets.VBox([self.text_filter, self.clear_button, self.count])]
        )
        super().__init__([controls, header, self.rows])
        self.add_class("nbsched-event-log")
        self._loop: asyncio.AbstractEventLoop | None
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._thread = threading.get_ident()
        self._render_pending = False
        self._identity: str | None = getattr(scheduler, "identity", None)
        self._annotate = annotate
        #: the notes of ``annotate`` by ``id()`` of the kept event they belong to
        self._notes: dict[int, str] = {}
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
        if len(self.events) == self.max_rows:
            self._notes.pop(id(self.events[0]), None)  # the oldest is dropped
        self.events.append(event)
        if self._annotate is not None and (note := self._annotate(event)):
            self._notes[id(event)] = note  # as it was when the event came
        self._new.append(event)
        if loop is None:
            self.show_new()
        elif not self._render_pending:
            # the rows of a burst of events published in the same loop iteration go out
            # together
            self._render_pending = True
            loop.call_soon(self._show_soon)

    def _show_soon(self) -> None:
        self._render_pending = False
        self.show_new()

    def _wanted(self, event: Event) -> bool:
        if type(event).__name__ not in self.type_filter.value:
            return False
        needle = self.text_filter.value.strip().lower()
        return not needle or needle in f"{type(event).__name__} {summarize(event)}".lower()

    def visible(self) -> list[Event]:
        """The events the filters let through, newest first (the rows show these)."""
        return [event for event in reversed(self.events) if self._wanted(event)]

    def show_new(self) -> None:
        """Add a row for each event that arrived since the last call and passes the filters."""
        new, self._new = self._new, []
        added: list[widgets.HTML] = []
        for event in new:
            if not self._wanted(event):
                continue
            self._sequence += 1
            order = str(-self._sequence)  # newest on top
            if len(self._shown) < self.max_rows:
                row = widgets.HTML(
                    self._row_html(event),
                    style=self._row_style,
                    layout=widgets.Layout(order=order, flex="none"),
                )
                added.append(row)
            else:
                row, _old = self._shown.popleft()
                row.value = self._row_html(event)
                row.layout.order = order
            self._shown.append((row, event))
        if added:
            self.rows.children = (*self.rows.children, *added)
        self._update_count()

    def render(self) -> None:
        """Redraw every row from the kept events and the filters."""
        self._new.clear()
        shown = self.visible()[: self.max_rows]
        rows = [row for row, _event in self._shown]
        dropped = rows[len(shown) :]
        del rows[len(shown) :]
        self._shown.clear()
        self._sequence = 0
        for position, event in enumerate(reversed(shown)):  # oldest first
            self._sequence += 1
            order = str(-self._sequence)
            if position < len(rows):
                row = rows[position]
                row.value = self._row_html(event)
                row.layout.order = order
            else:
                row = widgets.HTML(
                    self._row_html(event),
                    style=self._row_style,
                    layout=widgets.Layout(order=order, flex="none"),
                )
                rows.append(row)
            self._shown.append((row, event))
        if tuple(rows) != self.rows.children:
            self.rows.children = tuple(rows)
        for row in dropped:  # closed once no shown box holds them
            row.layout.close()
            row.close()
        self._update_count()

    def shown_rows(self) -> list[str]:
        """The rows' HTML as the log shows them, newest first."""
        return [row.value for row, _event in reversed(self._shown)]

    def _update_count(self) -> None:
        text = f"<small>{len(self._shown)} shown, {len(self.events)} kept</small>"
        if self.count.value != text:
            self.count.value = text

    def _row_html(self, event: Event) -> str:
        return (
            f"<div class='nbsched-ev'><span>{html.escape(self._time(event))}</span>"
            f"<b>{html.escape(type(event).__name__)}</b>{self._scheduler_cell(event)}"
            f"<span>{details_html(event)}{self._notes.get(id(event), '')}</span></div>"
        )

    def _scheduler_cell(self, event: Event) -> str:
        who = getattr(event, "scheduler_id", None)
        if not who:
            return "<span></span>"
        shown = "this kernel" if who == self._identity else who
        return f"<span title='{html.escape(who)}'>{html.escape(shown)}</span>"

    def _time(self, event: Event) -> str:
        return event.timestamp.astimezone(self.tz).strftime("%H:%M:%S.%f")[:-3]

    def clear(self) -> None:
        """Forget every event kept so far."""
        self.events.clear()
        self._notes.clear()
        self.render()

    def close(self) -> None:
        """Stop listening and close the widget."""
        subscription = getattr(self, "_subscription", None)  # None if __init__ failed
        if subscription is not None:
            subscription.unsubscribe()
        for row, _event in getattr(self, "_shown", ()):
            row.layout.close()
            row.close()
        super().close()
