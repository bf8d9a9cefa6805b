"""Converting hub-method values between Python types and wire values.

Arguments arrive as plain JSON or MessagePack values; hub methods declare
what they want with annotations. ``adapter_for(annotation, flavor)`` builds
(and caches) a function that checks and converts one wire value, raising
``TypeError`` or ``ValueError`` on a mismatch, which the parser reports with
ASP.NET Core's "Error binding arguments..." text.

The two flavors differ only where the formats do: ``bytes`` is base64 text
in JSON and ``bin`` in MessagePack; ``datetime`` is an ISO 8601 string in
JSON and the timestamp extension (-1) in MessagePack.

Binding is deliberately strict, like System.Text.Json: ``1.5`` does not bind
to ``int`` and ``"1"`` does not bind to ``float``. Objects (attrs classes and
dataclasses) bind from maps whose keys match field names case-insensitively
with underscores ignored, so ``userName``, ``UserName`` and ``user_name`` all
fill ``user_name``; unknown keys are skipped.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import enum
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .base import NO_TYPE

__all__ = [
    "Flavor",
    "adapter_for",
    "json_default",
    "msgpack_default",
    "normalize_name",
    "type_display_name",
]

Adapter = Callable[[Any], Any]


class Flavor(enum.Enum):
    JSON = "json"
    MSGPACK = "messagepack"


def normalize_name(name: str) -> str:
    """Key used for case- and underscore-insensitive name matching."""
    return name.replace("_", "").lower()


def _identity(value: Any) -> Any:
    return value


_cache: dict[tuple[Any, Flavor], Adapter] = {}


def adapter_for(annotation: Any, flavor: Flavor) -> Adapter:
    key = (annotation, flavor)
    try:
        return _cache[key]
    except (KeyError, TypeError):
        pass
    adapter = _build(annotation, flavor)
    try:
        _cache[key] = adapter
    except TypeError:  # unhashable annotation: just don't cache
        pass
    return adapter


def type_display_name(annotation: Any) -> str:
    """A short name for error texts ("Error trying to deserialize result to int")."""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _build(tp: Any, flavor: Flavor) -> Adapter:
    if tp is NO_TYPE or tp is Any or tp is object:
        return _identity
    if tp is None or tp is type(None):
        return _expect_none
    if tp is str:
        return _expect_str
    if tp is bool:
        return _expect_bool
    if tp is int:
        return _expect_int
    if tp is float:
        return _expect_float
    if tp is bytes or tp is bytearray:
        return _bytes_from_json if flavor is Flavor.JSON else _bytes_from_msgpack
    if tp is _dt.datetime:
        return _datetime_from_json if flavor is Flavor.JSON else _datetime_from_msgpack
    if tp is uuid.UUID:
        return _uuid
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _union([_build(a, flavor) for a in typing.get_args(tp)], tp)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        return _literal(allowed)
    if tp is list or tp is Sequence or origin in (list, Sequence, tuple, set, frozenset):
        args = typing.get_args(tp)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            return _fixed_tuple([_build(a, flavor) for a in args])
        item = _build(args[0], flavor) if args else _identity
        container: Callable[[list[Any]], Any] = list
        if origin is tuple:
            container = tuple
        elif origin in (set, frozenset):
            container = origin
        return _sequence(item, container)
    if tp is dict or tp is Mapping or origin in (dict, Mapping):
        args = typing.get_args(tp)
        value = _build(args[1], flavor) if len(args) == 2 else _identity
        return _mapping(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp)
    if isinstance(tp, type) and (attrs.has(tp) or dataclasses.is_dataclass(tp)):
        return _object(tp, flavor)
    if isinstance(tp, type):
        return _instance_of(tp)
    return _identity


def _fail(expected: str, value: Any) -> typing.NoReturn:
    raise TypeError(f"expected {expected}, got {type(value).__name__}")


def _expect_none(value: Any) -> Any:
    if value is not None:
        _fail("null", value)
    return None


def _expect_str(value: Any) -> Any:
    if type(value) is not str:
        _fail("string", value)
    return value


def _expect_bool(value: Any) -> Any:
    if type(value) is not bool:
        _fail("boolean", value)
    return value


def _expect_int(value: Any) -> Any:
    if type(value) is not int:
        _fail("integer", value)
    return value


def _expect_float(value: Any) -> Any:
    t = type(value)
    if t is float:
        return value
    if t is int:
        return float(value)
    _fail("number", value)


def _bytes_from_json(value: Any) -> Any:
    if type(value) is not str:
        _fail("base64 string", value)
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64: {exc}") from None


def _bytes_from_msgpack(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    _fail("binary", value)


def _parse_iso(value: str) -> _dt.datetime:
    try:
        return _dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date and time: {value!r}") from None


def _datetime_from_json(value: Any) -> Any:
    if type(value) is not str:
        _fail("ISO 8601 string", value)
    return _parse_iso(value)


def _datetime_from_msgpack(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value
    if type(value) is str:
        return _parse_iso(value)
    _fail("timestamp", value)


def _uuid(value: Any) -> Any:
    if type(value) is not str:
        _fail("string", value)
    return uuid.UUID(value)


def _union(members: list[Adapter], tp: Any) -> Adapter:
    def convert(value: Any) -> Any:
        for member in members:
            try:
                return member(value)
            except (TypeError, ValueError):
                continue
        raise TypeError(f"{type(value).__name__} does not match {tp}")

    return convert


def _literal(allowed: tuple[Any, ...]) -> Adapter:
    def convert(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {allowed!r}")
        return value

    return convert


def _sequence(item: Adapter, container: Callable[[list[Any]], Any]) -> Adapter:
    def convert(value: Any) -> Any:
        if type(value) is not list:
            _fail("array", value)
        if item is _identity:
            return container(value)
        return container([item(v) for v in value])

    return convert


def _fixed_tuple(items: list[Adapter]) -> Adapter:
    def convert(value: Any) -> Any:
        if type(value) is not list or len(value) != len(items):
            _fail(f"array of {len(items)}", value)
        return tuple(a(v) for a, v in zip(items, value, strict=True))

    return convert


def _mapping(item: Adapter) -> Adapter:
    def convert(value: Any) -> Any:
        if type(value) is not dict:
            _fail("object", value)
        if item is _identity:
            return value
        return {k: item(v) for k, v in value.items()}

    return convert


def _enum(tp: type[enum.Enum]) -> Adapter:
    by_name = {normalize_name(m.name): m for m in tp}

    def convert(value: Any) -> Any:
        if type(value) is str:
            member = by_name.get(normalize_name(value))
            if member is not None:
                return member
        try:
            return tp(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid {tp.__name__}") from None

    return convert


def _instance_of(tp: type) -> Adapter:
    def convert(value: Any) -> Any:
        if not isinstance(value, tp):
            _fail(tp.__name__, value)
        return value

    return convert


def _object(tp: type, flavor: Flavor) -> Adapter:
    hints = typing.get_type_hints(tp)
    fields: dict[str, tuple[str, Adapter | None]] = {}
    required: set[str] = set()
    if attrs.has(tp):
        for f in attrs.fields(tp):
            if not f.init:
                continue
            init_name = f.alias or f.name
            if f.default is attrs.NOTHING:
                required.add(init_name)
            fields[normalize_name(f.name)] = (init_name, _lazy(hints.get(f.name, Any), flavor))
    else:
        for df in dataclasses.fields(tp):
            if not df.init:
                continue
            fields[normalize_name(df.name)] = (df.name, _lazy(hints.get(df.name, Any), flavor))
            if df.default is dataclasses.MISSING and df.default_factory is dataclasses.MISSING:
                required.add(df.name)

    def convert(value: Any) -> Any:
        if type(value) is not dict:
            _fail(f"object ({tp.__name__})", value)
        kwargs: dict[str, Any] = {}
        for key, raw in value.items():
            if type(key) is not str:
                continue
            entry = fields.get(normalize_name(key))
            if entry is None:
                continue
            name, adapter = entry
            kwargs[name] = adapter(raw) if adapter is not None else raw
        missing = required.difference(kwargs)
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))} for {tp.__name__}")
        return tp(**kwargs)

    return convert


def _lazy(tp: Any, flavor: Flavor) -> Adapter:
    """Defer building field adapters so self-referencing classes work."""
    built: list[Adapter] = []

    def convert(value: Any) -> Any:
        if not built:
            built.append(adapter_for(tp, flavor))
        return built[0](value)

    return convert


# ---------------------------------------------------------------- to the wire


def _object_to_map(o: Any) -> dict[str, Any] | None:
    if attrs.has(type(o)):
        return {f.name: getattr(o, f.name) for f in attrs.fields(type(o))}
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
    return None


def format_datetime(value: _dt.datetime) -> str:
    """ISO 8601 as .NET writes it: UTC as ``Z``, naive taken as UTC."""
    if value.tzinfo is None or value.utcoffset() == _dt.timedelta(0):
        return value.replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def json_default(o: Any) -> Any:
    """``json.dumps`` hook for the types hub methods may return or send."""
    if isinstance(o, bytes | bytearray | memoryview):
        return base64.b64encode(o).decode("ascii")
    if isinstance(o, _dt.datetime):
        return format_datetime(o)
    if isinstance(o, _dt.date | _dt.time):
        return o.isoformat()
    mapped = _object_to_map(o)
    if mapped is not None:
        return mapped
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, set | frozenset):
        return list(o)
    if isinstance(o, uuid.UUID):
        return str(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def msgpack_default(o: Any) -> Any:
    """``msgpack.packb`` hook; tz-aware datetimes are packed natively."""
    if isinstance(o, _dt.datetime):
        if o.tzinfo is None:
            return o.replace(tzinfo=_dt.UTC)
        raise TypeError("datetime already handled")  # pragma: no cover
    if isinstance(o, memoryview):
        return bytes(o)
    mapped = _object_to_map(o)
    if mapped is not None:
        return mapped
    if isinstance(o, enum.Enum):
        # .NET's SignalR resolver writes enums as their names in MessagePack.
        return o.name
    if isinstance(o, set | frozenset):
        return list(o)
    if isinstance(o, uuid.UUID):
        return str(o)
    if isinstance(o, _dt.date | _dt.time):
        return o.isoformat()
    raise TypeError(f"Object of type {type(o).__name__} is not MessagePack serializable")
