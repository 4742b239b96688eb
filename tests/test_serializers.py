from __future__ import annotations

import pickle
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from trigger_samples import SAMPLES, START, take

from nbsched import DeserializationError, SerializationError
from nbsched.serializers import JSONSerializer, PickleSerializer
from nbsched.serializers.json import UnresolvedException
from nbsched.triggers import IntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")


class Color(Enum):
    red = 1


class CustomError(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        raise AssertionError("__init__ must not run on stored data")  # pragma: no cover


VALUES = [
    None,
    True,
    0,
    -(2**70),
    1.5,
    "text with ünïcode",
    [1, "a", None],
    {"a": 1, "b": [2, 3]},
    (1, 2, (3, "x")),
    {1, 2, 3},
    frozenset({"a"}),
    {1: "int key", (2, 3): "tuple key"},
    {"__nbsched__": "user data that looks like a tag"},
    datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN),
    datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1),
    datetime(2026, 1, 1, tzinfo=timezone.utc),
    datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 1, 1, 12, 0, 0, 123456),
    date(2026, 2, 28),
    time(23, 59, 59, 999999),
    timedelta(days=-1, seconds=5, microseconds=7),
    Decimal("3.14159265358979323846264338327950288"),
    UUID("12345678-1234-5678-1234-567812345678"),
    b"\x00\xffbinary",
    {"nested": [(Decimal("1.1"), {b"k": date(2000, 1, 1)})]},
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("serializer", [JSONSerializer(), PickleSerializer()], ids=repr)
def test_round_trip(serializer, value):
    data = serializer.serialize(value)
    assert isinstance(data, bytes)
    restored = serializer.deserialize(data)
    assert restored == value
    assert type(restored) is type(value)


def test_json_keeps_zone_and_fold():
    value = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1)
    restored = JSONSerializer().deserialize(JSONSerializer().serialize(value))
    assert restored.tzinfo == BERLIN
    assert restored.fold == 1
    assert restored.utcoffset() == timedelta(hours=1)


def test_json_nested_types_keep_their_types():
    value = {"t": (1, [2, (3,)]), "s": {frozenset({1})}}
    restored = JSONSerializer().deserialize(JSONSerializer().serialize(value))
    assert restored == value
    assert type(restored["t"][1][1]) is tuple


def test_json_output_is_plain_json():
    import json

    data = JSONSerializer().serialize({"when": date(2026, 1, 2), "n": 3})
    assert json.loads(data) == {"when": {"__nbsched__": "date", "v": "2026-01-02"}, "n": 3}


@pytest.mark.parametrize(
    "value, fragment",
    [
        (lambda: None, "function"),
        (object(), "object"),
        (Color.red, "enum member"),
        ({"a": [1, object()]}, "value['a'][1]"),
    ],
)
def test_json_refuses_unsupported_values(value, fragment):
    with pytest.raises(SerializationError, match="cannot serialize") as exc_info:
        JSONSerializer().serialize(value)
    assert fragment in str(exc_info.value)


def test_json_refuses_circular_value():
    value: list = []
    value.append(value)
    with pytest.raises(SerializationError, match="nested too deeply"):
        JSONSerializer().serialize(value)


def test_json_exception_round_trip_does_not_run_init():
    exc = ValueError("bad", 3)
    restored = JSONSerializer().deserialize(JSONSerializer().serialize(exc))
    assert type(restored) is ValueError
    assert restored.args == ("bad", 3)

    custom = CustomError.__new__(CustomError, 42)
    restored = JSONSerializer().deserialize(JSONSerializer().serialize(custom))
    assert type(restored) is CustomError
    assert restored.args == (42,)


def test_json_exception_with_missing_class():
    data = (
        b'{"__nbsched__":"exception","v":"no_such_module_xyz:Gone","args":["x"],'
        b'"message":"it broke"}'
    )
    restored = JSONSerializer().deserialize(data)
    assert isinstance(restored, UnresolvedException)
    assert restored.type_ref == "no_such_module_xyz:Gone"
    assert "it broke" in str(restored)


@pytest.mark.parametrize(
    "data",
    [
        b"{not json",
        b'{"__nbsched__":"martian","v":1}',
        b'{"__nbsched__":"uuid","v":"nope"}',
        b"\xff",
    ],
)
def test_json_bad_input(data):
    with pytest.raises(DeserializationError):
        JSONSerializer().deserialize(data)


def test_pickle_errors():
    with pytest.raises(SerializationError, match="cannot pickle function"):
        PickleSerializer().serialize(lambda: None)
    with pytest.raises(DeserializationError, match="cannot unpickle"):
        PickleSerializer().deserialize(b"garbage")
    with pytest.raises(ValueError, match="protocol: 99"):
        PickleSerializer(99)
    assert PickleSerializer(2).serialize(1) == pickle.dumps(1, protocol=2)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_json_trigger_round_trip_continues_its_fire_times(name: str) -> None:
    # APScheduler 4's JSON serializer carries triggers (its trigger tests round-trip every
    # trigger through it); a half-used trigger must go on with the same fire times.
    trigger, reference = SAMPLES[name](), SAMPLES[name]()
    assert take(trigger, 3) == take(reference, 3)
    restored = JSONSerializer().deserialize(JSONSerializer().serialize(trigger))
    assert type(restored) is type(trigger)
    assert restored == trigger  # the same state
    from_restored, expected = take(restored, 30), take(reference, 30)
    assert from_restored == expected
    assert [t and t.utcoffset() for t in from_restored] == [t and t.utcoffset() for t in expected]


def test_json_trigger_inside_other_values() -> None:
    value = {"every": IntervalTrigger(minutes=5, start_time=START), "n": (1, 2)}
    restored = JSONSerializer().deserialize(JSONSerializer().serialize(value))
    assert restored == value
    assert type(restored["n"]) is tuple


def test_json_trigger_of_a_module_not_loaded_is_refused() -> None:
    data = b'{"__nbsched__":"trigger","v":{"type":"no_such_module_xyz:Trigger","state":{}}}'
    with pytest.raises(DeserializationError, match="no_such_module_xyz"):
        JSONSerializer().deserialize(data)


def test_json_trigger_with_bad_state_is_refused() -> None:
    data = (
        b'{"__nbsched__":"trigger","v":{"type":"nbsched.triggers.interval:IntervalTrigger",'
        b'"state":{"version":1}}}'
    )
    with pytest.raises(DeserializationError, match="IntervalTrigger"):
        JSONSerializer().deserialize(data)
