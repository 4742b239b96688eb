"""What identifies a scheduled cell: the kernel, the cell, its schedule id, and the
:class:`CellSpec` a magic builds from them."""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from typing import Any

from ..abc import Trigger
from ._kept_runs import KEEP_RUNS

__all__ = [
    "CELL_METADATA_KEY",
    "CellSpec",
    "cell_identity",
    "default_schedule_id",
    "kernel_identity",
]

#: Key of a scheduled cell's details in its schedule's ``metadata``.
CELL_METADATA_KEY = "nbsched_cell"


def kernel_identity() -> str:
    """The kernel's scheduler identity, ``<hostname>-<pid>-kernel``: what the dashboard's
    "ran on" column and the event log show for jobs this kernel ran, and what leases in a
    shared store are taken under (one kernel process, one identity)."""
    return f"{socket.gethostname()}-{os.getpid()}-kernel"


def cell_identity(shell: Any) -> str | None:
    """The id of the cell being executed, as the front end sent it (``cellId`` in the
    execute request's metadata, which JupyterLab and Notebook 7 send; nbclient does not)."""
    kernel = getattr(shell, "kernel", None)
    parent: Any = None
    get_parent = getattr(kernel, "get_parent", None)
    if callable(get_parent):
        try:
            parent = get_parent()
        except Exception:  # no request yet
            parent = None
    if not isinstance(parent, dict):
        parent = getattr(shell, "parent_header", None)
    metadata = parent.get("metadata") if isinstance(parent, dict) else None
    cell_id = metadata.get("cellId") if isinstance(metadata, dict) else None
    return cell_id if isinstance(cell_id, str) and cell_id else None


def default_schedule_id(cell_id: str | None, source: str) -> str:
    """``cell-<8 hex>`` from the cell id, or from the cell's code when there is no cell id."""
    basis = cell_id if cell_id else source.strip()
    return "cell-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:8]


@dataclass(slots=True, kw_only=True)
class CellSpec:
    """A cell to schedule, as the magic understood it."""

    schedule_id: str
    cell_id: str | None
    source: str
    trigger: Trigger
    magic: str
    append: bool = False
    keep: int = KEEP_RUNS
    stop_on_error: bool = False

    def metadata(self) -> dict[str, Any]:
        return {
            CELL_METADATA_KEY: {
                "cell_id": self.cell_id,
                "magic": self.magic,
                "append": self.append,
                "keep": self.keep,
                "stop_on_error": self.stop_on_error,
            }
        }
