"""The output of an ``--append`` cell: one ``Output`` widget per run, the last N runs kept.

Why one widget per run: an ``Output`` widget's ``outputs`` trait is sent whole on every
change, so appending each run to one widget would re-send the whole history on every run
(27.6 kB per run after 300 runs). With one widget per run, a run sends its own output only.
Once ``keep`` areas exist, the oldest one is reused for the new run and moved to the bottom
with the flex ``order`` of its layout (one small message), so the box's list of children is
not re-sent either; a note on top says that older runs were dropped.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import ipywidgets as widgets

__all__ = ["KEEP_RUNS", "KeptRuns", "stored_keep"]

#: How many runs an ``--append`` cell keeps by default (``--keep N`` changes it).
KEEP_RUNS = 20


def stored_keep(value: Any) -> int:
    """The ``keep`` recorded in a stored cell schedule's metadata, or the default when it is
    missing (a schedule stored before ``--keep`` existed) or not a positive int."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return KEEP_RUNS


class KeptRuns:
    """The output areas of the last ``keep`` runs, oldest on top.

    :param keep: how many runs to keep (at least 1)
    :ivar box: the ``VBox`` to display
    """

    def __init__(self, keep: int = KEEP_RUNS):
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep: expected a positive int, got {keep!r}")
        self.keep = keep
        # the first area is made now, so that it opens with the cell that displays the box
        first = widgets.Output(layout=widgets.Layout(order="1"))
        #: the first run's area
        self.first = first
        self._areas: deque[widgets.Output] = deque([first])
        self._runs = 0
        self.note: widgets.HTML | None = None
        self.box = widgets.VBox([first])

    @property
    def runs(self) -> int:
        """How many runs have been given an area so far."""
        return self._runs

    def next_area(self) -> widgets.Output:
        """The area the next run writes into (at the bottom)."""
        self._runs += 1
        if self._runs == 1:
            return self._areas[0]
        order = str(self._runs)
        if len(self._areas) < self.keep:
            area = widgets.Output(layout=widgets.Layout(order=order))
            self._areas.append(area)
            self.box.children = (*self.box.children, area)
            return area
        area = self._areas.popleft()  # the caller writes the new run's outputs into it
        area.layout.order = order
        self._areas.append(area)
        if self.note is None:
            self.note = widgets.HTML(
                f"<small><i>older runs were dropped: the last {self.keep} are kept "
                f"(<code>--keep N</code> keeps N)</i></small>",
                layout=widgets.Layout(order="0"),
            )
            self.box.children = (self.note, *self.box.children)
        return area

    def outputs(self) -> tuple[dict[str, Any], ...]:
        """The kept runs' outputs, oldest run first."""
        return tuple(output for area in self._areas for output in area.outputs)

    def close(self) -> None:
        """Close every widget of the box."""
        for area in self._areas:
            area.layout.close()
            area.close()
        if self.note is not None:
            self.note.close()
        self.box.close()
