"""How a cell becomes a task: its source runs in the user's namespace on the kernel's thread.

Every scheduled cell is a schedule of one task, :data:`TASK_ID`, whose function is
:func:`run_cell` (stored by import reference, so a file store can restore it in a new kernel)
and whose arguments are the cell's source and its schedule id. The task uses the ``"loop"``
executor: the code runs on the kernel's main thread, between other cells, so it may touch the
user's variables, widgets and plots like any cell. A cell must therefore be quick; while it
runs, the kernel (and every other schedule) waits.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import signal
import sys
import threading
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from types import CodeType
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError
from IPython.core.getipython import get_ipython

from ._current import current
from ._trust import current_signer

try:  # the C functions under signal's own, which convert to and from enums on every call:
    # that took a third of a quick scheduled run's own CPU time (two swaps of SIGINT a run)
    _handlers: Any = importlib.import_module("_signal")
except ImportError:  # another Python than CPython
    _handlers = signal
_get_handler, _set_handler = _handlers.getsignal, _handlers.signal

if TYPE_CHECKING:
    from ._cell_output import CellOutput

__all__ = [
    "TASK_ID",
    "CellHost",
    "CompiledCell",
    "CellInterrupted",
    "UntrustedCellError",
    "compile_cell",
    "run_cell",
    "run_cell_in",
]

#: The id of the task that runs scheduled cells.
TASK_ID = "nbsched.notebook:cell"
_SIGINT = int(signal.SIGINT)
_get_ident = threading.get_ident
_MAIN_THREAD = threading.main_thread().ident
#: How many compiled cells are kept (a scheduled cell is compiled once, not on every run).
COMPILED_CELLS_KEPT = 256


class CellInterrupted(Exception):
    """A scheduled cell was interrupted (the user pressed "interrupt kernel")."""


class UntrustedCellError(Exception):
    """A job would run cell code that this user did not sign; it was not run."""


class CellHost(Protocol):
    """What a cell run needs from the kernel's scheduler holder (the ``NotebookScheduler``)."""

    @property
    def outputs(self) -> dict[str, CellOutput]:
        """The output area of each scheduled cell, by schedule id."""

    @property
    def preparing(self) -> asyncio.Task[Any] | None:
        """Restoring the store's cell schedules (their output areas), while it runs."""

    def cell_label(self, schedule_id: str) -> int | str:
        """How tracebacks name the cell."""

    def run_started(self, schedule_id: str) -> None:
        """The run of ``schedule_id`` starts now."""

    def run_failed(self, schedule_id: str) -> None:
        """The run of ``schedule_id`` raised."""


@dataclass(frozen=True, slots=True)
class CompiledCell:
    """A cell's code, ready to run: its statements and, if it ends in one, the expression
    whose value is displayed like a cell's result."""

    body: CodeType
    result: CodeType | None


_compiled: OrderedDict[tuple[int, str, int | str], CompiledCell] = OrderedDict()


def compile_cell(shell: Any, source: str, label: int | str = 0) -> CompiledCell:
    """Compile a cell the way IPython would (``%magics``, ``!shell`` lines included).

    ``label`` names the cell in tracebacks (``Cell In[<label>], line 2``): the execution count
    of the cell that scheduled it, or the schedule's id.

    The result is kept: the runs of a scheduled cell reuse the code compiled when the magic
    checked it. Raises ``UsageError`` (one line in the cell) on a syntax error or a
    top-level ``await``.
    """
    key = (id(shell), source, label)
    cell = _compiled.get(key)
    if cell is None:
        cell = _compile(shell, source, label)
        _compiled[key] = cell
        if len(_compiled) > COMPILED_CELLS_KEPT:
            _compiled.popitem(last=False)
    else:
        _compiled.move_to_end(key)
    return cell


def _compile(shell: Any, source: str, label: int | str) -> CompiledCell:
    transformed = shell.transform_cell(source)
    filename = shell.compile.cache(transformed, label, source)
    try:
        tree = ast.parse(transformed, filename=filename)
        result: CodeType | None = None
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr) and not transformed.rstrip().endswith(";"):
            tree.body.pop()
            result = compile(ast.Expression(last.value), filename, "eval")
        body = compile(tree, filename, "exec")
    except SyntaxError as exc:
        if "await" in str(exc.msg) or "async" in str(exc.msg):
            raise UsageError(
                "a scheduled cell cannot use top-level await; schedule an async function "
                "with the scheduler instead"
            ) from None
        raise UsageError(f"syntax error in the cell, line {exc.lineno}: {exc.msg}") from None
    return CompiledCell(body=body, result=result)


