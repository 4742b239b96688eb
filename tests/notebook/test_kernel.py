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
import re
from pathlib import Path
from typing import Any

import pytest
from kernel_helpers import Kernel

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
        timeout=30,  # a fresh kernel reading the store while pandas loads beside it: on a
        what="the restored output area",  # loaded 2-core machine this took over 10 s once
    )
    (restored,) = kernel.widgets_opened_by(loaded, "OutputModel")
    kernel.wait_for(
        lambda: bool(kernel.updates(restored, "outputs")), timeout=30, what="a restored run"
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
