"""Shared helpers for the protocol unit tests: a table-driven binder and the
test payloads used by the ASP.NET Core protocol vectors
(/work/shared/reference/protocol-vectors.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from protocol_tests.client import mp_frame
from pysignalr_server.errors import HubException
from pysignalr_server.protocol import (
    NO_TYPE,
    HubMessage,
    InvocationMessage,
    StreamInvocationMessage,
)

__all__ = [
    "TEST_HEADERS",
    "CUSTOM_DATETIME",
    "CUSTOM_BYTES",
    "TableBinder",
    "binder_for",
    "custom_object",
    "CustomObject",
    "CustomObjectDC",
    "EXPECTED_CUSTOM_OBJECT",
    "TestEnum",
    "frame",
]

# TestHeaders of both .NET suites, in insertion order.
TEST_HEADERS: dict[str, str] = {
    "Foo": "Bar",
    "KeyWith\nNew\r\nLines": "Still Works",
    "ValueWithNewLines": "Also\nWorks\r\nFine",
}

CUSTOM_DATETIME = dt.datetime(2017, 4, 11, tzinfo=dt.UTC)
CUSTOM_BYTES = b"\x01\x02\x03"

# The four fields that are always written, in the .NET declaration order.
_CUSTOM_FIELDS: list[tuple[str, Any]] = [
    ("StringProp", "SignalR!"),
    ("DoubleProp", 6.2831853071),
    ("IntProp", 42),
    ("DateTimeProp", CUSTOM_DATETIME),
    ("NullProp", None),
    ("ByteArrProp", CUSTOM_BYTES),
]


def custom_object(*, camel: bool, include_null: bool = True, json_wire: bool = False) -> dict[str, Any]:
    """The .NET ``CustomObject`` as a Python map with the vector's key order.

    ``camel`` selects ``stringProp`` over ``StringProp``; ``include_null=False``
    is the "ignore null" variant (no NullProp key). ``json_wire=True`` gives the
    values as a JSON parser returns them without a target type (the datetime
    as an ISO string and the bytes as base64).
    """
    out: dict[str, Any] = {}
    for name, value in _CUSTOM_FIELDS:
        if name == "NullProp" and not include_null:
            continue
        if json_wire and name == "DateTimeProp":
            value = "2017-04-11T00:00:00Z"
        if json_wire and name == "ByteArrProp":
            value = "AQID"
        out[name[0].lower() + name[1:] if camel else name] = value
    return out


@attrs.frozen
class CustomObject:
    """attrs version of the .NET CustomObject with snake_case fields."""

    string_prop: str
    double_prop: float
    int_prop: int
    date_time_prop: dt.datetime
    byte_arr_prop: bytes
    null_prop: str | None = None


@dataclasses.dataclass(frozen=True)
class CustomObjectDC:
    """dataclass version of the .NET CustomObject with snake_case fields."""

    string_prop: str
    double_prop: float
    int_prop: int
    date_time_prop: dt.datetime
    byte_arr_prop: bytes
    null_prop: str | None = None


EXPECTED_CUSTOM_OBJECT = CustomObject("SignalR!", 6.2831853071, 42, CUSTOM_DATETIME, CUSTOM_BYTES, None)


class TestEnum(enum.Enum):
    """Mirrors the .NET ``enum TestEnum { Zero, One }``: member names differ
    from their (integer) values, so writing by name is observable."""

    __test__ = False  # not a pytest test class

    Zero = 0
    One = 1


class TableBinder:
    """An ``InvocationBinder`` driven by tables.

    ``params`` maps a target to its parameter types; unknown targets get
    ``default_params`` or, when that is None, ``HubException("Method does not
    exist.")``. Return and stream-item types come from their tables and fall
    back to ``NO_TYPE`` (keep the value as parsed) unless other defaults are
    given.
    """

    def __init__(
        self,
        params: Mapping[str, Iterable[Any]] | None = None,
        *,
        default_params: Iterable[Any] | None = None,
        return_types: Mapping[str, Any] | None = None,
        default_return: Any = NO_TYPE,
        stream_item_types: Mapping[str, Any] | None = None,
        default_stream_item: Any = NO_TYPE,
    ) -> None:
        self.params = {k: list(v) for k, v in (params or {}).items()}
        self.default_params = None if default_params is None else list(default_params)
        self.return_types = dict(return_types or {})
        self.default_return = default_return
        self.stream_item_types = dict(stream_item_types or {})
        self.default_stream_item = default_stream_item

    def get_parameter_types(self, target: str) -> list[Any]:
        if target in self.params:
            return list(self.params[target])
        if self.default_params is None:
            raise HubException("Method does not exist.")
        return list(self.default_params)

    def get_return_type(self, invocation_id: str) -> Any:
        return self.return_types.get(invocation_id, self.default_return)

    def get_stream_item_type(self, stream_id: str) -> Any:
        return self.stream_item_types.get(stream_id, self.default_stream_item)


def binder_for(message: HubMessage) -> TableBinder:
    """A binder that keeps every value of ``message`` as parsed (``NO_TYPE``),
    with the parameter count ``message`` has."""
    if isinstance(message, InvocationMessage | StreamInvocationMessage):
        return TableBinder({message.target: [NO_TYPE] * len(message.arguments)})
    return TableBinder()


def frame(body: bytes) -> bytes:
    """MessagePack framing written independently of the code under test
    (the black-box suite's own varint)."""
    return mp_frame(body)
