"""Tell the front ends that the kernel is busy while a scheduled cell runs.

A scheduled cell runs on the kernel's thread between the requests the kernel handles, so the
kernel publishes no ``status: busy`` for it: JupyterLab's and Notebook 7's kernel indicator say
"Idle" while the kernel cannot run anything else. ipykernel publishes ``busy`` and ``idle`` on
IOPub around each request it handles (``Kernel._publish_status``, with the request as the
parent); we publish the same message around a scheduled run, with no parent: front ends set
the kernel's status from any IOPub ``status`` message, and a client waiting for the ``idle``
of its own request (nbclient, ``execute_interactive``) matches on the parent and ignores ours.

Not published when a request is being handled anyway (a scheduled run during a cell's
``await``: the kernel is busy already, and our ``idle`` would end that too early), nor outside
ipykernel.
"""

from __future__ import annotations

from typing import Any

__all__ = ["publish_status"]


def publish_status(shell: Any, state: str) -> bool:
    """Publish ``status: state`` ("busy" or "idle") on the kernel's IOPub channel, with no
    parent; return whether it was published."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return False
    session = getattr(kernel, "session", None)
    iopub = getattr(kernel, "iopub_socket", None)
    if session is None or iopub is None:
        return False
    displayhook = getattr(shell, "displayhook", None)
    if getattr(displayhook, "exec_result", None) is not None:  # a cell is executing
        return False
    topic = kernel._topic("status") if hasattr(kernel, "_topic") else None
    session.send(iopub, "status", {"execution_state": state}, parent=None, ident=topic)
    return True
