"""private_copy: what copy.deepcopy would give, without its machinery for plain arguments."""

from __future__ import annotations

from typing import Any

import pytest

from nbsched._copiers import private_copy


class Text(str):
    """A str subclass: its instances may carry state of their own."""


def test_a_tuple_of_strings_and_numbers_is_returned_as_it_is() -> None:
    args = ("a", 1, 2.5, True, None, b"x")
    assert private_copy(args) is args


def test_a_dict_of_strings_and_numbers_is_a_new_dict_with_the_same_items() -> None:
    kwargs = {"source": "x = 1", "schedule_id": "quiet", "n": 3}
    copied = private_copy(kwargs)
    assert copied == kwargs and copied is not kwargs
    kwargs["added"] = 1
    assert "added" not in copied


@pytest.mark.parametrize(
    "value",
    [
        ("a", [1, 2]),
        {"k": [1, 2]},
        {"k": {"nested": 1}},
        {("tuple", "key"): 1},
        ("a", Text("b")),
        [1, 2],
    ],
    ids=repr,
)
def test_anything_mutable_or_nested_is_copied_deeply(value: Any) -> None:
    copied = private_copy(value)
    assert copied == value and copied is not value
    for original, mine in _containers(value, copied):
        assert mine is not original, (original, mine)


def _containers(original: Any, copied: Any) -> list[tuple[Any, Any]]:
    """The pairs of mutable things (lists, dicts, str subclasses) at the same place."""
    if isinstance(original, dict):
        return [(original, copied)] + [
            pair for key in original for pair in _containers(original[key], copied[key])
        ]
    if isinstance(original, (list, tuple)):
        found = [(original, copied)] if isinstance(original, list) else []
        return found + [
            pair for a, b in zip(original, copied, strict=True) for pair in _containers(a, b)
        ]
    if type(original) is Text:
        return [(original, copied)]
    return []
