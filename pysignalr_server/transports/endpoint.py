"""``HubEndpoint``: the HTTP face of one hub path (ASP.NET Core's
``HttpConnectionDispatcher``).

``POST {path}/negotiate`` creates a connection; ``{path}?id=...`` requests
attach a transport to it (GET: WebSockets, Server-Sent Events or a long
poll; POST: client-to-server data for SSE and long polling; DELETE: end a
long-polling connection). Authentication runs on every request, CORS
headers are added for allowed origins, and refusals use the status codes
and texts of ASP.NET Core, because clients show them to users.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import hdrs, web

from ..auth import Authenticator, AuthPolicy, is_authorized
from ..connections.connection import ConnectionHandler, ConnectionStatus, HttpConnection, TransportType
from ..connections.manager import ConnectionManager
from ..connections.negotiate import (
    parse_negotiate_version,
    write_negotiate_error,
    write_negotiate_response,
)
from ..connections.options import HttpConnectionOptions
from ..errors import NegotiateError
from .long_polling import serve_poll, terminate
from .sse import serve_sse
from .websockets import serve_websocket

__all__ = ["HubEndpoint"]

log = logging.getLogger("pysignalr_server.transports")

EARLY_DATA_LIMIT = 64 * 1024
"""Bytes a connection may receive by POST before its first transport request
(ASP.NET Core's default application buffer size)."""


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain", headers=headers)


def _identity(user: Any) -> Any:
    if user is None:
        return None
    return getattr(user, "identifier", user)


class HubEndpoint:
    def __init__(
        self,
        path: str,
        handler: ConnectionHandler,
        options: HttpConnectionOptions,
        *,
        max_message_size: int | None,
        authenticate: Authenticator | None = None,
        policy: AuthPolicy | None = None,
    ) -> None:
        self.path = path
        self.handler = handler
        self.options = options
        self.max_message_size = max_message_size
        self.authenticate = authenticate
        self.policy = policy
        self.accepting = True
        """False once the application is shutting down: no new connections."""
        self.connections = ConnectionManager(
            disconnect_timeout=options.disconnect_timeout,
            send_buffer_limit=options.send_buffer_limit,
        )
        self._feeders: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- CORS

    def _origin_allowed(self, origin: str) -> bool:
        allowed = self.options.cors_origins
        return "*" in allowed or origin in allowed

    def cors_headers(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get(hdrs.ORIGIN)
        if not origin or not self._origin_allowed(origin):
            return {}
        headers: dict[str, str] = {hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin, hdrs.VARY: "Origin"}
        if self.options.cors_allow_credentials:
            headers[hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
        return headers

    async def preflight(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        method = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_METHOD)
        if not origin or not method or not self._origin_allowed(origin):
            return web.Response(status=403, text="CORS request refused", content_type="text/plain")
        headers = self.cors_headers(request)
        headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = "GET, POST, DELETE, OPTIONS"
        requested = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS)
        if requested:
            headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = requested
        headers[hdrs.ACCESS_CONTROL_MAX_AGE] = str(self.options.cors_max_age)
        return web.Response(status=204, headers=headers)

    # ---------------------------------------------------------------- auth

    async def _user(self, request: web.Request) -> tuple[Any, web.Response | None]:
        """The request's user, or the response that refuses it."""
        user: Any = None
        if self.authenticate is not None:
            try:
                user = await self.authenticate(request)
            except web.HTTPException as exc:
                return None, web.Response(
                    status=exc.status, reason=exc.reason, text=exc.text, headers=self.cors_headers(request)
                )
        if not is_authorized(self.policy, user):
            return None, web.Response(status=401, reason="Unauthorized", headers=self.cors_headers(request))
        return user, None

    # ------------------------------------------------------------ negotiate

    async def negotiate(self, request: web.Request) -> web.StreamResponse:
        if request.method == hdrs.METH_OPTIONS:
            return await self.preflight(request)
        if request.method != hdrs.METH_POST:
            return web.Response(status=405, headers={hdrs.ALLOW: "POST"})
        cors = self.cors_headers(request)
        if not self.accepting:
            return _text(503, "The server is shutting down.", cors)
        user, refused = await self._user(request)
        if refused is not None:
            return refused
        try:
            version = parse_negotiate_version(
                request.query.get("negotiateVersion"), self.options.minimum_negotiate_version
            )
        except NegotiateError as exc:
            return web.Response(
                status=exc.status,
                body=write_negotiate_error(exc.message),
                content_type="application/json",
                headers=cors,
            )
        conn = self.connections.create(version)
        conn.user = user
        stateful = (
            self.options.allow_stateful_reconnects
            and request.query.get("useStatefulReconnect", "").lower() == "true"
        )
        conn.use_stateful_reconnect = stateful
        body = write_negotiate_response(
            version=version,
            connection_id=conn.connection_id,
            connection_token=conn.connection_token,
            transports=self.options.transports,
            use_stateful_reconnect=stateful,
        )
        return web.Response(body=body, content_type="application/json", headers=cors)

    # ----------------------------------------------------------- transports

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        if method == hdrs.METH_OPTIONS:
            return await self.preflight(request)
        if method == hdrs.METH_GET:
            if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
                return await self._websocket(request)
            if "text/event-stream" in request.headers.get(hdrs.ACCEPT, ""):
                return await self._sse(request)
            return await self._long_poll(request)
        if method == hdrs.METH_POST:
            return await self._post(request)
        if method == hdrs.METH_DELETE:
            return await self._delete(request)
        return web.Response(status=405, headers={hdrs.ALLOW: "GET, POST, DELETE, OPTIONS"})

    def _unsupported(self, transport: TransportType, cors: dict[str, str]) -> web.Response:
        return _text(404, f"{transport.value} transport not supported by this end point type", cors)

    def _find(self, request: web.Request, cors: dict[str, str]) -> HttpConnection | web.Response:
        token = request.query.get("id")
        if not token:
            return _text(400, "Connection ID required", cors)
        conn = self.connections.get(token)
        if conn is None:
            return _text(404, "No Connection with that ID", cors)
        return conn

    async def _attach_checks(
        self, request: web.Request, transport: TransportType, cors: dict[str, str]
    ) -> tuple[HttpConnection | None, Any, web.Response | None]:
        """Shared checks of a transport request: enabled, authenticated,
        connection found, same user, same transport."""
        if transport not in self.options.transports:
            return None, None, self._unsupported(transport, cors)
        user, refused = await self._user(request)
        if refused is not None:
            return None, None, refused
        found = self._find(request, cors)
        if isinstance(found, web.Response):
            return None, None, found
        if _identity(found.user) != _identity(user):
            return None, None, web.Response(status=403, reason="Forbidden", headers=cors)
        if found.transport is not None and found.transport is not transport:
            return None, None, _text(400, "Cannot change transports mid-connection", cors)
        return found, user, None

    def _start_application(self, conn: HttpConnection, request: web.Request) -> None:
        conn.request = request
        conn.application = self.handler.on_connection(conn)
        if conn.early_data:
            # Runs once the transport has set itself up (it does so before its first await).
            task = asyncio.get_running_loop().create_task(self._feed_early_data(conn))
            self._feeders.add(task)
            task.add_done_callback(self._feeders.discard)

    async def _feed_early_data(self, conn: HttpConnection) -> None:
        async with conn.post_lock:
            await self._flush_early_data(conn)

    @staticmethod
    async def _flush_early_data(conn: HttpConnection) -> None:
        """Hand data POSTed before the application started to it. Hold ``post_lock``."""
        application = conn.application
        while conn.early_data and application is not None and not conn.finished:
            data = bytes(conn.early_data)
            conn.early_data.clear()
            await application.receive(data)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        cors = self.cors_headers(request)
        if TransportType.WEBSOCKETS not in self.options.transports:
            return self._unsupported(TransportType.WEBSOCKETS, cors)
        if not request.query.get("id"):
            if not self.accepting:
                return _text(503, "The server is shutting down.", cors)
            # skipNegotiation (no id, or an empty one as in .NET): the connection is created on the spot.
            user, refused = await self._user(request)
            if refused is not None:
                return refused
            conn = self.connections.create(1)
            conn.user = user
        else:
            found, _, refused = await self._attach_checks(request, TransportType.WEBSOCKETS, cors)
            if refused is not None:
                return refused
            assert found is not None
            conn = found
        if conn.status is ConnectionStatus.DISCONNECTED and conn.reconnectable:
            # Stateful reconnect: the same logical connection, a new socket; no
            # negotiate, no handshake.
            conn.resume()
            return await self._serve_websocket(request, conn, resumed=True)
        if conn.status is not ConnectionStatus.NEW:
            return _text(409, "Connection is already active.", cors)
        conn.activate(TransportType.WEBSOCKETS)
        self._start_application(conn, request)
        return await self._serve_websocket(request, conn, resumed=False)

    async def _serve_websocket(
        self, request: web.Request, conn: HttpConnection, *, resumed: bool
    ) -> web.StreamResponse:
        try:
            return await serve_websocket(request, conn, self.options, self.max_message_size, resumed)
        finally:
            if conn.status is not ConnectionStatus.DISCONNECTED:
                self.connections.remove(conn)

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        cors = self.cors_headers(request)
        conn, _, refused = await self._attach_checks(request, TransportType.SERVER_SENT_EVENTS, cors)
        if refused is not None:
            return refused
        assert conn is not None
        if conn.status is not ConnectionStatus.NEW:
            return _text(409, "Connection is already active.", cors)
        self._start_application(conn, request)
        try:
            return await serve_sse(request, conn, self.options, cors)
        finally:
            self.connections.remove(conn)

    async def _long_poll(self, request: web.Request) -> web.StreamResponse:
        cors = self.cors_headers(request)
        conn, _, refused = await self._attach_checks(request, TransportType.LONG_POLLING, cors)
        if refused is not None:
            return refused
        assert conn is not None
        first = conn.status is ConnectionStatus.NEW
        if first:
            # The request context of a long-polling connection is its first poll.
            self._start_application(conn, request)
        response = await serve_poll(request, conn, self.options, cors, first)
        if conn.finished:
            self.connections.remove(conn)
        return response

    async def _find_for_user(
        self, request: web.Request, cors: dict[str, str]
    ) -> HttpConnection | web.Response:
        """The connection a POST or DELETE names, if the request's user owns it."""
        user, refused = await self._user(request)
        if refused is not None:
            return refused
        found = self._find(request, cors)
        if isinstance(found, web.Response):
            return found
        if _identity(found.user) != _identity(user):
            return web.Response(status=403, reason="Forbidden", headers=cors)
        return found

    async def _post(self, request: web.Request) -> web.StreamResponse:
        cors = self.cors_headers(request)
        found = await self._find_for_user(request, cors)
        if isinstance(found, web.Response):
            return found
        conn = found
        if conn.transport is TransportType.WEBSOCKETS:
            return _text(405, "POST requests are not allowed for WebSocket connections.", cors)
        application = conn.application
        if application is None and conn.status is ConnectionStatus.NEW:
            # Like ASP.NET Core, accept data for a negotiated connection before its
            # first transport request (signalrcore's long polling POSTs the handshake
            # before it polls); the application gets it first, once started.
            async with conn.post_lock:
                async for chunk in request.content.iter_any():
                    if len(conn.early_data) + len(chunk) > EARLY_DATA_LIMIT:
                        conn.early_data.clear()
                        return _text(413, "Too much data before the first transport request", cors)
                    conn.early_data += chunk
                if conn.application is not None:  # started meanwhile
                    await self._flush_early_data(conn)
            conn.last_seen = asyncio.get_running_loop().time()
            return web.Response(status=200, body=b"", content_type="text/plain", headers=cors)
        if conn.status is not ConnectionStatus.ACTIVE or application is None or conn.finished:
            return _text(404, "No Connection with that ID", cors)
        async with conn.post_lock:
            await self._flush_early_data(conn)
            async for chunk in request.content.iter_any():
                await application.receive(chunk)
        conn.last_seen = asyncio.get_running_loop().time()
        return web.Response(status=200, body=b"", content_type="text/plain", headers=cors)

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        cors = self.cors_headers(request)
        found = await self._find_for_user(request, cors)
        if isinstance(found, web.Response):
            return found
        conn = found
        if conn.transport is not TransportType.LONG_POLLING:
            return _text(400, "Cannot terminate this connection using the DELETE endpoint.", cors)
        self.connections.remove(conn)
        await terminate(conn)
        return web.Response(status=202, headers=cors)

    def all_connections(self) -> list[HttpConnection]:
        return self.connections.connections()

    async def close(self) -> None:
        await self.connections.close()
