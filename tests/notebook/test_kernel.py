"""Real kernels through jupyter_client: where each scheduled run's output really goes.

nbclient keeps only the messages whose parent is the cell it is running, so background output
is invisible to it; these tests read iopub themselves. A run's output reaches its cell as
``comm_msg`` updates of the ``Output`` widget that the defining cell opened (a ``comm_open``
whose parent is that cell's execute request), so that is what they assert.

Each test runs on the newest ipykernel (this venv) and on the oldest that pyproject allows
(ipykernel 6.29, in ``.venv-kernel-min``; see ``.ci/run``). They use real time and take a few
seconds each.
"""

from __future__ import annotations

import json
import queue
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from jupyter_client import KernelManager

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MIN_PYTHON = ROOT / ".venv-kernel-min" / "bin" / "python"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
KERNELS = {
    "ipykernel-newest": Path(sys.executable),
    "ipykernel-6.29": MIN_PYTHON,
}


class Kernel:
    """A kernel and every iopub message it sent, in order."""

    def __init__(self, python: Path, cwd: Path):
        self.manager = KernelManager()
        self.manager.kernel_cmd = [
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


@pytest.fixture(params=list(KERNELS), ids=list(KERNELS))
def kernel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kernel]:
    python = KERNELS[request.param]
    if not python.exists():
        # never a skip: both ends of the supported ipykernel range must be tested
        pytest.fail(
            f"{python} does not exist; `bash scripts/setup.sh` creates it (or: python3 -m venv "
            f".venv-kernel-min && .venv-kernel-min/bin/pip install 'ipykernel==6.29.*' "
            f"'ipywidgets>=8.1' -e .)",
            pytrace=False,
        )
    started = Kernel(python, tmp_path)
    try:
        yield started
    finally:
        started.close()


def texts_of(outputs_updates: list[tuple[int, Any]]) -> list[str]:
    return ["".join(o.get("text", "") for o in outputs) for _index, outputs in outputs_updates]


def test_each_run_lands_in_its_own_cell_while_another_cell_runs(kernel: Kernel) -> None:
    kernel.execute("%load_ext nbsched")
    scheduled = kernel.execute(
        "%%every 1s --times 3\n_ticks = globals().get('_ticks', 0) + 1\nprint('tick', _ticks)"
    )
    # an async cell: it keeps executing for 2.5 s while letting the kernel loop run
    other = kernel.execute(
        "import asyncio\nprint('other starts')\nawait asyncio.sleep(2.5)\nprint('other ends')"
    )
    (output_widget,) = kernel.widgets_opened_by(scheduled, "OutputModel")
    kernel.wait_for(
        lambda: len(kernel.updates(output_widget, "outputs")) >= 3, timeout=10, what="3 runs"
    )
    kernel.pump(1.5)  # nothing more may come: --times 3

    updates = kernel.updates(output_widget, "outputs")
    assert texts_of(updates) == ["tick 1\n", "tick 2\n", "tick 3\n"]
    busy, idle = kernel.index_of_status(other, "busy"), kernel.index_of_status(other, "idle")
    during_other = [index for index, _outputs in updates if busy < index < idle]
    assert during_other, "no run happened while the other cell was executing"
    # no run printed into any cell's own output: the other cell got exactly its own text
    streams = kernel.stream_texts()
    assert all("tick" not in text for _parent, text in streams)
    assert "".join(text for parent, text in streams if parent == other) == (
        "other starts\nother ends\n"
    )


