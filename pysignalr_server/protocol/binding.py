"""Binding parsed arguments to a hub method's parameter types.

Shared by both codecs. Every failure here is an argument problem, not a
framing problem, so it produces an ``InvocationBindingFailureMessage`` and
the connection lives on (ASP.NET Core ``InvocationBindingFailureMessage``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidDataError
from .base import NO_TYPE, InvocationBinder
from .conversion import Flavor, adapter_for, type_display_name
from .messages import (
    CompletionMessage,
    HubMessage,
    InvocationBindingFailureMessage,
    InvocationMessage,
    StreamBindingFailureMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

__all__ = [
    "BINDING_ERROR",
    "count_mismatch",
    "bind_invocation",
    "bind_stream_item",
    "bind_completion",
]

BINDING_ERROR = (
    "Error binding arguments. Make sure that the types of the provided values "
    "match the types of the hub method being invoked."
)


def count_mismatch(provided: int, expected: int) -> InvalidDataError:
    return InvalidDataError(f"Invocation provides {provided} argument(s) but target expects {expected}.")


def bind_invocation(
    binder: InvocationBinder,
    flavor: Flavor,
    *,
    is_stream: bool,
    invocation_id: str | None,
    target: str,
    arguments: Sequence[Any],
    stream_ids: Sequence[str] | None,
    headers: dict[str, str] | None,
) -> HubMessage:
    try:
        types = binder.get_parameter_types(target)
    except Exception as exc:  # noqa: BLE001 - any binder error is a binding failure
        return InvocationBindingFailureMessage(invocation_id, target, exc, is_stream)
    # .NET's JSON reader binds arguments one by one as it reads them, so a bad
    # argument within the expected count is reported before a count mismatch.
    try:
        bound = [adapter_for(t, flavor)(a) for t, a in zip(types, arguments, strict=False)]
    except Exception:  # noqa: BLE001
        return InvocationBindingFailureMessage(
            invocation_id, target, InvalidDataError(BINDING_ERROR), is_stream
        )
    if len(arguments) != len(types):
        return InvocationBindingFailureMessage(
            invocation_id, target, count_mismatch(len(arguments), len(types)), is_stream
        )
    if is_stream:
        assert invocation_id is not None
        return StreamInvocationMessage(invocation_id, target, bound, stream_ids, headers)
    return InvocationMessage(target, bound, invocation_id, stream_ids, headers)


def bind_stream_item(
    binder: InvocationBinder,
    flavor: Flavor,
    invocation_id: str,
    item: Any,
    headers: dict[str, str] | None,
) -> HubMessage:
    try:
        tp = binder.get_stream_item_type(invocation_id)
        value = item if tp is NO_TYPE else adapter_for(tp, flavor)(item)
    except Exception as exc:  # noqa: BLE001
        return StreamBindingFailureMessage(invocation_id, exc)
    return StreamItemMessage(invocation_id, value, headers)


def bind_completion(
    binder: InvocationBinder,
    flavor: Flavor,
    invocation_id: str,
    result: Any,
    headers: dict[str, str] | None,
) -> CompletionMessage:
    try:
        tp = binder.get_return_type(invocation_id)
    except Exception:  # noqa: BLE001 - unknown id: keep the raw value
        tp = NO_TYPE
    if tp is NO_TYPE:
        return CompletionMessage.with_result(invocation_id, result, headers)
    try:
        value = adapter_for(tp, flavor)(result)
    except Exception as exc:  # noqa: BLE001
        return CompletionMessage.with_error(
            invocation_id,
            f"Error trying to deserialize result to {type_display_name(tp)}. {exc}",
            headers,
        )
    return CompletionMessage.with_result(invocation_id, value, headers)
