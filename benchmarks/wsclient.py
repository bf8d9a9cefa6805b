"""A minimal WebSocket client for load generation: ``asyncio.Protocol``, no per-message task.

aiohttp's client costs a task wake-up, a ``WSMessage`` and a queue hand-off per message; with
1,000 receivers on a 2-core machine the generators then used more CPU than the server they
measured. This client parses server frames (unmasked, RFC 6455 §5.2) straight out of
``data_received`` and hands each text/binary payload to a callback, so a receiving
connection costs a few microseconds per message.

It is deliberately small: no extensions, no fragmentation across frames (servers here never
fragment), close and ping handled, frames it sends use a zero mask key (legal: the key only
has to be present).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

OnMessage = Callable[[int, bytes], None]


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame with mask key 0 (payload bytes unchanged by the mask)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


class WsClientProtocol(asyncio.Protocol):
    """Upgrade, then parse frames; ``on_message(opcode, payload)`` for text and binary."""

    def __init__(self, request: bytes, on_message: OnMessage | None = None) -> None:
        self._request = request
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buf = bytearray()
        self._first: asyncio.Future[tuple[int, bytes]] | None = None
        self._pending: list[tuple[int, bytes]] = []  # data frames before anyone consumes them
        self._raw: Callable[[bytes], None] | None = None

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        if self._raw is not None:
            self._raw(data)
            return
        buf = self._buf
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                self.upgraded.set_exception(ConnectionError(f"upgrade refused: {status!r}"))
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded.set_result(None)
        self._parse()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(exc or ConnectionError("closed before upgrade"))
        if self._first is not None and not self._first.done():
            self._first.set_exception(exc or ConnectionError("closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    # -- frames

    def _parse(self) -> None:
        buf = self._buf
        pos, size = 0, len(buf)
        on_message = self.on_message
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n = b1 & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if size - pos < head + n:
                break
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            opcode = b0 & 0x0F
            if opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                if self._first is not None and not self._first.done():
                    self._first.set_result((opcode, payload))
                elif on_message is not None:
                    on_message(opcode, payload)
                else:
                    self._pending.append((opcode, payload))
            elif opcode == OP_PING:
                self.send(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self.send(OP_CLOSE, payload[:2])
                assert self.transport is not None
                self.transport.close()
                break
        if pos:
            del buf[:pos]

    # -- API

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        self.send(OP_TEXT, text.encode())

    async def receive_first(self, timeout: float = 30.0) -> tuple[int, bytes]:
        """The next data frame, for handshakes before ``on_message`` takes over."""
        if self._pending:
            return self._pending.pop(0)
        self._first = asyncio.get_running_loop().create_future()
        self._parse()  # a frame may already sit in the buffer
        try:
            return await asyncio.wait_for(self._first, timeout)
        finally:
            self._first = None

    def start_raw(self, on_data: Callable[[bytes], None]) -> None:
        """From now on hand the raw bytes of every read to ``on_data``, frames
        unparsed (for receivers that only scan for markers; see fanout.py).
        Nothing is sent back from then on: no pong, no close reply."""
        self._raw = on_data
        pending, self._pending = self._pending, []
        for _, payload in pending:  # frames already split off: their payloads will do
            on_data(payload)
        if self._buf:
            data, self._buf = bytes(self._buf), bytearray()
            on_data(data)

    def start(self, on_message: OnMessage) -> None:
        """Hand every data frame from now on (and any already queued) to ``on_message``."""
        self.on_message = on_message
        pending, self._pending = self._pending, []
        for opcode, payload in pending:
            on_message(opcode, payload)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.send(OP_CLOSE, struct.pack("!H", 1000))
            self.transport.close()


async def ws_connect(
    url: str, on_message: OnMessage | None = None, timeout: float = 30.0
) -> WsClientProtocol:
    """Open ``ws://host:port/path?query`` and return the protocol once upgraded."""
    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    target = (u.path or "/") + (f"?{u.query}" if u.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: WsClientProtocol(request, on_message), host, port)
    await asyncio.wait_for(proto.upgraded, timeout)
    return proto
