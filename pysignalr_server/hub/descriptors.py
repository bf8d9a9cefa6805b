"""Discovering a hub's callable methods and their parameter types.

Built once per Hub subclass when it is added. Only public functions defined
on the subclass (or its own bases below ``Hub``) are callable; names that
start with an underscore, lifecycle hooks and anything on ``Hub`` itself are
not.
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from collections.abc import Callable
from typing import Any

import attrs

from ..auth import AuthPolicy, policy_of
from ..protocol.conversion import normalize_name
from .hub import HUB_METHOD_NAME_ATTR, Hub
from .streams import CancellationToken

__all__ = ["HubMethodDescriptor", "build_method_table"]

_RESERVED = {"on_connected", "on_disconnected", "context", "clients", "groups"}


@attrs.frozen(slots=True)
class HubMethodDescriptor:
    name: str
    """The name clients use (Python name or the ``hub_method`` name)."""
    func: Callable[..., Any]
    parameter_types: list[Any]
    """Types of the parameters bound from ``arguments`` (streams excluded)."""
    stream_parameters: list[tuple[int, Any]]
    """(position, item type) of ``AsyncIterator[T]`` upload parameters."""
    return_type: Any
    is_streaming: bool
    """An async generator, or annotated to return an async iterator."""
    plan: tuple[tuple[str, int], ...] = ()
    """How to build the call: ("arg", i) takes bound argument i, ("stream", i)
    upload stream i, ("token", 0) the invocation's CancellationToken."""
    wants_token: bool = False
    policy: AuthPolicy | None = None
    """``@authorize`` on the method (the hub's own policy is checked at connect)."""


def _stream_item_type(annotation: Any) -> Any | None:
    origin = typing.get_origin(annotation)
    if origin in (
        collections.abc.AsyncIterator,
        collections.abc.AsyncIterable,
        collections.abc.AsyncGenerator,
    ):
        args = typing.get_args(annotation)
        return args[0] if args else Any
    return None


def _describe(name: str, func: Callable[..., Any]) -> HubMethodDescriptor:
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:
        raise TypeError(f"Cannot resolve the annotations of hub method {name!r}: {exc}") from exc
    signature = inspect.signature(func)
    params = list(signature.parameters.values())[1:]  # drop self
    types: list[Any] = []
    streams: list[tuple[int, Any]] = []
    plan: list[tuple[str, int]] = []
    wants_token = False
    for position, p in enumerate(params):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"Hub method {name!r}: *args and **kwargs cannot be bound")
        if p.kind is p.KEYWORD_ONLY:
            if p.default is p.empty:
                raise TypeError(f"Hub method {name!r}: keyword-only parameter {p.name!r} needs a default")
            continue
        annotation = hints.get(p.name, Any)
        if annotation is CancellationToken:
            plan.append(("token", 0))
            wants_token = True
            continue
        item = _stream_item_type(annotation)
        if item is not None:
            plan.append(("stream", len(streams)))
            streams.append((position, item))
        else:
            plan.append(("arg", len(types)))
            types.append(annotation)
    return_type = hints.get("return", Any)
    is_streaming = inspect.isasyncgenfunction(func) or _stream_item_type(return_type) is not None
    return HubMethodDescriptor(
        name, func, types, streams, return_type, is_streaming, tuple(plan), wants_token, policy_of(func)
    )


def build_method_table(hub_class: type[Hub]) -> dict[str, HubMethodDescriptor]:
    """Map normalized client target -> descriptor for ``hub_class``."""
    if not (isinstance(hub_class, type) and issubclass(hub_class, Hub)):
        raise TypeError(f"{hub_class!r} is not a Hub subclass")
    table: dict[str, HubMethodDescriptor] = {}
    seen: set[str] = set()
    for klass in hub_class.__mro__:
        if klass is Hub or klass is object or not issubclass(klass, Hub):
            continue
        for attr, value in vars(klass).items():
            if attr in seen:
                continue
            seen.add(attr)
            if attr.startswith("_") or attr in _RESERVED or not inspect.isfunction(value):
                continue
            exposed = getattr(value, HUB_METHOD_NAME_ATTR, None) or attr
            key = normalize_name(exposed)
            if key in table:
                raise TypeError(
                    f"Hub methods {table[key].func.__name__!r} and {attr!r} of {hub_class.__name__} "
                    f"both match the client name {exposed!r} (names compare case-insensitively "
                    "without underscores)"
                )
            table[key] = _describe(exposed, value)
    return table
