"""A custom trigger class defined in a notebook cell, stored in a SQLite file, in a real kernel:
read back once its cell has run, never imported from what the file says."""

from __future__ import annotations

from pathlib import Path

import pytest
from kernel_helpers import Kernel

pytestmark = pytest.mark.slow

SETUP = """
from nbsched.abc import EventBroker
from nbsched.datastores.sqlite import SQLiteDataStore


class Events(EventBroker):
    def __init__(self):
        self.events = []
    def start(self): pass
    def stop(self, *, force=False): pass
    def publish(self, event): self.events.append(event)
    def publish_local(self, event): self.events.append(event)
    def subscribe(self, *args, **kwargs): raise NotImplementedError


events = Events()
store = SQLiteDataStore("custom.db")
store.start(events)
"""

DEFINE_TRIGGER = """
from datetime import datetime, timedelta, timezone
from nbsched.abc import Trigger


class EveryOtherMinute(Trigger):
    def __init__(self, start):
        self.at = start
    def next(self):
        self.at += timedelta(minutes=2)
        return self.at
    def __getstate__(self):
        return {"version": 1, "at": self.at.isoformat()}
    def __setstate__(self, state):
        self.at = datetime.fromisoformat(state["at"])
"""

ADD = """
from nbsched import ConflictPolicy, Schedule, Task

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
store.add_task(Task(id="t", func="os.path:join"))
store.add_schedule(
    Schedule(id="mine", task_id="t", trigger=EveryOtherMinute(T0), next_fire_time=T0),
    ConflictPolicy.exception,
)
"""

READ = """
found = store.get_schedules()
print("read:", [(s.id, type(s.trigger).__qualname__, s.trigger.next().isoformat()) for s in found])
print("failed:", [e.exception for e in events.events if "DeserializationFailed" in repr(e)])
"""


def printed(running: Kernel, msg_id: str) -> list[str]:
    return [text for parent, text in running.stream_texts() if parent == msg_id]


def test_a_trigger_class_defined_in_a_cell_is_read_back_once_the_cell_has_run(
    kernel: Kernel,
    tmp_path: Path,
) -> None:
    kernel.execute(SETUP)
    kernel.execute(DEFINE_TRIGGER)
    kernel.execute(ADD)
    out = "".join(printed(kernel, kernel.execute(READ)))
    assert "read: [('mine', 'EveryOtherMinute', '2026-01-01T00:02:00+00:00')]" in out
    assert "failed: []" in out

    kernel.restart()
    kernel.execute(SETUP)
    out = "".join(printed(kernel, kernel.execute(READ)))
    assert "read: []" in out
    assert "type \\'__main__:EveryOtherMinute\\': __main__ has no Trigger class" in out

    kernel.execute(DEFINE_TRIGGER)
    out = "".join(
        printed(kernel, kernel.execute(READ.replace("found =", "events.events.clear()\nfound =")))
    )
    assert "read: [('mine', 'EveryOtherMinute', '2026-01-01T00:02:00+00:00')]" in out
    assert "failed: []" in out
