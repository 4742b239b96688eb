"""A JupyterLab server on localhost and Debian's chromium driven by playwright.

The server runs from this virtualenv on a free port with a random token, in a temporary folder
holding a copy of notebooks/, with its own Jupyter config, data-runtime and settings folders so
that nothing of the user's setup leaks in. The browser is the system's /usr/bin/chromium
(`apt-get install chromium`; `.ci/run` installs it); playwright never downloads one.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts" / "browser"


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"

    def front_end_url(self, front_end: str, name: str) -> str:
        """The notebook ``name`` opened in ``front_end`` ("lab" or "notebook7"); in JupyterLab
        in a workspace of its own, so no tab of an earlier test (whose kernel is shut down)
        opens beside it."""
        if front_end == "lab":
            workspace = name.removesuffix(".ipynb")
            return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?token={self.token}"
        return f"{self.url}/notebooks/{name}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer at {url} within 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    shutil.copytree(REPO / "notebooks", root)
    port = _free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    env.pop("NBSCHED_STORE", None)
    env.update(
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    # no "get notified about Jupyter news?" pop-up over the page
    notification = base / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    # open the notebook with its kernel, without a "Select Kernel" dialog (it shows up now and
    # then when the kernel takes long to start)
    tracker = base / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"autoStartDefaultKernel": true}')
    log = base / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--allow-root",  # CI containers run as root
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/api/status?token={token}", process, log)
        yield Lab(url=url, token=token, root=root, log=log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def own_kernels(lab: Lab) -> Iterator[None]:
    """Shut down every kernel of the server after the test (``usefixtures("own_kernels")``):
    no test leaves schedules ticking in a kernel for the next one."""
    from browser_helpers import shut_down_kernels

    yield
    shut_down_kernels(lab)


# Module scope: sync_playwright keeps an event loop set on this thread while it is open, which
# would break every async test that runs after it in the same process.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`, "
            f"or run scripts/setup.sh); playwright must not download a browser",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (test-artifacts/browser/, gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(browser: Any, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        try:
            if not page.is_closed():  # a test that closes the tab opens another one
                page.screenshot(
                    path=str(artifacts / f"{request.node.name}-last.png"), full_page=True
                )
        finally:
            context.close()