def test_a_raising_run_shows_its_traceback_in_its_cell_and_keeps_its_schedule(
    kernel: Kernel,
) -> None:
    kernel.execute("%load_ext nbsched")
    scheduled = kernel.execute(
        "%%every 1s --times 2 --append\n_n = globals().get('_n', 0) + 1\nprint('try', _n)\n"
        "raise ValueError(f'boom {_n}')"
    )
    (first_area,) = kernel.widgets_opened_by(scheduled, "OutputModel")
    kernel.wait_for(
        lambda: (
            sum(
                output["output_type"] == "error"
                for run in kernel.kept_runs(first_area)
                for output in run
            )
            == 2
        ),
        timeout=10,
        what="two failing runs",
    )
    runs = kernel.kept_runs(first_area)  # each run in an Output widget of its own
    final = [output for run in runs for output in run]
    assert [[o["output_type"] for o in run] for run in runs] == [["stream", "error"]] * 2
    assert [o.get("evalue") for o in final if o["output_type"] == "error"] == ["boom 1", "boom 2"]
    traceback = ANSI.sub("", "\n".join(final[1]["traceback"]))
    assert "raise ValueError(f'boom {_n}')" in traceback, traceback
    assert not [m for m in kernel.messages if m["msg_type"] == "error"]


def test_a_blocking_cell_delays_the_runs_and_the_lateness_is_shown(kernel: Kernel) -> None:
    kernel.execute("%load_ext nbsched")
    scheduled = kernel.execute("%%every 1s --times 1 --id late\nprint('finally')")
    kernel.execute("import time\ntime.sleep(3.5)")  # blocks the kernel past the fire time
    (output_widget,) = kernel.widgets_opened_by(scheduled, "OutputModel")
    kernel.wait_for(
        lambda: bool(kernel.updates(output_widget, "outputs")), timeout=10, what="the run"
    )

    def status_lines() -> list[str]:
        return [
            value
            for comm_id in kernel.widgets_opened_by(scheduled, "HTMLModel")
            for _index, value in kernel.updates(comm_id, "value")
        ]

    # the status line follows within STATUS_INTERVAL (updates are coalesced)
    kernel.wait_for(
        lambda: any(" late" in line for line in status_lines()), timeout=5, what="the lateness"
    )
    lateness = [
        float(match.group(1))
        for line in status_lines()
        if (match := re.search(r"started (\d+\.\d) s late", line))
    ]
    assert lateness, status_lines()
    assert 1.0 <= lateness[-1] < 5.0


def test_interrupt_kernel_stops_a_runaway_scheduled_cell(kernel: Kernel) -> None:
    kernel.execute("%load_ext nbsched")
    scheduled = kernel.execute(
        "%%every 1s --times 1 --id stuck\nimport time\nprint('sleeping')\ntime.sleep(60)"
    )
    (output_widget,) = kernel.widgets_opened_by(scheduled, "OutputModel")
    kernel.pump(2.0)  # the run has started and blocks the kernel
    kernel.manager.interrupt_kernel()
    alive = kernel.execute("print('alive')", timeout=10)
    assert [text for parent, text in kernel.stream_texts() if parent == alive] == ["alive\n"]
    final = kernel.updates(output_widget, "outputs")[-1][1]
    assert [(o["output_type"], o.get("text") or o.get("ename")) for o in final] == [
        ("stream", "sleeping\n"),
        ("error", "KeyboardInterrupt"),
    ]


def test_sched_pause_stops_the_runs(kernel: Kernel) -> None:
    kernel.execute("%load_ext nbsched")
    scheduled = kernel.execute(
        "%%every 0.5s --id pulse\n_p = globals().get('_p', 0) + 1\nprint('pulse', _p)"
    )
    (output_widget,) = kernel.widgets_opened_by(scheduled, "OutputModel")
    kernel.wait_for(
        lambda: len(kernel.updates(output_widget, "outputs")) >= 2, timeout=10, what="2 runs"
    )
    pause = kernel.execute("%sched pause pulse")
    (answer,) = kernel.widgets_opened_by(pause, "HTMLModel")
    kernel.wait_for(
        lambda: any(v == "paused &#x27;pulse&#x27;" for _i, v in kernel.updates(answer, "value")),
        timeout=10,
        what="the pause to be done",
    )
    paused_at = len(kernel.messages)
    kernel.pump(2.0)
    after = [index for index, _outputs in kernel.updates(output_widget, "outputs")]
    assert after and all(index < paused_at for index in after), "runs went on after the pause"


