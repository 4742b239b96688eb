"""Real kernels through jupyter_client, as the kernel tests use them (pytest puts this folder
on sys.path): :class:`Kernel` keeps every iopub message a kernel sent, in order.

Each kernel test runs on the newest ipykernel (this venv) and on the oldest that pyproject
allows (ipykernel 6.29, in ``.venv-kernel-min``); the ``kernel`` fixture (conftest.py) starts
one of each.
"""

from __future__ import annotations

import queue
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from jupyter_client import KernelManager

ROOT = Path(__file__).resolve().parents[2]
MIN_PYTHON = ROOT / ".venv-kernel-min" / "bin" / "python"
KERNELS = {
    "ipykernel-newest": Path(sys.executable),
    "ipykernel-6.29": MIN_PYTHON,
}


class Kernel:
    """A kernel and every iopub message it sent, in order."""

    def __init__(self, python: Path, cwd: Path):
        self.python = python
        self.manager = KernelManager()
        self.manager.kernel_cmd = [  # type: ignore[attr-defined]  # a traitlet, untyped
            str(python),
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ]
        self.manager.start_kernel(cwd=str(cwd))
        self._connect()
        self.messages: list[dict[str, Any]] = []

    def _connect(self) -> None:
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def restart(self) -> None:
        self.client.stop_channels()
        self.manager.restart_kernel(now=False)
        self._connect()
        self.messages.clear()

    def execute(self, code: str, *, wait: bool = True, timeout: float = 30) -> str:
        """Send ``code`` as a cell with its own ``cellId`` (as JupyterLab does); return the
        request's msg_id once the kernel is idle again (unless ``wait`` is False)."""
        message = self.client.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            metadata={"cellId": str(uuid4())},
        )
        self.client.shell_channel.send(message)
        msg_id = message["header"]["msg_id"]
        if wait:
            self.wait_for(lambda: self.is_idle(msg_id), timeout=timeout, what=f"cell {code!r}")
            self.raise_on_error(msg_id)
        return msg_id

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                self.messages.append(self.client.get_iopub_msg(timeout=min(left, 0.1)))
            except queue.Empty:
                pass

    def wait_for(self, condition: Callable[[], bool], *, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}; got {self.summary()}")
            self.pump(0.1)

    def is_idle(self, msg_id: str) -> bool:
        return any(
            m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
            and m["parent_header"].get("msg_id") == msg_id
            for m in self.messages
        )

    def raise_on_error(self, msg_id: str) -> None:
        for m in self.messages:
            if m["msg_type"] == "error" and m["parent_header"].get("msg_id") == msg_id:
                raise AssertionError("\n".join(m["content"]["traceback"]))

    def index_of_status(self, msg_id: str, state: str) -> int:
        for index, m in enumerate(self.messages):
            if (
                m["msg_type"] == "status"
                and m["content"]["execution_state"] == state
                and m["parent_header"].get("msg_id") == msg_id
            ):
                return index
        raise AssertionError(f"no {state} status for {msg_id}")

    def widgets_opened_by(self, msg_id: str, model_name: str) -> list[str]:
        return [
            m["content"]["comm_id"]
            for m in self.messages
            if m["msg_type"] == "comm_open"
            and m["parent_header"].get("msg_id") == msg_id
            and m["content"]["data"]["state"].get("_model_name") == model_name
        ]

    def updates(self, comm_id: str, key: str) -> list[tuple[int, Any]]:
        """(message index, new value) of every update of ``key`` on the widget ``comm_id``."""
        found = []
        for index, m in enumerate(self.messages):
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id:
                state = m["content"]["data"].get("state", {})
                if key in state:
                    found.append((index, state[key]))
        return found

    def latest(self, comm_id: str, key: str, default: Any = None) -> Any:
        """The last value of ``key`` the widget ``comm_id`` was opened with or set to."""
        value = default
        for m in self.messages:
            if m["msg_type"] in ("comm_open", "comm_msg") and m["content"]["comm_id"] == comm_id:
                state = m["content"]["data"].get("state", {})
                if key in state:
                    value = state[key]
        return value

    def kept_runs(self, first_area: str) -> list[list[dict[str, Any]]]:
        """The outputs of each run an ``--append`` cell shows, oldest first: the ``Output``
        widgets in the box that holds ``first_area`` (the one the defining cell opened),
        in their flex order."""
        reference = f"IPY_MODEL_{first_area}"
        boxes = [
            m["content"]["comm_id"]
            for m in self.messages
            if m["msg_type"] in ("comm_open", "comm_msg")
            and reference in (m["content"]["data"].get("state", {}).get("children") or ())
        ]
        children = self.latest(boxes[-1], "children", []) if boxes else [reference]
        areas = []
        for child in children:
            comm_id = child.removeprefix("IPY_MODEL_")
            outputs = self.latest(comm_id, "outputs")
            if outputs is None:  # the note above the runs (an HTML widget)
                continue
            layout = self.latest(comm_id, "layout", "").removeprefix("IPY_MODEL_")
            areas.append((int(self.latest(layout, "order", "0") or 0), outputs))
        return [outputs for _order, outputs in sorted(areas, key=lambda area: area[0]) if outputs]

    def stream_texts(self) -> list[tuple[str, str]]:
        return [
            (m["parent_header"].get("msg_id", ""), m["content"]["text"])
            for m in self.messages
            if m["msg_type"] == "stream"
        ]

    def summary(self) -> str:
        return "; ".join(
            f"{m['msg_type']}:{str(m['content'])[:80]}"
            for m in self.messages[-15:]
            if m["msg_type"] != "status"
        )

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
