"""The long-polling transport.

The first poll of a connection returns at once with an empty 200 (clients
wait for it before sending the handshake). Later polls wait for data, up to
``long_polling_timeout``; a newer poll ends the older one with 204; a
finished connection answers 204. Long polling is its own keep-alive: no
pings, no client timeout. A client that stops polling is reaped by the
connection manager after ``disconnect_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..connections.connection import ConnectionStatus, HttpConnection, TransportType
from ..connections.options import HttpConnectionOptions

__all__ = ["serve_poll", "terminate"]

_BINARY = "application/octet-stream"


def _empty(status: int, headers: Mapping[str, str]) -> web.Response:
    return web.Response(status=status, body=b"", content_type=_BINARY, headers=headers)


async def serve_poll(
    request: web.Request,
    connection: HttpConnection,
    options: HttpConnectionOptions,
    headers: Mapping[str, str],
    start_application: bool,
) -> web.Response:
    loop = asyncio.get_running_loop()
    if start_application:
        connection.activate(TransportType.LONG_POLLING)
        connection.has_inherent_keep_alive = True
        connection.last_seen = loop.time()
        return _empty(200, headers)
    if connection.status is ConnectionStatus.CLOSED or connection.finished:
        return _empty(204, headers)
    previous = connection.poll
    if previous is not None and not previous.done():
        previous.set_result("superseded")
    mine: asyncio.Future[str] = loop.create_future()
    connection.poll = mine
    outbound = connection.outbound
    take = loop.create_task(outbound.take(options.max_frame_coalesce))
    try:
        waiters: set[asyncio.Future[Any]] = {take, mine}
        await asyncio.wait(waiters, timeout=options.long_polling_timeout, return_when="FIRST_COMPLETED")
    finally:
        if not take.done():
            take.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await take
        if connection.poll is mine:
            connection.poll = None
        connection.last_seen = loop.time()
    if take.done() and not take.cancelled():
        data = take.result()
        if data is not None:
            return web.Response(status=200, body=data, content_type=_BINARY, headers=headers)
        # Closed and drained: the connection is over.
        await connection.finish()
        return _empty(204, headers)
    if mine.done():
        return _empty(204, headers)
    return _empty(200, headers)  # poll timeout: the client polls again


async def terminate(connection: HttpConnection) -> None:
    """DELETE: end the pending poll with 204 and the connection."""
    poll = connection.poll
    if poll is not None and not poll.done():
        poll.set_result("terminated")
    await connection.finish()