def run_cell(
    *, source: str, schedule_id: str, signature: str | None = None
) -> Coroutine[Any, Any, None] | None:
    """Run one scheduled cell and route its output to the cell that scheduled it.

    This is the task function behind every ``%%every`` / ``%%cron`` / ``%%at`` cell. An
    exception is shown as a traceback in the cell's output area and raised again, so that the
    job's outcome is ``error``.

    :param signature: this user's code signature of ``source`` (see :mod:`._trust`)
    :raises UntrustedCellError: without a valid ``signature``; nothing is run

    A run that falls due while ``%load_ext`` (or ``%sched store``) is still restoring the
    store's cell schedules returns a coroutine that runs the cell once its output area exists.
    """
    # (imported at the top: an import in here costs a pass through the import machinery on
    # every run, and ``IPython.get_ipython`` another through IPython's module __getattr__)
    if not current_signer().code_is_signed(schedule_id, source, signature):
        raise UntrustedCellError(
            f"cell schedule {schedule_id!r} was not run: its code is not signed by you (it "
            f"comes from a store somebody else wrote, or was changed there). Review it with "
            f"%sched show {schedule_id}; %sched resume {schedule_id} signs and runs it"
        )

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("scheduled cells run only inside IPython or a Jupyter kernel")
    # the scheduler calls this function by import reference (a file store restores it in a
    # new kernel): the one place that looks the holder up instead of being handed it
    host = current()
    if host is None:
        _execute(shell, compile_cell(shell, source, schedule_id))
        return None
    return run_cell_in(host, shell, source=source, schedule_id=schedule_id, signature=signature)


def run_cell_in(
    host: CellHost, shell: Any, *, source: str, schedule_id: str, signature: str | None = None
) -> Coroutine[Any, Any, None] | None:
    """Run a scheduled cell whose code :func:`run_cell` checked, with its output in ``host``'s
    output area of ``schedule_id``; returns a coroutine (see :func:`run_cell`) while ``host``
    is still restoring the output areas."""
    route = host.outputs.get(schedule_id)
    preparing = host.preparing
    if route is None and preparing is not None and not preparing.done():
        return _when_done(preparing, source=source, schedule_id=schedule_id, signature=signature)
    cell = compile_cell(shell, source, host.cell_label(schedule_id))
    if route is None:
        _execute(shell, cell)  # nowhere to route to: the kernel decides where output goes
        return None
    host.run_started(schedule_id)
    with route.capture(shell) as capture, _interruptible():
        try:
            _execute(shell, cell)
        except (Exception, KeyboardInterrupt) as exc:
            etype, value, frames = sys.exc_info()
            # leave out this module's frames: the traceback starts in the cell's own code
            while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
                frames = frames.tb_next
            lines = shell.InteractiveTB.structured_traceback(etype, value, frames)
            capture.add_error(type(exc).__name__, str(exc), list(lines))
            host.run_failed(schedule_id)
            if isinstance(exc, KeyboardInterrupt):
                raise CellInterrupted(f"cell {schedule_id!r} was interrupted") from None
            raise
    return None


async def _when_done(preparing: asyncio.Task[Any], **arguments: Any) -> None:
    await asyncio.wait({preparing})
    run_cell(**arguments)


def _execute(shell: Any, cell: CompiledCell) -> None:
    namespace = shell.user_ns
    exec(cell.body, namespace)
    if cell.result is not None:
        value = eval(cell.result, namespace)
        if value is not None:
            from IPython.display import display

            display(value)


class _interruptible:
    """Let "interrupt kernel" stop a runaway scheduled cell.

    ipykernel ignores SIGINT while it is idle and only installs Python's handler while a cell
    executes; a scheduled run happens between cells, so it installs the handler itself.
    """

    def __enter__(self) -> None:
        self._previous = None
        if _get_ident() == _MAIN_THREAD:
            self._previous = _get_handler(_SIGINT)
            _set_handler(_SIGINT, signal.default_int_handler)

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            _set_handler(_SIGINT, self._previous)
