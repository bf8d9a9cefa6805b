"""One logical connection, independent of transport and of hubs.

A connection is created by negotiate (or on the spot by a WebSocket request
that skipped negotiate). A transport attaches to it, feeds received bytes to
its ``application`` and drains its ``outbound`` buffer. The application (the
hub layer) writes bytes and decides when the connection ends.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from typing import Any, Protocol

from .buffer import OutboundBuffer

__all__ = [
    "TransportType",
    "ConnectionStatus",
    "ConnectionApplication",
    "ConnectionHandler",
    "HttpConnection",
]


class TransportType(enum.Enum):
    WEBSOCKETS = "WebSockets"
    SERVER_SENT_EVENTS = "ServerSentEvents"
    LONG_POLLING = "LongPolling"


class ConnectionStatus(enum.Enum):
    NEW = "new"
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    """Stateful reconnect: the transport dropped; waiting for the client."""
    CLOSED = "closed"


class ConnectionApplication(Protocol):
    """The per-connection side of whatever runs on top (a hub)."""

    async def receive(self, data: bytes) -> None:
        """Bytes from the client, in order. Awaiting applies backpressure."""
        ...

    async def transport_closed(self, error: BaseException | None) -> None:
        """The transport is gone for good; clean up."""
        ...

    def transport_lost(self) -> None:
        """Stateful reconnect: the transport dropped but may come back."""
        ...

    def transport_resumed(self) -> None:
        """Stateful reconnect: a new transport took over; replay now."""
        ...


class ConnectionHandler(Protocol):
    """Creates the application for each new connection of an endpoint."""

    def on_connection(self, connection: HttpConnection) -> ConnectionApplication: ...


class HttpConnection:
    """State of one connection. Owned by the ``ConnectionManager``."""

    __slots__ = (
        "__weakref__",
        "abort_transport",
        "application",
        "binary",
        "close_error",
        "connection_id",
        "connection_token",
        "created_at",
        "disconnected_at",
        "early_data",
        "ending",
        "finished",
        "has_inherent_keep_alive",
        "items",
        "last_seen",
        "negotiate_version",
        "outbound",
        "poll",
        "post_lock",
        "reconnectable",
        "request",
        "send_buffer_limit",
        "status",
        "transport",
        "transport_alive",
        "use_stateful_reconnect",
        "user",
    )

    def __init__(
        self,
        connection_id: str,
        connection_token: str,
        negotiate_version: int,
        created_at: float,
        send_buffer_limit: int,
    ) -> None:
        self.connection_id = connection_id
        self.connection_token = connection_token
        self.negotiate_version = negotiate_version
        self.transport: TransportType | None = None
        self.status = ConnectionStatus.NEW
        self.created_at = created_at
        self.request: Any = None
        self.user: Any = None
        self.items: dict[Any, Any] = {}
        self.outbound = OutboundBuffer(send_buffer_limit, self._on_overflow)
        self.binary = False
        """True once the application chose a binary protocol (MessagePack)."""
        self.application: ConnectionApplication | None = None
        self.abort_transport: Callable[[], None] | None = None
        self.close_error: BaseException | None = None
        self.has_inherent_keep_alive = False
        self.transport_alive: Callable[[], bool] | None = None
        """Set by transports that cannot notice a vanished client by reading
        (SSE); housekeeping calls it and aborts the connection when False."""
        self.finished = False
        self.last_seen = created_at
        self.poll: asyncio.Future[str] | None = None
        """The pending long poll, resolved to end it early ("superseded")."""
        self.post_lock = asyncio.Lock()
        self.early_data = bytearray()
        """Bytes POSTed before the first transport request started the
        application; handed to it first, under ``post_lock``."""
        self.use_stateful_reconnect = False
        """Negotiated with ``useStatefulReconnect``."""
        self.reconnectable = False
        """Stateful reconnect is active (set by the application after a
        version 2 handshake): a dropped WebSocket pauses the connection
        instead of ending it."""
        self.ending = False
        """The application or an abort ended the connection on purpose."""
        self.disconnected_at = 0.0
        self.send_buffer_limit = send_buffer_limit

    def write(self, data: bytes) -> bool:
        """Queue bytes for the client without blocking. False if closed."""
        return self.outbound.write(data)

    def complete(self) -> None:
        """Flush what is queued, then close the transport gracefully."""
        self.ending = True
        self.outbound.close()

    def abort(self, error: BaseException | None = None) -> None:
        """Drop queued data and close the transport now."""
        if error is not None and self.close_error is None:
            self.close_error = error
        self.ending = True
        self.outbound.close(discard=True)
        if self.abort_transport is not None:
            self.abort_transport()

    def activate(self, transport: TransportType) -> None:
        """A transport has taken the connection over."""
        self.transport = transport
        self.status = ConnectionStatus.ACTIVE

    def pause(self, now: float) -> None:
        """Stateful reconnect: keep the logical connection without a transport."""
        self.status = ConnectionStatus.DISCONNECTED
        self.disconnected_at = now
        self.outbound.close(discard=True)
        self.abort_transport = None
        if self.application is not None:
            self.application.transport_lost()

    def resume(self) -> None:
        """Stateful reconnect: a new transport arrived; start a fresh buffer."""
        self.outbound = OutboundBuffer(self.send_buffer_limit, self._on_overflow)
        self.status = ConnectionStatus.ACTIVE

    async def finish(self, error: BaseException | None = None) -> None:
        """End the connection for good: tell the application, once."""
        self.status = ConnectionStatus.CLOSED
        self.outbound.close(discard=True)
        if self.finished:
            return
        self.finished = True
        if self.application is not None:
            await self.application.transport_closed(error if error is not None else self.close_error)

    def _on_overflow(self) -> None:
        self.abort(ConnectionError("Send buffer overflow: the client is not reading fast enough."))

    def __repr__(self) -> str:
        return f"<HttpConnection {self.connection_id} {self.status.value}>"
