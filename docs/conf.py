"""Sphinx configuration for nbsched's documentation site (``sphinx-build -W docs docs/_build``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbsched

project = "nbsched"
author = "the nbsched developers"
copyright = "2026, the nbsched developers"
release = nbsched.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "myst_nb",
]

# The notebooks live in ../notebooks (they are run by the suite and by Binder from there);
# the site renders the copies made here, with their saved outputs, without executing them.
_here = Path(__file__).parent
_notebooks = _here / "notebooks"
_notebooks.mkdir(exist_ok=True)
for _source in sorted((_here.parent / "notebooks").glob("*.ipynb")):
    shutil.copyfile(_source, _notebooks / _source.name)

nb_execution_mode = "off"
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

exclude_patterns = ["_build", "images/*.md", "**/.ipynb_checkpoints"]
# the sections the site includes from README.md start at level 3 below the page title
suppress_warnings = ["myst.header"]
html_theme = "furo"
html_title = "nbsched"
html_static_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
