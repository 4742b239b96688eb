"""Every non-ASCII character the notebook layer and the widgets can put on the page is one that
DejaVu Sans has: Debian's chromium (and many Linux desktops) fall back to it, and a glyph it
lacks (the status line once had "⏱") renders as an empty box."""

from __future__ import annotations

from pathlib import Path

import nbsched

PACKAGE = Path(nbsched.__file__).parent
SOURCES = [
    *sorted((PACKAGE / "notebook").glob("*.py")),
    *sorted((PACKAGE / "widgets").glob("*.py")),
    PACKAGE / "_chart.py",
    PACKAGE / "timelines.py",
]
# Checked with `fc-list :charset=<hex> family` against fonts-dejavu-core 2.37 (Debian 12):
# middle dot, em dash, ellipsis, check marks and ballot x's; the run history strip's shapes
# (black/white circle, dotted circle, black square, black up-pointing triangle, heavy x).
IN_DEJAVU_SANS = frozenset("·—…✓✔✗✘●○◌■▲✖")


def test_only_glyphs_that_dejavu_sans_has() -> None:
    found = {
        (path.relative_to(PACKAGE).as_posix(), char)
        for path in SOURCES
        for char in path.read_text(encoding="utf-8")
        if ord(char) > 127 and char not in IN_DEJAVU_SANS
    }
    assert not found, f"characters DejaVu Sans may lack (use plain text): {sorted(found)}"
