"""Connection-level options (ASP.NET Core ``HttpConnectionDispatcherOptions``)."""

from __future__ import annotations

import attrs

from .connection import TransportType

__all__ = ["HttpConnectionOptions"]

ALL_TRANSPORTS: tuple[TransportType, ...] = (
    TransportType.WEBSOCKETS,
    TransportType.SERVER_SENT_EVENTS,
    TransportType.LONG_POLLING,
)


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
    """Queued messages are joined into one WebSocket frame, SSE event or poll
    response up to this size (a message is never split)."""
    long_polling_timeout: float = 90.0
    """A poll with nothing to deliver returns an empty 200 after this long."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed cross-origin (negotiate, SSE, long polling); ``"*"``
    allows any. The default allows none."""
    cors_allow_credentials: bool = True
    cors_max_age: int = 600
    allow_stateful_reconnects: bool = False
    """Offer stateful reconnect to clients that ask (``withStatefulReconnect()``);
    the logical connection then survives a dropped WebSocket for
    ``disconnect_timeout``."""
