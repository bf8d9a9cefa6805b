"""The connection registry: creates connections, finds them by token, and
reaps negotiated connections that no transport ever used."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

from .connection import ConnectionStatus, HttpConnection, TransportType

__all__ = ["ConnectionManager"]

log = logging.getLogger("pysignalr_server.connections")


def _new_id() -> str:
    # 16 random bytes, base64url without padding: 22 characters, as .NET does.
    return secrets.token_urlsafe(16)


class ConnectionManager:
    """Owns every ``HttpConnection`` of one endpoint and its reaper task."""

    def __init__(self, *, disconnect_timeout: float, send_buffer_limit: int) -> None:
        self._by_token: dict[str, HttpConnection] = {}
        self._disconnect_timeout = disconnect_timeout
        self._send_buffer_limit = send_buffer_limit
        self._reaper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._by_token)

    def connections(self) -> list[HttpConnection]:
        return list(self._by_token.values())

    def create(self, negotiate_version: int) -> HttpConnection:
        connection_id = _new_id()
        # Version 0 clients address the connection by its id; version 1 by a
        # separate secret token, so the public id can be shared safely.
        token = _new_id() if negotiate_version >= 1 else connection_id
        loop = asyncio.get_running_loop()
        conn = HttpConnection(connection_id, token, negotiate_version, loop.time(), self._send_buffer_limit)
        self._by_token[token] = conn
        self._ensure_reaper()
        return conn

    def get(self, token: str) -> HttpConnection | None:
        return self._by_token.get(token)

    def remove(self, conn: HttpConnection) -> None:
        conn.status = ConnectionStatus.CLOSED
        if self._by_token.get(conn.connection_token) is conn:
            del self._by_token[conn.connection_token]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(
                self._reap_forever(), name="signalr-connection-reaper"
            )

    async def _reap_forever(self) -> None:
        interval = max(min(self._disconnect_timeout / 3, 1.0), 0.01)
        loop = asyncio.get_running_loop()
        while self._by_token:
            await asyncio.sleep(interval)
            deadline = loop.time() - self._disconnect_timeout
            for conn in list(self._by_token.values()):
                if conn.status is ConnectionStatus.NEW and conn.created_at <= deadline:
                    log.debug("Removing unused negotiated connection %s", conn.connection_id)
                    self.remove(conn)
                elif conn.status is ConnectionStatus.DISCONNECTED and conn.disconnected_at <= deadline:
                    log.debug("Connection %s did not reconnect in time", conn.connection_id)
                    self.remove(conn)
                    self._spawn(conn.finish(TimeoutError("The client did not reconnect in time.")))
                elif (
                    conn.status is ConnectionStatus.ACTIVE
                    and conn.transport is TransportType.LONG_POLLING
                    and (conn.poll is None or conn.poll.done())
                    and conn.last_seen <= deadline
                ):
                    # A long-polling client that stopped polling is gone.
                    log.debug("Long-polling connection %s stopped polling", conn.connection_id)
                    self.remove(conn)
                    self._spawn(conn.finish(TimeoutError("The client stopped polling.")))

    async def close(self) -> None:
        """Stop the reaper (called at application cleanup)."""
        task, self._reaper = self._reaper, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conn in list(self._by_token.values()):
            self.remove(conn)
            self._spawn(conn.finish(ConnectionError("The server is shutting down.")))
        if self._tasks:
            await asyncio.wait(list(self._tasks))
