"""scripts/demo.sh run for real in a copy of the repository, with logging stand-ins for the
programs it calls (python, pip, jupyter): what it builds and which notebook it opens."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

STAND_IN = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CALLS"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
fi
exit 0
"""


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "scripts", copy / "scripts")
    shutil.copytree(REPO / "notebooks", copy / "notebooks", ignore=shutil.ignore_patterns(".*"))
    (copy / ".venv" / "bin").mkdir(parents=True)
    for name in ("python", "jupyter"):
        program = copy / ".venv" / "bin" / name
        program.write_text(STAND_IN)
        program.chmod(0o755)
    python3 = tmp_path / "python3"
    python3.write_text(STAND_IN)
    python3.chmod(0o755)
    return copy


def run_demo(repo: Path) -> list[str]:
    calls = repo.parent / "calls.log"
    env = dict(os.environ, CALLS=str(calls), PYTHON=str(repo.parent / "python3"))
    subprocess.run(["bash", "scripts/demo.sh", "--no-browser"], cwd=repo, env=env, check=True)
    return calls.read_text().splitlines()


def test_demo_builds_only_what_the_demo_needs(repo_copy: Path) -> None:
    calls = run_demo(repo_copy)
    assert not (repo_copy / ".venv-kernel-min").exists()
    assert [call for call in calls if "kernel-min" in call or "ipykernel==" in call] == []
    assert "python -m pip install -q -e .[dev]" in calls


def test_demo_opens_a_copy_so_running_it_leaves_the_tracked_notebooks_alone(
    repo_copy: Path,
) -> None:
    before = {p.name: p.read_bytes() for p in (repo_copy / "notebooks").iterdir()}
    calls = run_demo(repo_copy)
    (lab,) = [call for call in calls if call.startswith("jupyter ")]
    opened = Path(lab.split()[2])
    assert opened.name == "01-quickstart.ipynb"
    assert opened.parent.name != "notebooks", lab  # JupyterLab saves into what it opens
    assert (repo_copy / opened).read_bytes() == before["01-quickstart.ipynb"]
    assert lab.endswith("--no-browser")
    # a user's runs (saved outputs, checkpoints) stay in the copy, which git ignores
    for path in (REPO / opened, REPO / "notebooks" / ".ipynb_checkpoints" / "x-checkpoint"):
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO)
        assert ignored.returncode == 0, f"{path} is not ignored by git"
    assert {p.name: p.read_bytes() for p in (repo_copy / "notebooks").iterdir()} == before
