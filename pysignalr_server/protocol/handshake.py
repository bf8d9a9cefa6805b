"""The handshake (HubProtocol.md "Overview"): one JSON object terminated by
0x1E in each direction, always JSON even when the hub protocol is
MessagePack.

``parse_handshake_request`` is incremental: it returns ``None`` until a full
record has arrived, then the request and whatever bytes followed it (messages
may follow the handshake in the same frame).
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from ..errors import InvalidDataError
from .framing import RECORD_SEPARATOR
from .json import token_type_name

__all__ = [
    "HandshakeRequest",
    "parse_handshake_request",
    "write_handshake_response",
    "HANDSHAKE_SUCCESS",
]

HANDSHAKE_SUCCESS = b"{}" + RECORD_SEPARATOR


@attrs.frozen(slots=True)
class HandshakeRequest:
    protocol: str
    version: int


def parse_handshake_request(
    data: bytes, max_size: int | None = None
) -> tuple[HandshakeRequest, bytes] | None:
    """Parse the handshake record at the start of ``data``.

    Returns ``None`` when more data is needed. Raises ``InvalidDataError``
    (with the .NET texts) for a malformed request, and ``OverflowError`` when
    more than ``max_size`` bytes arrive without a separator.
    """
    # Like .NET, only the first ``max_size`` bytes may hold the request.
    end = data.find(RECORD_SEPARATOR) if max_size is None else data.find(RECORD_SEPARATOR, 0, max_size)
    if end < 0:
        if max_size is not None and len(data) > max_size:
            raise OverflowError("handshake too large")
        return None
    payload = data[:end]
    rest = data[end + 1 :]
    try:
        text = payload.decode("utf-8")
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidDataError("Error reading JSON.") from None
    if type(document) is not dict:
        kind = token_type_name(document)
        raise InvalidDataError(f"Unexpected JSON Token Type '{kind}'. Expected a JSON Object.")
    protocol: Any = None
    version: Any = None
    for key, value in document.items():
        if key == "protocol":
            if type(value) is not str:
                raise InvalidDataError("Expected 'protocol' to be of type String.")
            protocol = value
        elif key == "version":
            if type(value) is not int:
                raise InvalidDataError("Expected 'version' to be of type Number.")
            version = value
    if protocol is None:
        raise InvalidDataError(f"Missing required property 'protocol'. Message content: {text}")
    if version is None:
        raise InvalidDataError(f"Missing required property 'version'. Message content: {text}")
    return HandshakeRequest(protocol, version), rest


def write_handshake_response(error: str | None = None) -> bytes:
    """``{}`` + 0x1E on success, ``{"error": ...}`` + 0x1E on failure."""
    if not error:
        return HANDSHAKE_SUCCESS
    return (
        json.dumps({"error": error}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        + RECORD_SEPARATOR
    )
