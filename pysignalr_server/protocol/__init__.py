"""Sans-IO SignalR hub protocols: messages, framing, handshake, JSON and
MessagePack codecs. Nothing here does IO or imports asyncio or aiohttp, in
the manner of h11 and wsproto; connections and transports sit on top.
"""

from .base import NO_TYPE, HubProtocol, InvocationBinder, TransferFormat
from .framing import RECORD_SEPARATOR, SplitResult, split_binary, split_text
from .handshake import HandshakeRequest, parse_handshake_request, write_handshake_response
from .json import JsonHubProtocol
from .messagepack import MessagePackHubProtocol
from .messages import (
    PING,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubInvocationMessage,
    HubMessage,
    InvocationBindingFailureMessage,
    InvocationMessage,
    MessageType,
    PingMessage,
    SequenceMessage,
    StreamBindingFailureMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

__all__ = [
    "NO_TYPE",
    "HubProtocol",
    "InvocationBinder",
    "TransferFormat",
    "RECORD_SEPARATOR",
    "SplitResult",
    "split_binary",
    "split_text",
    "HandshakeRequest",
    "parse_handshake_request",
    "write_handshake_response",
    "JsonHubProtocol",
    "MessagePackHubProtocol",
    "PING",
    "AckMessage",
    "CancelInvocationMessage",
    "CloseMessage",
    "CompletionMessage",
    "HubInvocationMessage",
    "HubMessage",
    "InvocationBindingFailureMessage",
    "InvocationMessage",
    "MessageType",
    "PingMessage",
    "SequenceMessage",
    "StreamBindingFailureMessage",
    "StreamInvocationMessage",
    "StreamItemMessage",
]


def default_protocols() -> dict[str, HubProtocol]:
    """Fresh instances of the protocols a hub supports by default."""
    return {"json": JsonHubProtocol(), "messagepack": MessagePackHubProtocol()}
