"""The aiohttp integration: ``setup``, ``add_hub`` and ``get_hub_context``.

All state lives in one ``SignalR`` object stored under an ``AppKey``;
lifetime managers start with the application and stop with it, and at
shutdown every client is sent a Close with ``allowReconnect: true`` so
clients with automatic reconnect move to another node.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import attrs
from aiohttp import web

from .auth import Authenticator, policy_of
from .connections.connection import ConnectionStatus, HttpConnection, TransportType
from .connections.options import HttpConnectionOptions
from .hub.clients import HubContext
from .hub.handler import HubConnectionHandler, UserIdProvider
from .hub.hub import Hub
from .hub.options import HubOptions
from .lifetime.base import HubLifetimeManager
from .lifetime.memory import InMemoryHubLifetimeManager
from .transports.endpoint import HubEndpoint

__all__ = ["SignalR", "SIGNALR_KEY", "setup", "add_hub", "get_hub_context", "LifetimeManagerFactory"]

log = logging.getLogger("pysignalr_server")

LifetimeManagerFactory = Callable[[type[Hub]], HubLifetimeManager]


class SignalR:
    """Everything SignalR keeps for one aiohttp application."""

    def __init__(
        self,
        app: web.Application,
        *,
        hub_options: HubOptions,
        connection_options: HttpConnectionOptions,
        lifetime_manager_factory: LifetimeManagerFactory,
        user_id_provider: UserIdProvider | None,
        shutdown_grace: float,
    ) -> None:
        self.app = app
        self.hub_options = hub_options
        self.connection_options = connection_options
        self.lifetime_manager_factory = lifetime_manager_factory
        self.user_id_provider = user_id_provider
        self.shutdown_grace = shutdown_grace
        self.endpoints: list[HubEndpoint] = []
        self.handlers: list[HubConnectionHandler] = []
        self.managers: dict[type[Hub], HubLifetimeManager] = {}
        self.contexts: dict[type[Hub], HubContext] = {}
        self._started = False

    def manager_for(self, hub_class: type[Hub]) -> HubLifetimeManager:
        manager = self.managers.get(hub_class)
        if manager is None:
            if self._started:
                raise RuntimeError("Hubs must be added before the application starts")
            manager = self.lifetime_manager_factory(hub_class)
            self.managers[hub_class] = manager
            self.contexts[hub_class] = HubContext(manager)
        return manager

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx``: start lifetime managers, and stop everything at cleanup."""
        started: list[HubLifetimeManager] = []
        try:
            for manager in self.managers.values():
                await manager.start()
                started.append(manager)
            self._started = True
            yield
        finally:
            for handler in self.handlers:
                await handler.close(self.shutdown_grace)
            for endpoint in self.endpoints:
                await endpoint.close()
            for manager in reversed(started):
                try:
                    await manager.close()
                except Exception:
                    log.exception("Error closing lifetime manager %r", manager)

    async def on_shutdown(self, app: web.Application) -> None:
        """Ask every client to reconnect elsewhere, then wait for the
        transports to finish (bounded by ``shutdown_grace``)."""
        for endpoint in self.endpoints:
            endpoint.accepting = False
        for handler in self.handlers:
            for session in handler.sessions:
                session.close(allow_reconnect=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_grace
        while self._active_connections():
            if loop.time() >= deadline:
                for endpoint in self.endpoints:
                    for conn in endpoint.all_connections():
                        conn.abort(ConnectionError("The server is shutting down."))
                break
            await asyncio.sleep(0.02)

    def _active_connections(self) -> bool:
        return any(_still_delivering(conn) for e in self.endpoints for conn in e.all_connections())


def _still_delivering(conn: HttpConnection) -> bool:
    """Whether shutdown should still wait for this connection."""
    if conn.status is not ConnectionStatus.ACTIVE:
        return False
    if conn.transport is TransportType.LONG_POLLING and conn.ending:
        # Its Close message was handed to a poll: nothing left to wait for
        # (the client's next poll or DELETE may never reach a stopping server).
        return conn.outbound.size > 0 or (conn.poll is not None and not conn.poll.done())
    return True


SIGNALR_KEY = web.AppKey("pysignalr_server", SignalR)


def setup(
    app: web.Application,
    *,
    hub_options: HubOptions | None = None,
    connection_options: HttpConnectionOptions | None = None,
    lifetime_manager: LifetimeManagerFactory | None = None,
    backplane: Any = None,
    user_id_provider: UserIdProvider | None = None,
    shutdown_grace: float = 5.0,
) -> SignalR:
    """Install SignalR on ``app`` with app-wide defaults.

    ``lifetime_manager`` builds the manager for each hub class (in-memory by
    default). ``backplane`` takes backplane options (``PostgresOptions``)
    once a backplane is available. After this, ``app.add_hub(path, Hub)``
    works.
    """
    if SIGNALR_KEY in app:
        raise RuntimeError("pysignalr_server.setup() was already called for this application")
    if backplane is not None:
        factory = getattr(backplane, "lifetime_manager_factory", None)
        if factory is None:
            raise TypeError(f"{backplane!r} is not a backplane configuration")
        lifetime_manager = factory()
    signalr = SignalR(
        app,
        hub_options=hub_options or HubOptions(),
        connection_options=connection_options or HttpConnectionOptions(),
        lifetime_manager_factory=lifetime_manager or (lambda hub: InMemoryHubLifetimeManager()),
        user_id_provider=user_id_provider,
        shutdown_grace=shutdown_grace,
    )
    app[SIGNALR_KEY] = signalr
    app.cleanup_ctx.append(signalr.lifecycle)
    app.on_shutdown.append(signalr.on_shutdown)
    # The design's entry point is app.add_hub(...); aiohttp's Application
    # cannot be subclassed, so the bound helper is attached to this instance.
    object.__setattr__(app, "add_hub", functools.partial(add_hub, app))
    return signalr


def add_hub(
    app: web.Application,
    path: str,
    hub_class: type[Hub],
    *,
    options: HubOptions | None = None,
    transports: Iterable[TransportType | str] | None = None,
    connection_options: HttpConnectionOptions | None = None,
    user_id_provider: UserIdProvider | None = None,
    authenticate: Authenticator | None = None,
    allow_stateful_reconnects: bool | None = None,
) -> HubConnectionHandler:
    """Serve ``hub_class`` at ``path`` (``{path}/negotiate`` and ``{path}``).

    Paths match case-insensitively, as in ASP.NET Core routing.
    ``authenticate`` is an async ``fn(request)`` returning the user (see
    ``pysignalr_server.auth``); ``transports`` restricts the transports
    offered; ``allow_stateful_reconnects`` offers stateful reconnect.
    """
    signalr = app.get(SIGNALR_KEY) or setup(app)
    if not path.startswith("/"):
        raise ValueError("hub paths start with '/'")
    path = path.rstrip("/") or "/"
    conn_options = connection_options or signalr.connection_options
    if transports is not None:
        chosen = tuple(t if isinstance(t, TransportType) else TransportType(t) for t in transports)
        conn_options = _evolve(conn_options, transports=chosen)
    if allow_stateful_reconnects is not None:
        conn_options = _evolve(conn_options, allow_stateful_reconnects=allow_stateful_reconnects)
    hub_options = options or signalr.hub_options
    handler = HubConnectionHandler(
        hub_class,
        options=hub_options,
        lifetime_manager=signalr.manager_for(hub_class),
        user_id_provider=user_id_provider or signalr.user_id_provider,
    )
    endpoint = HubEndpoint(
        path,
        handler,
        conn_options,
        max_message_size=hub_options.maximum_receive_message_size,
        authenticate=authenticate,
        policy=policy_of(hub_class),
    )
    base = "" if path == "/" else path
    app.router.add_route("*", _case_insensitive(f"{base}/negotiate"), endpoint.negotiate)
    app.router.add_route("*", _case_insensitive(path), endpoint.dispatch)
    signalr.handlers.append(handler)
    signalr.endpoints.append(endpoint)
    return handler


def _case_insensitive(path: str) -> str:
    """An aiohttp route pattern matching ``path`` in any letter case."""
    if path == "/":
        return path
    escaped = re.escape(path.lstrip("/")).replace("{", "\\{").replace("}", "\\}")
    return "/{_signalr_path:(?i:" + escaped + ")}"


def _evolve(options: HttpConnectionOptions, **changes: Any) -> HttpConnectionOptions:
    return attrs.evolve(options, **changes)


def get_hub_context(app: web.Application, hub_class: type[Hub]) -> HubContext:
    """``.clients`` and ``.groups`` of ``hub_class``, for use outside hubs."""
    signalr = app.get(SIGNALR_KEY)
    if signalr is None or hub_class not in signalr.contexts:
        raise LookupError(f"{hub_class.__name__} was not added to this application with add_hub()")
    return signalr.contexts[hub_class]
