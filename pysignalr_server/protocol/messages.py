"""Hub protocol messages (HubProtocol.md), one frozen attrs class per type.

These are plain values with no behaviour: the JSON and MessagePack codecs
turn them into bytes and back, and the hub layer acts on them. Field names
follow the spec in snake_case. ``headers`` is the optional string map that
types 1-5 carry; ``None`` and ``{}`` both mean "no headers".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "MessageType",
    "HubMessage",
    "HubInvocationMessage",
    "InvocationMessage",
    "StreamInvocationMessage",
    "StreamItemMessage",
    "CompletionMessage",
    "CancelInvocationMessage",
    "PingMessage",
    "CloseMessage",
    "AckMessage",
    "SequenceMessage",
    "InvocationBindingFailureMessage",
    "StreamBindingFailureMessage",
    "PING",
]


class MessageType(enum.IntEnum):
    INVOCATION = 1
    STREAM_ITEM = 2
    COMPLETION = 3
    STREAM_INVOCATION = 4
    CANCEL_INVOCATION = 5
    PING = 6
    CLOSE = 7
    ACK = 8
    SEQUENCE = 9


Headers = Mapping[str, str] | None


@attrs.frozen(slots=True)
class HubMessage:
    """Base class of every hub message."""


@attrs.frozen(slots=True)
class HubInvocationMessage(HubMessage):
    """Messages that belong to an invocation (types 1-5) and carry headers."""


@attrs.frozen(slots=True)
class InvocationMessage(HubInvocationMessage):
    """Type 1. ``invocation_id`` None means non-blocking: no Completion is sent."""

    target: str
    arguments: Sequence[Any]
    invocation_id: str | None = None
    stream_ids: Sequence[str] | None = None
    headers: Headers = None


@attrs.frozen(slots=True)
class StreamInvocationMessage(HubInvocationMessage):
    """Type 4: start a server-to-client stream."""

    invocation_id: str
    target: str
    arguments: Sequence[Any]
    stream_ids: Sequence[str] | None = None
    headers: Headers = None


@attrs.frozen(slots=True)
class StreamItemMessage(HubInvocationMessage):
    """Type 2: one item of a stream, in either direction."""

    invocation_id: str
    item: Any
    headers: Headers = None


@attrs.frozen(slots=True)
class CompletionMessage(HubInvocationMessage):
    """Type 3. ``error`` and ``result`` are exclusive; ``has_result`` tells a
    void completion (no ``result`` property) from a ``null`` result."""

    invocation_id: str
    error: str | None = None
    result: Any = None
    has_result: bool = False
    headers: Headers = None

    @classmethod
    def with_result(cls, invocation_id: str, result: Any, headers: Headers = None) -> CompletionMessage:
        return cls(invocation_id, None, result, True, headers)

    @classmethod
    def with_error(cls, invocation_id: str, error: str, headers: Headers = None) -> CompletionMessage:
        return cls(invocation_id, error, None, False, headers)

    @classmethod
    def empty(cls, invocation_id: str, headers: Headers = None) -> CompletionMessage:
        return cls(invocation_id, None, None, False, headers)


@attrs.frozen(slots=True)
class CancelInvocationMessage(HubInvocationMessage):
    """Type 5: the client cancels a stream it started."""

    invocation_id: str
    headers: Headers = None


@attrs.frozen(slots=True)
class PingMessage(HubMessage):
    """Type 6: keep-alive, in both directions."""


PING = PingMessage()


@attrs.frozen(slots=True)
class CloseMessage(HubMessage):
    """Type 7. ``allow_reconnect`` tells clients with automatic reconnect to
    reconnect (sent on graceful shutdown and on server-side timeouts)."""

    error: str | None = None
    allow_reconnect: bool = False


@attrs.frozen(slots=True)
class AckMessage(HubMessage):
    """Type 8 (stateful reconnect): everything up to ``sequence_id`` arrived."""

    sequence_id: int


@attrs.frozen(slots=True)
class SequenceMessage(HubMessage):
    """Type 9 (stateful reconnect): the id of the next message that follows."""

    sequence_id: int


@attrs.frozen(slots=True)
class InvocationBindingFailureMessage(HubInvocationMessage):
    """Not on the wire: an Invocation or StreamInvocation whose arguments did
    not bind. Unlike envelope errors this is not fatal; the dispatcher answers
    with a Completion error when an ``invocation_id`` is present."""

    invocation_id: str | None
    target: str
    error: Exception
    is_stream: bool = False


@attrs.frozen(slots=True)
class StreamBindingFailureMessage(HubMessage):
    """Not on the wire: an upload StreamItem whose item did not convert."""

    id: str
    error: Exception
