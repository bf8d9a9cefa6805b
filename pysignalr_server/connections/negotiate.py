"""The negotiate exchange (TransportProtocols.md "POST [endpoint-base]/negotiate").

Pure functions: the transport layer reads the request, these decide the
version and write the JSON response with the .NET writer's field order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..errors import NegotiateError
from .connection import TransportType

__all__ = ["parse_negotiate_version", "write_negotiate_response", "MAX_VERSION"]

MAX_VERSION = 1

_FORMATS = {
    TransportType.WEBSOCKETS: ["Text", "Binary"],
    TransportType.SERVER_SENT_EVENTS: ["Text"],
    TransportType.LONG_POLLING: ["Text", "Binary"],
}


def parse_negotiate_version(raw: str | None, minimum: int = 0) -> int:
    """The version to answer with: min(requested, 1).

    Raises ``NegotiateError`` (answered as HTTP 200 ``{"error": ...}``, as
    .NET does) for a non-integer or too old version.
    """
    if raw is None:
        requested = 0
    else:
        try:
            requested = int(raw.strip())
        except ValueError:
            raise NegotiateError(200, "The client requested a non-integer protocol version.") from None
        if not raw.strip().lstrip("+-").isdigit():
            raise NegotiateError(200, "The client requested a non-integer protocol version.")
    if requested < minimum:
        raise NegotiateError(
            200,
            f"The client requested version '{requested}', but the server does not support this version.",
        )
    return min(requested, MAX_VERSION)


def write_negotiate_response(
    *,
    version: int,
    connection_id: str,
    connection_token: str,
    transports: Sequence[TransportType],
    use_stateful_reconnect: bool = False,
) -> bytes:
    doc: dict[str, object] = {}
    if use_stateful_reconnect:
        doc["useStatefulReconnect"] = True
    doc["negotiateVersion"] = version
    doc["connectionId"] = connection_id
    if version >= 1:
        doc["connectionToken"] = connection_token
    doc["availableTransports"] = [{"transport": t.value, "transferFormats": _FORMATS[t]} for t in transports]
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def write_negotiate_error(message: str) -> bytes:
    return json.dumps({"error": message}, separators=(",", ":")).encode("utf-8")
