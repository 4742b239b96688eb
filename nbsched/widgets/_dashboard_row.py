"""One row of the dashboard and the columns every row shares (internal)."""

from __future__ import annotations

import html
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

import ipywidgets as widgets

if TYPE_CHECKING:
    from .dashboard import Dashboard

__all__ = ["DashboardRow", "header_row"]


#: (name, width) of each column; the trigger column takes the room that is left, down to its
#: width. "next fire" holds the time remaining under the fire time. Nothing wraps: a cell cut
#: short ends in "…" with the whole text in its tooltip.
_COLUMNS = (
    ("id", "7.5em"),
    ("trigger", "6em"),
    ("next fire", "7.5em"),
    ("runs", "2.5em"),
    ("last run", "6.5em"),
    ("", _ACTIONS_WIDTH := "14.5em"),
    ("lateness", "4.5em"),
    ("ran on", "6em"),
    ("history", "8em"),
    ("median", "4.5em"),
)
_ROW_LAYOUT = {"align_items": "center", "grid_gap": "0 6px", "flex_flow": "row nowrap"}
#: Every dashboard of the page shares these rules (sent once, with the header): one line per
#: text, cut with "…"; smaller buttons than ipywidgets' default. On a narrow page the last
#: columns give their room to the trigger (the least needed first: history and median, then
#: lateness and ran on; the cell's status line shows those two too): at 800 px the trigger
#: still reads and the buttons show without scrolling sideways.
_STYLE = (
    "<style>"
    ".nbsched-dashboard-table{container:nbsched-dashboard/inline-size}"
    ".nbsched-dashboard-row .widget-html-content,.nbsched-dashboard-head .widget-html-content"
    "{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;line-height:1.5;font-size:12px}"
    ".nbsched-dashboard-row .widget-html,.nbsched-dashboard-head .widget-html{height:auto}"
    ".nbsched-dashboard-row .widget-button{height:24px;line-height:24px;font-size:12px}"
    ".nbsched-dashboard-row small{font-size:11px;color:#666}"
    "@container nbsched-dashboard (max-width:1050px){"
    ".nbsched-col-history,.nbsched-col-median{display:none!important}}"
    "@container nbsched-dashboard (max-width:880px){"
    ".nbsched-col-lateness,.nbsched-col-ran-on{display:none!important}}"
    "</style>"
)


def _cell(name: str, width: str) -> widgets.HTML:
    # a fixed width keeps every row's columns under the header's; only the trigger and (a
    # little, for long ids) the id grow
    flex = {"trigger": f"1 1 {width}", "id": f"0.3 1 {width}"}.get(name, f"0 0 {width}")
    cell = widgets.HTML(
        layout=widgets.Layout(
            flex=flex,
            min_width=width,
            max_width="16em" if name == "id" else None,
            overflow="hidden",
            margin="0",
        )
    )
    if name:
        cell.add_class(f"nbsched-col-{name.replace(' ', '-')}")
    return cell


def header_row() -> widgets.HBox:
    """The dashboard's header: the columns' names (and the style every row follows)."""
    head = widgets.HBox(
        [_cell(name, width) for name, width in _COLUMNS],
        layout=widgets.Layout(flex="0 0 auto", **_ROW_LAYOUT),
    )
    for (name, _width), cell in zip(_COLUMNS, head.children, strict=True):
        cell.value = f"<b>{name}</b>" if name else ""
    head.children[0].value = _STYLE + head.children[0].value
    head.add_class("nbsched-dashboard-head")
    return head


class DashboardRow(widgets.HBox):
    """One schedule's row: its cells (``row.cells["next fire"].value``) and its buttons (pause
    and resume share a place: only the one that applies shows)."""

    def __init__(self, schedule_id: str, dashboard: Dashboard):
        self.schedule_id = schedule_id
        self.cells = {name: _cell(name, width) for name, width in _COLUMNS if name}
        self.cells["remaining"] = widgets.HTML(layout=widgets.Layout(margin="0"))
        self.cells["id"].value = f"<code>{html.escape(schedule_id)}</code>"

        def button(description: str, style: str = "") -> widgets.Button:
            return widgets.Button(
                description=description,
                button_style=style,
                layout=widgets.Layout(width="auto", flex="0 0 auto", padding="0 6px", margin="0"),
            )

        self.pause_button = button("pause")
        self.resume_button = button("resume")
        self.resume_button.layout.display = "none"
        self.run_button = button("run now")
        self.remove_button = button("remove", "danger")
        self.pause_button.on_click(lambda _b: dashboard.pause(schedule_id))
        self.resume_button.on_click(lambda _b: dashboard.resume(schedule_id))
        self.run_button.on_click(lambda _b: dashboard.run_now(schedule_id))
        self.remove_button.on_click(lambda _b: dashboard.confirm_remove(schedule_id))
        #: until when a second click on "remove" removes (the first one only asks)
        self.confirm_until: datetime | None = None
        self.buttons = (self.pause_button, self.resume_button, self.run_button, self.remove_button)
        actions = widgets.HBox(
            list(self.buttons),
            layout=widgets.Layout(flex=f"0 0 {_ACTIONS_WIDTH}", grid_gap="0 4px"),
        )
        when = widgets.VBox(
            [self.cells["next fire"], self.cells["remaining"]],
            layout=widgets.Layout(flex=f"0 0 {_COLUMNS[2][1]}", min_width=_COLUMNS[2][1]),
        )
        self.cells["next fire"].layout = widgets.Layout(margin="0")
        parts = [
            actions if not name else when if name == "next fire" else self.cells[name]
            for name, _width in _COLUMNS
        ]
        super().__init__(parts, layout=widgets.Layout(flex="0 0 auto", **_ROW_LAYOUT))
        self.add_class("nbsched-dashboard-row")
        self.next_fire_time: datetime | None = None
        self.trigger_tz: tzinfo | None = None
        self.paused = False
        #: "finished" or "removed" once the schedule is gone from the store
        self.ended: str | None = None

    def show_ended(self, ended: str | None) -> None:
        """Grey the row out as a schedule that ``ended`` ("finished" or "removed"), its
        buttons reduced to "dismiss"; or, with ``None``, make it a live row again."""
        if ended == self.ended:
            return
        self.ended = ended
        if ended is None:
            self.remove_class("nbsched-dashboard-ended")
            self.remove_button.description = "remove"
            self.remove_button.button_style = "danger"
            self.run_button.disabled = False
        else:
            self.add_class("nbsched-dashboard-ended")
            self.remove_button.description = "dismiss"
            self.remove_button.button_style = ""
            self.confirm_until = None
            for button in (self.pause_button, self.resume_button, self.run_button):
                button.disabled = True

    def show_paused(self, paused: bool) -> None:
        """Show the button that applies: resume for a paused schedule, else pause."""
        self.pause_button.disabled = paused
        self.resume_button.disabled = not paused
        shown, hidden = (
            (self.resume_button, self.pause_button)
            if paused
            else (self.pause_button, self.resume_button)
        )
        if shown.layout.display is not None:
            shown.layout.display = None
        if hidden.layout.display != "none":
            hidden.layout.display = "none"

    def close(self) -> None:
        """Close the row and every widget in it."""
        super().close()
        for widget in (*self.cells.values(), *self.buttons, *self.children):
            widget.close()

    def text(self) -> dict[str, str]:
        """The row's cells as plain text (tags stripped), for tests and ``%sched list``."""
        import re

        return {
            name: html.unescape(re.sub(r"<[^>]+>", "", cell.value))
            for name, cell in self.cells.items()
        }
