"""``HubEndpoint``: the HTTP face of one hub path (ASP.NET Core's
``HttpConnectionDispatcher``).

``POST {path}/negotiate`` creates a connection; ``{path}?id=...`` requests
attach a transport to it. Refusals use the status codes and texts of
ASP.NET Core, because clients show them to users.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import hdrs, web

from ..connections.connection import ConnectionHandler, ConnectionStatus, HttpConnection, TransportType
from ..connections.manager import ConnectionManager
from ..connections.negotiate import (
    parse_negotiate_version,
    write_negotiate_error,
    write_negotiate_response,
)
from ..connections.options import HttpConnectionOptions
from ..errors import NegotiateError
from .websockets import attach, serve_websocket

__all__ = ["HubEndpoint"]

log = logging.getLogger("pysignalr_server.transports")


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


class HubEndpoint:
    def __init__(
        self,
        path: str,
        handler: ConnectionHandler,
        options: HttpConnectionOptions,
        *,
        max_message_size: int | None,
    ) -> None:
        self.path = path
        self.handler = handler
        self.options = options
        self.max_message_size = max_message_size
        self.connections = ConnectionManager(
            disconnect_timeout=options.disconnect_timeout,
            send_buffer_limit=options.send_buffer_limit,
        )
        self._active: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ negotiate

    async def negotiate(self, request: web.Request) -> web.StreamResponse:
        try:
            version = parse_negotiate_version(
                request.query.get("negotiateVersion"), self.options.minimum_negotiate_version
            )
        except NegotiateError as exc:
            return web.Response(
                status=exc.status, body=write_negotiate_error(exc.message), content_type="application/json"
            )
        conn = self.connections.create(version)
        body = write_negotiate_response(
            version=version,
            connection_id=conn.connection_id,
            connection_token=conn.connection_token,
            transports=self.options.transports,
        )
        return web.Response(body=body, content_type="application/json")

    # ----------------------------------------------------------- transports

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        if method == hdrs.METH_GET:
            if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
                return await self._websocket(request)
            if "text/event-stream" in request.headers.get(hdrs.ACCEPT, ""):
                return self._unsupported(TransportType.SERVER_SENT_EVENTS)
            return self._unsupported(TransportType.LONG_POLLING)
        if method == hdrs.METH_POST:
            conn = self._find(request)
            if isinstance(conn, web.Response):
                return conn
            if conn.transport is TransportType.WEBSOCKETS:
                return _text(405, "POST requests are not allowed for WebSocket connections.")
            return _text(404, "No Connection with that ID")
        if method == hdrs.METH_DELETE:
            conn = self._find(request)
            if isinstance(conn, web.Response):
                return conn
            if conn.transport is not TransportType.LONG_POLLING:
                return _text(400, "Cannot terminate this connection using the DELETE endpoint.")
            return _text(404, "No Connection with that ID")
        return web.Response(status=405, headers={hdrs.ALLOW: "GET, POST, DELETE"})

    def _unsupported(self, transport: TransportType) -> web.Response:
        return _text(404, f"{transport.value} transport not supported by this end point type")

    def _find(self, request: web.Request) -> HttpConnection | web.Response:
        token = request.query.get("id")
        if not token:
            return _text(400, "Connection ID required")
        conn = self.connections.get(token)
        if conn is None:
            return _text(404, "No Connection with that ID")
        return conn

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if TransportType.WEBSOCKETS not in self.options.transports:
            return self._unsupported(TransportType.WEBSOCKETS)
        token = request.query.get("id")
        if not token:
            # skipNegotiation (no id, or an empty one as in .NET): the connection is created on the spot.
            conn = self.connections.create(1)
        else:
            found = self._find(request)
            if isinstance(found, web.Response):
                return found
            conn = found
        if conn.transport is not None and conn.transport is not TransportType.WEBSOCKETS:
            return _text(400, "Cannot change transports mid-connection")
        if conn.status is not ConnectionStatus.NEW:
            return _text(409, "Connection is already active.")
        attach(conn)
        conn.request = request
        conn.application = self.handler.on_connection(conn)
        task = asyncio.current_task()
        if task is not None:
            self._active.add(task)
        try:
            return await serve_websocket(request, conn, self.options, self.max_message_size)
        finally:
            if task is not None:
                self._active.discard(task)
            self.connections.remove(conn)

    def all_connections(self) -> list[HttpConnection]:
        return self.connections.connections()

    async def close(self) -> None:
        await self.connections.close()
