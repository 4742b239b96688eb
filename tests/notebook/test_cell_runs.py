"""What each run of a scheduled cell costs and sends, on a fake clock."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from notebook_helpers import Notebook
from notebook_helpers import capture_display as _capture_display


@pytest.mark.anyio
async def test_a_cell_is_compiled_once_not_on_every_run(
    notebook: Notebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = notebook.shell
    transformed: list[str] = []
    original = shell.transform_cell

    def counting_transform(source: str) -> Any:
        transformed.append(source)
        return original(source)

    monkeypatch.setattr(shell, "transform_cell", counting_transform)
    source = "_once = globals().get('_once', 0) + 1"
    notebook.cell(f"%%every 10s --id once\n{source}")
    await notebook.settle()
    for _ in range(20):
        await notebook.advance(10)
    assert shell.user_ns["_once"] == 20
    # compiled when the magic checks it and for the first run (whose tracebacks name the
    # cell); the other 19 runs reuse that code
    assert [s.strip() for s in transformed].count(source) <= 2


@pytest.mark.anyio
async def test_append_sends_only_the_new_run_and_keeps_the_last_n(notebook: Notebook) -> None:
    notebook.cell(
        "%%every 10s --id log --append --keep 3\n_n = globals().get('_n', 0) + 1\nprint('run', _n)"
    )
    await notebook.settle()
    route = notebook.holder.outputs["log"]
    sent: list[tuple[Any, ...]] = []
    watched: set[int] = set()

    def watch_areas() -> None:
        for area in route.widget.children[1].children:
            if id(area) not in watched and hasattr(area, "outputs"):
                watched.add(id(area))
                area.observe(lambda change: sent.append(change["new"]), "outputs")

    for _ in range(5):
        watch_areas()
        await notebook.advance(10)
    # every update carries one run's output (the first area was watched from the start; the
    # second and third were made during runs 2 and 3; runs 4 and 5 reused the first two)
    assert [tuple(o["text"] for o in outputs) for outputs in sent] == [
        ("run 1\n",),
        ("run 4\n",),
        ("run 5\n",),
    ]
    assert notebook.texts("log") == "run 3\nrun 4\nrun 5\n"
    kept = route.kept
    assert kept is not None and kept.note is not None
    assert "the last 3 are kept" in kept.note.value
    # three areas in all, reused in turn; the box lists the note and those three
    areas = [child for child in kept.box.children if child is not kept.note]
    assert len(areas) == 3
    order = sorted(areas, key=lambda area: int(area.layout.order))
    assert [area.outputs[0]["text"] for area in order] == ["run 3\n", "run 4\n", "run 5\n"]
    assert int(kept.note.layout.order) < int(order[0].layout.order)


@pytest.mark.anyio
async def test_a_silent_append_run_takes_no_area(notebook: Notebook) -> None:
    notebook.cell(
        "%%every 10s --id sometimes --append --keep 2\n"
        "_m = globals().get('_m', 0) + 1\n"
        "if _m % 2: print('odd', _m)"
    )
    await notebook.settle()
    for _ in range(6):
        await notebook.advance(10)
    assert notebook.texts("sometimes") == "odd 3\nodd 5\n"


def test_keep_must_be_a_positive_number() -> None:
    from nbsched.notebook._kept_runs import KeptRuns

    with pytest.raises(ValueError, match="keep: expected a positive int, got 0"):
        KeptRuns(0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--append --keep 0", "UsageError: --keep: must be at least 1, got 0"),
        ("--keep 5", "UsageError: --keep: only with --append"),
    ],
)
@pytest.mark.anyio
async def test_keep_option_is_checked(
    notebook: Notebook, capsys: pytest.CaptureFixture[str], options: str, message: str
) -> None:
    result = notebook.cell(f"%%every 10s --id bad {options}\nprint(1)")
    await notebook.settle()
    assert not result.success
    assert capsys.readouterr().err.strip().startswith(message)
    assert await notebook.schedule_ids() == []


@pytest.mark.parametrize(("stored", "kept"), [(3, 3), (None, 20), (0, 20), (True, 20), ("5", 20)])
def test_a_restored_append_cell_keeps_its_stored_keep_or_the_default(
    stored: object, kept: int
) -> None:
    from nbsched.notebook._kept_runs import stored_keep

    assert stored_keep(stored) == kept


@pytest.mark.anyio
async def test_a_fire_does_not_reread_its_schedule_but_a_pause_does(
    notebook: Notebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each fire updates the schedule (its next fire time); only other updates (a pause, a
    # resume, a new definition, here or in another kernel) need the schedule read again for
    # the status line: a read on every run was a tenth of a scheduled cell's cost
    notebook.cell("%%every 10s --id steady\nx = 1", cell_id="c1")
    await notebook.settle()
    scheduler = notebook.holder.scheduler
    reads: list[str] = []
    original = scheduler.get_schedule

    async def counting_get_schedule(schedule_id: str) -> object:
        reads.append(schedule_id)
        return await original(schedule_id)

    monkeypatch.setattr(scheduler, "get_schedule", counting_get_schedule)
    for _ in range(3):
        await notebook.advance(10)
    status = _plain(notebook.holder.outputs["steady"].status.value)
    assert "3 runs" in status and "next 10:00:40" in status, status
    assert reads == []
    _capture_display(notebook, "%sched pause steady")
    await notebook.settle()
    assert set(reads) == {"steady"}  # read again (by the magic too)
    assert "paused" in _plain(notebook.holder.outputs["steady"].status.value)


@pytest.mark.anyio
async def test_a_run_can_be_interrupted_and_the_kernels_sigint_handler_comes_back(
    notebook: Notebook,
) -> None:
    import signal

    def kernels_handler(signum: int, frame: object) -> None:  # what ipykernel has when idle
        raise AssertionError("not while a scheduled cell runs")

    previous = signal.signal(signal.SIGINT, kernels_handler)
    try:
        notebook.cell(
            "%%every 10s --id sig\nimport signal\n_during = signal.getsignal(signal.SIGINT)"
        )
        await notebook.settle()
        await notebook.advance(10)
        assert notebook.shell.user_ns["_during"] is signal.default_int_handler
        assert signal.getsignal(signal.SIGINT) is kernels_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def _plain(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", value))
