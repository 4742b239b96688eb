"""stored_class remembers the classes it found (a store reads a trigger type on every fire), and
what it remembers never outlives the module or the name it was found under."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from nbsched._marshalling import UnknownStoredType, stored_class, trigger_from_state
from nbsched.abc import Trigger

MODULE = "nbsched_test_memo_module"
REF = f"{MODULE}:Stored"


def trigger_class(answer: int) -> type[Trigger]:
    class Stored(Trigger):
        def next(self) -> datetime | None:
            return None

        def __getstate__(self) -> Any:
            return {"answer": answer}

        def __setstate__(self, state: Any) -> None:
            self.answer = answer

    Stored.__module__ = MODULE
    return Stored


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    module = types.ModuleType(MODULE)
    module.Stored = trigger_class(1)  # type: ignore[attr-defined]
    sys.modules[MODULE] = module
    yield module
    sys.modules.pop(MODULE, None)


def test_a_class_found_once_is_found_again(module: types.ModuleType) -> None:
    assert stored_class(REF, Trigger) is module.Stored
    assert stored_class(REF, Trigger) is module.Stored
    restored = trigger_from_state({"type": REF, "state": {}})
    assert type(restored) is module.Stored


def test_a_module_gone_from_sys_modules_is_not_remembered(module: types.ModuleType) -> None:
    stored_class(REF, Trigger)
    del sys.modules[MODULE]
    with pytest.raises(UnknownStoredType, match="is not imported in this process"):
        stored_class(REF, Trigger)


def test_a_reimported_module_gives_its_new_class(module: types.ModuleType) -> None:
    stored_class(REF, Trigger)
    again = types.ModuleType(MODULE)
    again.Stored = trigger_class(2)  # type: ignore[attr-defined]
    sys.modules[MODULE] = again
    assert stored_class(REF, Trigger) is again.Stored


def test_a_name_rebound_or_deleted_in_the_module_is_looked_up_again(
    module: types.ModuleType,
) -> None:
    first = stored_class(REF, Trigger)
    module.Stored = trigger_class(3)  # type: ignore[attr-defined]
    assert stored_class(REF, Trigger) is module.Stored is not first
    del module.Stored  # type: ignore[attr-defined]
    with pytest.raises(UnknownStoredType, match="has no Trigger class named 'Stored'"):
        stored_class(REF, Trigger)


def test_the_base_class_is_part_of_what_is_remembered(module: types.ModuleType) -> None:
    stored_class(REF, Trigger)
    with pytest.raises(UnknownStoredType, match="exception class"):
        stored_class(REF, BaseException)
