"""The bounded registry of shared trigger specs."""

from __future__ import annotations

import threading

from nbsched.triggers._registry import SpecRegistry


def test_the_first_spec_registered_for_a_key_is_the_one_shared() -> None:
    registry: SpecRegistry[str, object] = SpecRegistry(limit=10)
    first, second = object(), object()
    assert registry.add("k", first) is first
    assert registry.add("k", second) is first
    assert registry.get("k") is first and registry.get("other") is None


def test_past_the_limit_the_oldest_key_goes() -> None:
    registry: SpecRegistry[int, str] = SpecRegistry(limit=3)
    for key in range(5):
        registry.add(key, f"spec {key}")
    assert len(registry) == 3
    assert [registry.get(key) for key in range(5)] == [None, None, "spec 2", "spec 3", "spec 4"]


def test_threads_adding_one_key_share_one_spec() -> None:
    registry: SpecRegistry[str, object] = SpecRegistry()
    got: list[object] = []
    start = threading.Barrier(8)

    def add() -> None:
        start.wait()
        got.append(registry.add("k", object()))

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8 and all(spec is got[0] for spec in got)
