"""What each run of a scheduled cell costs and sends, on a fake clock."""

from __future__ import annotations

from typing import Any

import pytest
from notebook_helpers import Notebook


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
    # the magic checks the cell's syntax once; the 20 runs reuse that compiled code
    assert [s.strip() for s in transformed].count(source) == 1
