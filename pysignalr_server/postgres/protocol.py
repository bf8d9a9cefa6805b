"""Backplane wire format (sans-IO): what one server tells the others.

A notification carries one *batch*: ``[server_id, seq, [message, ...]]``
packed with MessagePack and base64-encoded (NOTIFY payloads are text),
behind a plain ``<server_id>:`` header: every server hears its own
notifications too, and the header lets it skip them without decoding
(they were delivered locally when sent). ``seq`` numbers each server's
batches from 1 so receivers notice gaps. A batch too large for NOTIFY is
stored in the spill table and the notification carries
``<server_id>:S<row id>`` instead.

Messages (every one starts with the hub key, so hubs never see each
other's traffic):

- ``[hub, INVOCATION, target_kind, targets, excluded, {protocol: bytes}, invocation_id, return_server]``
- ``[hub, GROUP, action, group, connection_id, ack_id, reply_server]``
- ``[hub, ACK, server, ack_id]``
- ``[hub, RESULT, server, invocation_id, error, has_result, result, protocol]``
- ``[hub, RECEIPT, server, invocation_id]``

The per-protocol bytes are exactly what goes on the wire to clients, so
receivers forward them untouched.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import msgpack

__all__ = [
    "INVOCATION",
    "GROUP",
    "ACK",
    "RESULT",
    "RECEIPT",
    "TO_ALL",
    "TO_CONNECTIONS",
    "TO_GROUPS",
    "TO_USERS",
    "ADD",
    "REMOVE",
    "encode_batch",
    "decode_batch",
    "notification_origin",
    "spill_header",
    "channel_name",
]

INVOCATION, GROUP, ACK, RESULT, RECEIPT = 1, 2, 3, 4, 5
TO_ALL, TO_CONNECTIONS, TO_GROUPS, TO_USERS = 0, 1, 2, 3
ADD, REMOVE = 1, 2


def encode_batch(server_id: str, seq: int, messages: list[list[Any]]) -> str:
    """The notification text of a batch: ``<server_id>:<base64>``."""
    packed = msgpack.packb([server_id, seq, messages], use_bin_type=True)
    return f"{server_id}:{base64.b64encode(packed).decode('ascii')}"


def spill_header(server_id: str) -> str:
    """What precedes the row id in the notification of a spilled batch."""
    return f"{server_id}:S"


def notification_origin(payload: str) -> tuple[str, str]:
    """``(server_id, body)`` of a notification; the body is the base64 batch
    or ``S<row id>`` (base64 has no ``:``, so the first one ends the id)."""
    server_id, _, body = payload.partition(":")
    return server_id, body


def decode_batch(data: bytes | str) -> tuple[str, int, list[list[Any]]]:
    """A batch from its notification text, its base64 body, or the packed
    bytes kept in the spill table."""
    if isinstance(data, str):
        raw = base64.b64decode(data.rpartition(":")[2])
    else:
        raw = data
    server_id, seq, messages = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    return str(server_id), int(seq), list(messages)


def packed_batch(server_id: str, seq: int, messages: list[list[Any]]) -> bytes:
    """The binary form stored in the spill table."""
    return bytes(msgpack.packb([server_id, seq, messages], use_bin_type=True))


def channel_name(prefix: str) -> str:
    """The NOTIFY channel of a prefix: at most 63 bytes of UTF-8 (longer names
    are shortened with a hash, deterministically, on every server)."""
    name = f"{prefix}_backplane"
    encoded = name.encode("utf-8")
    if len(encoded) <= 63:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:16]
    head = encoded[:40].decode("utf-8", errors="ignore")
    return f"{head}_{digest}"
