"""The Server-Sent Events transport (text only).

The GET response stays open; each batch of queued messages becomes one
event, one ``data:`` line per line, so a message is never split across
events. Client-to-server messages arrive by POST (see ``endpoint``). A
vanished client is noticed by housekeeping through ``transport_alive``,
because nothing is read from an SSE response.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from ..connections.connection import HttpConnection, TransportType
from ..connections.options import HttpConnectionOptions

__all__ = ["serve_sse", "format_event"]

log = logging.getLogger("pysignalr_server.transports")

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache,no-store",
    "Pragma": "no-cache",
    "Content-Encoding": "identity",
}


def format_event(data: bytes) -> bytes:
    """One event: ``data: <line>`` per line (trailing CR dropped), then a blank line."""
    out = bytearray()
    for line in data.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        out += b"data: "
        out += line
        out += b"\r\n"
    out += b"\r\n"
    return bytes(out)


async def serve_sse(
    request: web.Request,
    connection: HttpConnection,
    options: HttpConnectionOptions,
    extra_headers: Mapping[str, str],
) -> web.StreamResponse:
    connection.activate(TransportType.SERVER_SENT_EVENTS)
    response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **extra_headers})
    await response.prepare(request)
    await response.write(b":\r\n")

    def alive() -> bool:
        transport = request.transport
        return transport is not None and not transport.is_closing()

    connection.transport_alive = alive
    outbound = connection.outbound
    error: BaseException | None = None
    try:
        while True:
            data = await outbound.take(options.max_frame_coalesce)
            if data is None:
                break
            await response.write(format_event(data))
    except (ConnectionError, RuntimeError) as exc:
        log.debug("SSE write failed on %s: %s", connection.connection_id, exc)
        error = exc
    finally:
        await connection.finish(error)
    return response
