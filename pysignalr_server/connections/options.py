"""Connection-level options (ASP.NET Core ``HttpConnectionDispatcherOptions``)."""

from __future__ import annotations

import attrs

from .connection import TransportType

__all__ = ["HttpConnectionOptions"]

ALL_TRANSPORTS: tuple[TransportType, ...] = (TransportType.WEBSOCKETS,)


@attrs.frozen(slots=True, kw_only=True)
class HttpConnectionOptions:
    """How connections are created, kept and written to.

    ``send_buffer_limit`` bounds the bytes queued for one client. A client
    that stops reading fills it and is then closed with an error, so it can
    never stall delivery to others or grow the server's memory.
    """

    transports: tuple[TransportType, ...] = ALL_TRANSPORTS
    disconnect_timeout: float = 15.0
    """Negotiated connections that no transport ever uses are dropped after this."""
    send_buffer_limit: int = 1024 * 1024
    minimum_negotiate_version: int = 0
    websocket_close_timeout: float = 5.0
    max_frame_coalesce: int = 64 * 1024
    """Queued messages are joined into one WebSocket frame up to this size."""
