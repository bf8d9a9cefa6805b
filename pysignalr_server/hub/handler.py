"""``HubConnectionHandler``: everything one hub endpoint shares.

It creates a ``HubConnectionContext`` for each connection, owns the
dispatcher, protocols and lifetime manager, and runs one housekeeping task
per endpoint (not one per connection) for handshake timeouts, keep-alive
pings and client timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from ..connections.connection import ConnectionApplication, HttpConnection
from ..lifetime.base import HubLifetimeManager
from ..protocol.base import HubProtocol
from ..protocol.json import JsonHubProtocol
from ..protocol.messagepack import MessagePackHubProtocol
from .clients import GroupManager, HubContext
from .connection import HubConnectionContext
from .descriptors import build_method_table
from .dispatcher import HubDispatcher
from .hub import Hub
from .options import HubOptions

__all__ = ["HubConnectionHandler", "UserIdProvider", "make_protocols"]

log = logging.getLogger("pysignalr_server.hub")

UserIdProvider = Callable[[HubConnectionContext], "str | None"]


def _default_user_id(session: HubConnectionContext) -> str | None:
    user = session.connection.user
    if user is None:
        return None
    identifier = getattr(user, "identifier", None)
    return None if identifier is None else str(identifier)


_PROTOCOL_FACTORIES: dict[str, Callable[[], HubProtocol]] = {
    "json": JsonHubProtocol,
    "messagepack": MessagePackHubProtocol,
}


def make_protocols(names: tuple[str, ...]) -> dict[str, HubProtocol]:
    protocols: dict[str, HubProtocol] = {}
    for name in names:
        factory = _PROTOCOL_FACTORIES.get(name)
        if factory is None:
            raise ValueError(f"Unknown hub protocol {name!r}; known: {sorted(_PROTOCOL_FACTORIES)}")
        protocols[name] = factory()
    return protocols


class HubConnectionHandler:
    def __init__(
        self,
        hub_class: type[Hub],
        *,
        options: HubOptions,
        lifetime_manager: HubLifetimeManager,
        user_id_provider: UserIdProvider | None = None,
    ) -> None:
        self.hub_class = hub_class
        self.options = options
        self.lifetime_manager = lifetime_manager
        self.protocols = make_protocols(options.supported_protocols)
        self.dispatcher = HubDispatcher(
            hub_class,
            build_method_table(hub_class),
            detailed_errors=options.enable_detailed_errors,
            stream_buffer_capacity=options.stream_buffer_capacity,
        )
        self.group_manager = GroupManager(lifetime_manager)
        self.hub_context = HubContext(lifetime_manager)
        self._user_id_provider = user_id_provider or _default_user_id
        self._sessions: set[HubConnectionContext] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------- ConnectionHandler

    def on_connection(self, connection: HttpConnection) -> ConnectionApplication:
        session = HubConnectionContext(self, connection)
        self._sessions.add(session)
        self._ensure_ticker()
        return session

    def session_ended(self, session: HubConnectionContext) -> None:
        self._sessions.discard(session)

    def get_user_identifier(self, session: HubConnectionContext) -> str | None:
        return self._user_id_provider(session)

    @property
    def sessions(self) -> frozenset[HubConnectionContext]:
        return frozenset(self._sessions)

    # ------------------------------------------------------------- tasks

    def track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Hub task failed", exc_info=task.exception())

    def _ensure_ticker(self) -> None:
        if self._closed:
            return
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(
                self._tick_forever(), name=f"signalr-housekeeping-{self.hub_class.__name__}"
            )

    def _tick_interval(self) -> float:
        o = self.options
        shortest = min(o.keep_alive_interval, o.client_timeout_interval, o.handshake_timeout)
        return max(0.01, min(1.0, shortest / 4))

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._tick_interval()
        while self._sessions:
            await asyncio.sleep(interval)
            now = loop.time()
            for session in list(self._sessions):
                try:
                    session.tick(now)
                except Exception:
                    log.exception("Housekeeping failed for connection %s", session.connection_id)

    async def close(self, grace: float = 5.0) -> None:
        """Stop housekeeping and wait (up to ``grace``) for running invocations,
        then cancel whatever is left."""
        self._closed = True
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