def test_the_dashboard_pause_button_stops_the_runs(kernel: Kernel) -> None:
    kernel.execute("%load_ext nbsched")
    scheduled = kernel.execute(
        "%%every 0.5s --id beat\n_b = globals().get('_b', 0) + 1\nprint('beat', _b)"
    )
    (output_widget,) = kernel.widgets_opened_by(scheduled, "OutputModel")
    kernel.execute("%sched")

    def pause_buttons() -> list[str]:
        return [
            m["content"]["comm_id"]
            for m in kernel.messages
            if m["msg_type"] == "comm_open"
            and m["content"]["data"]["state"].get("_model_name") == "ButtonModel"
            and m["content"]["data"]["state"].get("description") == "pause"
        ]

    kernel.wait_for(lambda: bool(pause_buttons()), timeout=10, what="the dashboard's row")
    kernel.wait_for(
        lambda: len(kernel.updates(output_widget, "outputs")) >= 2, timeout=10, what="2 runs"
    )
    (button,) = pause_buttons()
    # what a front end sends when the button is clicked
    click = kernel.client.session.msg(
        "comm_msg",
        {"comm_id": button, "data": {"method": "custom", "content": {"event": "click"}}},
    )
    kernel.client.shell_channel.send(click)
    kernel.wait_for(
        lambda: any(disabled for _i, disabled in kernel.updates(button, "disabled")),
        timeout=10,
        what="the pause button to be disabled (the schedule is paused)",
    )
    paused_at = len(kernel.messages)
    kernel.pump(2.0)
    runs = kernel.updates(output_widget, "outputs")
    assert runs and all(index < paused_at for index, _outputs in runs)
    next_fire_cells = [
        value
        for m in kernel.messages
        if m["msg_type"] == "comm_msg"
        for value in [m["content"]["data"].get("state", {}).get("value")]
        if value == "<i>paused</i>"
    ]
    assert next_fire_cells, "the row does not say 'paused'"


def test_a_sqlite_schedule_survives_a_kernel_restart(kernel: Kernel, tmp_path: Path) -> None:
    kernel.execute("%load_ext nbsched")
    store = kernel.execute("%sched store schedules.db")
    (answer,) = kernel.widgets_opened_by(store, "HTMLModel")
    expected = f"store: {tmp_path / 'schedules.db'}"
    kernel.wait_for(
        lambda: any(v == expected for _i, v in kernel.updates(answer, "value")),
        timeout=15,
        what="the store switch",
    )
    choice = json.loads((tmp_path / ".nbsched-store.json").read_text())
    assert list(choice["stores"].values()) == [str(tmp_path / "schedules.db")]
    kernel.execute("%%every 1s --id survivor\nimport os\nprint('alive in', os.getpid())")

    kernel.restart()
    loaded = kernel.execute("%load_ext nbsched")
    # the restored schedule's output area is made once the store has been read, just after
    # the cell returned, and shown inside the box that the cell displayed
    kernel.wait_for(
        lambda: bool(kernel.widgets_opened_by(loaded, "OutputModel")),
        timeout=10,
        what="the restored output area",
    )
    (restored,) = kernel.widgets_opened_by(loaded, "OutputModel")
    kernel.wait_for(
        lambda: bool(kernel.updates(restored, "outputs")), timeout=10, what="a restored run"
    )
    pid = kernel.execute("import os; print(os.getpid())")
    (own_pid,) = [text.strip() for parent, text in kernel.stream_texts() if parent == pid]
    runs = texts_of(kernel.updates(restored, "outputs"))
    assert runs[0] == f"alive in {own_pid}\n"
    status_lines = [
        value
        for comm_id in kernel.widgets_opened_by(loaded, "HTMLModel")
        for _index, value in kernel.updates(comm_id, "value")
    ]
    assert any("<code>survivor</code>" in line for line in status_lines)
