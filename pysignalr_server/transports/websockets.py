"""The WebSockets transport on aiohttp.

Two loops per connection: this request handler reads frames and feeds them
to the application (awaiting it, so a busy connection stops reading rather
than buffering without bound), and a writer task drains the outbound
buffer, joining queued messages into one frame. JSON goes out in text
frames and MessagePack in binary frames; incoming frames are parsed by the
negotiated protocol whatever their type (the Java client sends JSON as
binary).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from ..connections.buffer import OutboundBuffer
from ..connections.connection import ConnectionStatus, HttpConnection
from ..connections.options import HttpConnectionOptions

__all__ = ["serve_websocket"]

log = logging.getLogger("pysignalr_server.transports")

_DATA = (WSMsgType.TEXT, WSMsgType.BINARY)
_END = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)


async def serve_websocket(
    request: web.Request,
    connection: HttpConnection,
    options: HttpConnectionOptions,
    max_message_size: int | None,
    resumed: bool = False,
) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(
        compress=False,
        autoping=True,
        decode_text=False,
        timeout=options.websocket_close_timeout,
        max_msg_size=0 if max_message_size is None else max(4 * 1024 * 1024, 4 * max_message_size),
    )
    await ws.prepare(request)
    application = connection.application
    assert application is not None
    transport = request.transport

    def abort() -> None:
        if transport is not None and not transport.is_closing():
            transport.abort()

    connection.abort_transport = abort
    if resumed:
        application.transport_resumed()
    # The writer task exists only while there is something to write: most of
    # the time the direct sink writes, and an idle connection holds no task.
    loop = asyncio.get_running_loop()
    my_outbound = connection.outbound
    writer: asyncio.Task[None] | None = None

    def start_writer() -> None:
        nonlocal writer
        if writer is None or writer.done():
            writer = loop.create_task(
                _write_loop(ws, connection, my_outbound, options),
                name=f"signalr-ws-writer-{connection.connection_id}",
            )

    my_outbound.set_on_queued(start_writer)
    if my_outbound.size or my_outbound.closed:
        start_writer()  # replayed messages of a stateful reconnect, queued before this socket
    if transport is not None:
        my_outbound.set_direct(_direct_sink(ws, transport, connection))
    error: BaseException | None = None
    try:
        while True:
            msg = await ws.receive()
            kind = msg.type
            if kind in _DATA:
                data = msg.data
                await application.receive(data if isinstance(data, bytes) else data.encode("utf-8"))
            elif kind in _END:
                break
            elif kind is WSMsgType.ERROR:
                error = ws.exception()
                break
    except asyncio.CancelledError:
        error = ConnectionError("The server is shutting down.")
        raise
    except Exception as exc:
        log.exception("Unexpected error on WebSocket connection %s", connection.connection_id)
        error = exc
    finally:
        outbound = connection.outbound
        outbound.set_direct(None)
        reconnecting = connection.reconnectable and not connection.ending and not connection.finished
        if not reconnecting:
            connection.status = ConnectionStatus.CLOSED
        outbound.close(discard=True)
        if connection.close_error is not None and error is None:
            error = connection.close_error
        if writer is None or writer.done():
            start_writer()  # one last writer closes the WebSocket
        if writer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(writer, options.websocket_close_timeout + 1.0)
            if not writer.done():
                writer.cancel()
        my_outbound.set_on_queued(None)
        if not ws.closed:
            abort()
        if reconnecting and connection.outbound is outbound:
            log.debug("WebSocket of %s dropped; waiting for a stateful reconnect", connection.connection_id)
            connection.pause(asyncio.get_running_loop().time())
        elif not reconnecting:
            try:
                await connection.finish(error)
            except Exception:
                log.exception("Error cleaning up connection %s", connection.connection_id)
    return ws


def _direct_sink(
    ws: web.WebSocketResponse, transport: asyncio.BaseTransport, connection: HttpConnection
) -> Callable[[bytes], bool]:
    """Write one unfragmented, unmasked, uncompressed frame (RFC 6455 §5.2)
    straight to the socket while it has no backlog; refuse otherwise, so a
    slow client's data waits in the bounded outbound buffer instead."""
    assert isinstance(transport, asyncio.WriteTransport)
    get_backlog = transport.get_write_buffer_size
    is_closing = transport.is_closing
    write = transport.write

    def sink(data: bytes) -> bool:
        if get_backlog() or is_closing() or ws.closed:
            return False
        write(_frame(_BINARY_FIN if connection.binary else _TEXT_FIN, data))
        return True

    return sink


def _frame(first: int, data: bytes) -> bytes:
    """The frame for ``data``. A broadcast hands the same bytes object to
    every connection of a protocol in turn, so the last frame built is kept
    and reused while the same object comes back (holding it keeps the object
    alive, so its identity cannot be taken by another)."""
    cached = _last_frame
    if cached[0] is data and cached[1] == first:
        hit: bytes = cached[2]
        return hit
    n = len(data)
    if n < 126:
        frame = bytes((first, n)) + data
    elif n < 65536:
        frame = _LEN16(first, 126, n) + data
    else:
        frame = _LEN64(first, 127, n) + data
    _last_frame[:] = (data, first, frame)
    return frame


_last_frame: list[Any] = [None, 0, b""]
_TEXT_FIN = 0x81
_BINARY_FIN = 0x82
_LEN16 = struct.Struct("!BBH").pack
_LEN64 = struct.Struct("!BBQ").pack


async def _write_loop(
    ws: web.WebSocketResponse,
    connection: HttpConnection,
    outbound: OutboundBuffer,
    options: HttpConnectionOptions,
) -> None:
    """Drain what queued (joined into frames of up to ``max_frame_coalesce``),
    then end; the buffer starts another writer when data queues again. Once
    the buffer is closed and drained, close the WebSocket."""
    limit = options.max_frame_coalesce
    try:
        while True:
            data = outbound.take_nowait(limit)
            if data is None:
                if not outbound.closed:
                    return  # idle: nothing to close
                break
            await ws.send_frame(data, WSMsgType.BINARY if connection.binary else WSMsgType.TEXT)
    except (ConnectionError, RuntimeError) as exc:
        log.debug("WebSocket write failed on %s: %s", connection.connection_id, exc)
        outbound.close(discard=True)
    if not ws.closed:
        if outbound.overflowed:
            connection.abort()
        else:
            with contextlib.suppress(Exception):
                await ws.close(code=1000)
