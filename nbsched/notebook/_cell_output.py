"""Route each run of a scheduled cell to the output area of the cell that defined it.

Why not ``print`` and let the kernel route it: a job runs between (or during) other cells'
executions, and where the kernel sends background output changed across ipykernel 6.29, 7.0
and 7.1 (the parent header is a global in 6.x and a context variable in 7.x, so output lands
in the latest cell or in the cell that started the scheduler). ``with Output():`` relies on
that same parent header.

What we do instead: the defining cell displays a :class:`CellOutput` (an ``ipywidgets.Output``
under a one-line status). A run swaps ``sys.stdout``, ``sys.stderr`` and the shell's display
publisher for collectors (:class:`RunCapture`) and writes what it collected into the widget's
``outputs`` trait. A trait change is a comm message addressed to that widget's model, which
every front end applies to the widget wherever it is displayed, whichever cell the kernel is
running. Runs happen on the kernel's main thread, so swapping the globals cannot interleave
with another cell's code.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
import weakref
from collections.abc import Callable, Hashable
from types import TracebackType
from typing import Any

import ipywidgets as widgets
from IPython.core.displaypub import DisplayPublisher

from ._kept_runs import KEEP_RUNS, KeptRuns
from ._kernel_status import publish_status

__all__ = ["CellOutput", "RunCapture"]

#: Seconds between two widget updates while a run is still producing output.
FLUSH_INTERVAL = 0.2
#: Seconds between two updates of a status line (a cell that runs more often than this shows
#: its latest state, not each run's).
STATUS_INTERVAL = 0.5
#: Seconds between two updates of a status line that only move its routine parts on (the run
#: count, the last run's duration, the next fire time): a quick cell that runs every second
#: has its line rewritten every ``ROUTINE_INTERVAL`` seconds, not on every run (each write is
#: a widget message, which wakes two of the kernel's threads). A change of state (an error, a
#: pause, the end, a slow run starting, the store lost) is not held back.
ROUTINE_INTERVAL = 5.0
#: After a change of state, the first routine update may come this many seconds after it, and
#: each next one twice as long after the one before, up to :data:`ROUTINE_INTERVAL`: the
#: count of a cell just scheduled (or just recovered) is seen moving on.
FIRST_ROUTINE_INTERVAL = 2.0
#: Seconds before a status line is due within which a change is written at once (in the loop
#: pass of the run that made it, not on a wake-up of its own a moment later).
STATUS_SLACK = 0.1
#: A routine line that is due goes out with the next change (a quick cell's next run), in that
#: change's pass of the loop; a timer writes it only if no change comes within this many
#: seconds. So the writes of a cell that runs every second keep time with its runs and cost
#: the kernel no wake-up of their own.
ROUTINE_GRACE = 1.0
#: A cell whose last run took at least this long shows "running" before its next run (the
#: kernel is blocked while a scheduled cell runs); a quicker one shows only the outcome.
SLOW_RUN = 0.05


#: The cells whose status line has a change not sent yet.
_unsent: weakref.WeakSet[CellOutput] = weakref.WeakSet()
#: the clock of the status lines' timing (monotonic seconds; tests replace it and the timer)
_monotonic = time.monotonic


def _call_later(delay: float, callback: Callable[[], None]) -> asyncio.Handle:
    """Call ``callback`` on the running loop in ``delay`` seconds (at once: after what is ready
    now); RuntimeError without a running loop."""
    loop = asyncio.get_running_loop()
    return loop.call_later(delay, callback) if delay > 0 else loop.call_soon(callback)


def status_due(sent_at: float, *, routine: bool, routine_gap: float) -> float:
    """When (on :data:`_monotonic`'s clock) a status line last written at ``sent_at`` may be
    written again: ``routine_gap`` later for a ``routine`` change, :data:`STATUS_INTERVAL`
    later for any other."""
    return sent_at + (routine_gap if routine else STATUS_INTERVAL)


class CellOutput:
    """The output area of one scheduled cell: a status line above an ``Output`` widget.

    :param schedule_id: the schedule whose runs land here
    :param append: keep the last ``keep`` runs' output (``True``) or replace it on each run
    :param keep: how many runs an ``append`` area keeps

    :ivar output: the ``Output`` widget of the runs (``append``: of the first run)
    :ivar kept: the :class:`~nbsched.notebook._kept_runs.KeptRuns` of an ``append`` area
    """

    def __init__(self, schedule_id: str, *, append: bool = False, keep: int = KEEP_RUNS):
        self.schedule_id = schedule_id
        self.append = append
        self.status = widgets.HTML(layout=widgets.Layout(margin="0 0 2px 0"))
        self.kept = KeptRuns(keep) if append else None
        if self.kept is not None:
            self.output = self.kept.first
            body: widgets.Widget = self.kept.box
        else:
            self.output = widgets.Output()
            body = self.output
        self.widget = widgets.VBox([self.status, body])
        #: how long the last run took (None before the first)
        self.last_run_seconds: float | None = None
        self._pending_status: str | Callable[[], str | None] | None = None
        self._pending_state: Hashable = None
        self._hold_status = False
        self._status_call: asyncio.Handle | None = None
        self._status_due = 0.0  # when the scheduled call writes the line
        self._status_sent = -ROUTINE_INTERVAL
        self._sent_state: Hashable = None
        #: how long after the last write a routine change waits (grows to ROUTINE_INTERVAL)
        self._routine_gap = FIRST_ROUTINE_INTERVAL

    def set_status(
        self,
        html: str | Callable[[], str | None],
        *,
        running: bool = False,
        state: Hashable = None,
    ) -> None:
        """Show ``html`` (already escaped) in the status line.

        The line is written once the loop has handled what is ready now, and at most every
        :data:`STATUS_INTERVAL`, so the changes of one run (or of several quick runs) go out
        as one update (the last one); one due within :data:`STATUS_SLACK` is written now.
        ``html`` may be a function that writes the line then (``None``: leave the line as it
        is).

        ``state`` is what the line says apart from its routine parts (see
        :func:`~nbsched.notebook._status_line.line_state`); a change that leaves it as it was
        when the line was last written is routine and waits until the line's routine gap after
        that write (:data:`FIRST_ROUTINE_INTERVAL` after a change of state, twice as long
        after each routine write, up to :data:`ROUTINE_INTERVAL`), then for the next change,
        at most :data:`ROUTINE_GRACE` more (``None``: every change counts as a change of
        state).

        ``running`` says the line announces a run (queued or running): for a cell whose runs
        are quick it is not sent at all (the line written after the run replaces it); for a
        slow one, or before the first run, it is sent just before the run blocks the kernel
        (:meth:`run_starts`).
        """
        if self._pending_status is None:  # (a WeakSet makes a weak reference on each add)
            _unsent.add(self)
        self._pending_status = html
        self._pending_state = state
        self._hold_status = running and self._quick()
        if self._hold_status:
            return
        routine = state is not None and state == self._sent_state
        due = status_due(self._status_sent, routine=routine, routine_gap=self._routine_gap)
        now = _monotonic()
        if due - now < STATUS_SLACK:
            due = now
        elif routine:
            due += ROUTINE_GRACE  # the timer only writes it if no change comes to carry it
        if self._status_call is not None:
            if self._status_due <= due:
                return  # written soon enough, and it writes the latest line
            self._status_call.cancel()  # a change of state: sooner than the routine one
        try:
            self._status_call = _call_later(due - now, self._flush_soon)
        except RuntimeError:  # no loop to wait on: show it now
            self._status_call = None
            self.flush_status()
            return
        self._status_due = due

    def _quick(self) -> bool:
        return self.last_run_seconds is not None and self.last_run_seconds < SLOW_RUN

    def _flush_soon(self) -> None:
        self._status_call = None
        if not self._hold_status:
            self.flush_status()

    def flush_status(self) -> None:
        """Send the latest status now, if it changed."""
        if self._status_call is not None:
            self._status_call.cancel()
            self._status_call = None
        html, self._pending_status = self._pending_status, None
        _unsent.discard(self)
        if callable(html):
            html = html()
        if html is None:
            return
        state = self._pending_state
        routine = state is not None and state == self._sent_state
        self._sent_state = state
        if self.status.value != html:
            self.status.value = html
            self._status_sent = _monotonic()
            # after a routine write the next one waits longer; after a change of state, less
            self._routine_gap = (
                min(self._routine_gap * 2, ROUTINE_INTERVAL) if routine else FIRST_ROUTINE_INTERVAL
            )

    def run_starts(self) -> None:
        """A run is about to block the kernel: unless its runs are quick, send every status
        line still waiting now ("running" here, "queued" in the cells waiting behind it)
        rather than after the run."""
        if not self._quick():
            for route in list(_unsent):
                route.flush_status()

    def area_for_run(self) -> widgets.Output:
        """The ``Output`` widget a run that shows something writes into."""
        return self.output if self.kept is None else self.kept.next_area()

    def shown_outputs(self) -> tuple[dict[str, Any], ...]:
        """Every output shown now, oldest first (all kept runs of an ``append`` area)."""
        return self.kept.outputs() if self.kept is not None else self.output.outputs

    def close(self) -> None:
        """Close the widgets (when the cell's schedule is replaced by a new definition)."""
        _unsent.discard(self)
        self._pending_status = None
        if self._status_call is not None:
            self._status_call.cancel()
            self._status_call = None
        if self.kept is not None:
            self.kept.close()
        for widget in (self.widget, self.status, self.output):
            widget.close()

    def capture(self, shell: Any) -> RunCapture:
        """A context manager that collects one run's output into this area."""
        return RunCapture(self, shell)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class _Stream(io.TextIOBase):
    """A text stream whose writes become ``stream`` outputs of the run."""

    def __init__(self, capture: RunCapture, name: str):
        super().__init__()
        self._capture = capture
        self._name = name

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            self._capture.add_stream(self._name, text)
        return len(text)


class _Publisher(DisplayPublisher):
    """Collects ``display()``, ``update_display()`` and ``clear_output()`` of a run."""

    def __init__(self, capture: RunCapture, **kwargs: Any):
        # untyped in IPython; mypy's untyped_calls_exclude does not reach super() calls
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.capture = capture

    def publish(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: Any = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        output: dict[str, Any] = {
            "output_type": "display_data",
            "data": dict(data),
            "metadata": dict(metadata or {}),
        }
        if transient:
            output["transient"] = dict(transient)
        self.capture.add_display(output, update=update)

    def clear_output(self, wait: bool = False) -> None:
        self.capture.clear(wait=wait)


class RunCapture:
    """Collects one run's outputs (nbformat dicts) and writes them into a :class:`CellOutput`.

    Use as a context manager around the run; :meth:`add_error` records a traceback.
    """

    def __init__(self, target: CellOutput, shell: Any):
        self._target = target
        self._shell = shell
        self._area: widgets.Output | None = None
        self.outputs: list[dict[str, Any]] = []
        self._clear_pending = False
        self._dirty = False
        self._last_flush = 0.0
        self._saved: tuple[Any, Any, Any] | None = None
        self._started = 0.0
        self._said_busy = False

    def __enter__(self) -> RunCapture:
        # a run that may block the kernel for a while shows as "Busy" in the front ends'
        # kernel indicator (a quick one would only make it flicker, at 2 messages a run)
        if not self._target._quick():
            self._said_busy = publish_status(self._shell, "busy")
        self._target.run_starts()
        self._saved = (sys.stdout, sys.stderr, self._shell.display_pub)
        sys.stdout = _Stream(self, "stdout")
        sys.stderr = _Stream(self, "stderr")
        self._shell.display_pub = self._publisher()
        # the loop is blocked while the cell runs, so no timer can flush: the first output is
        # shown at once, later ones when they come at least FLUSH_INTERVAL after a flush
        self._last_flush = 0.0
        self._started = time.perf_counter()
        return self

    def _publisher(self) -> _Publisher:
        # made once per shell and pointed at each run's capture (a traitlets object is slow
        # to build, and a quick cell would spend a good part of its run on it)
        publisher: _Publisher | None = getattr(self._shell, "_nbsched_publisher", None)
        if publisher is None:
            publisher = _Publisher(self, shell=self._shell)
            self._shell._nbsched_publisher = publisher
        publisher.capture = self
        return publisher

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._saved is not None
        sys.stdout, sys.stderr, self._shell.display_pub = self._saved
        self._saved = None
        self._target.last_run_seconds = time.perf_counter() - self._started
        self.flush()
        if self._said_busy:
            publish_status(self._shell, "idle")

    # --- collecting -------------------------------------------------------------------------

    def add_stream(self, name: str, text: str) -> None:
        self._take_pending_clear()
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            self.outputs[-1] = {**last, "text": last["text"] + text}
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})
        # print() writes the text and the newline separately: show whole lines only
        self._changed(due=text.endswith("\n"))

    def add_display(self, output: dict[str, Any], *, update: bool = False) -> None:
        display_id = output.get("transient", {}).get("display_id")
        if update:
            # update_display(): replace every output that carries the same display id
            for index, existing in enumerate(self.outputs):
                if display_id and existing.get("transient", {}).get("display_id") == display_id:
                    self.outputs[index] = output
            self._changed()
            return
        self._take_pending_clear()
        self.outputs.append(output)
        self._changed()

    def add_error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        """Record an exception the way a cell shows it (``traceback`` may hold ANSI colours)."""
        self._take_pending_clear()
        self.outputs.append(
            {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback}
        )
        self._changed()

    def clear(self, *, wait: bool = False) -> None:
        """``clear_output()``: forget this run's outputs so far (now, or at the next output)."""
        if wait:
            self._clear_pending = True
        else:
            self.outputs.clear()
            self._changed()

    def _take_pending_clear(self) -> None:
        if self._clear_pending:
            self._clear_pending = False
            self.outputs.clear()

    def _changed(self, *, due: bool = True) -> None:
        self._dirty = True
        if due and time.monotonic() - self._last_flush >= FLUSH_INTERVAL:
            self.flush()

    # --- writing into the widget ------------------------------------------------------------

    def flush(self) -> None:
        """Write the outputs collected so far into the run's ``Output`` widget."""
        self._last_flush = time.monotonic()
        self._dirty = False
        # the widget serializes its outputs; strip the kernel-only 'transient' key
        shown = tuple(
            {key: value for key, value in output.items() if key != "transient"}
            for output in self.outputs
        )
        area = self._area
        if area is None:
            if self._target.append and not shown:
                return  # a silent run of an --append cell takes no area
            area = self._area = self._target.area_for_run()
        if area.outputs != shown:
            area.outputs = shown
