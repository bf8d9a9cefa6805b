"""A client that stops reading is dropped; everyone else gets everything.

One raw client does the WebSocket upgrade and the handshake by hand on a
socket with a tiny receive buffer, then never reads again. A hundred other
clients each receive all 1,000 broadcasts of a 16 KB payload, in order. The
server must close the stalled connection once its bounded outbound buffer
(``send_buffer_limit``) overflows, instead of buffering without bound or
slowing the others down.

The producer keeps a window of at most ``WINDOW`` broadcasts ahead of the
slowest *healthy* client (it waits on an event the readers set; no sleeps),
so a healthy client's queue stays far below the limit while the stalled
client's grows by every broadcast.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from integration_support import RS, start_server

import pysignalr_server as signalr
from pysignalr_server.app import SIGNALR_KEY
from pysignalr_server.connections import connection as connection_module
from pysignalr_server.connections.buffer import OutboundBuffer

CLIENTS = 100
BROADCASTS = 1_000
PAYLOAD = "x" * (16 * 1024)
SEND_BUFFER_LIMIT = 256 * 1024
WINDOW = 6
DEADLINE = 10.0
PREFIX = b'{"type":1,"target":"Tick","arguments":['
SUFFIX = b',"' + PAYLOAD.encode() + b'"]}'


class TrackingBuffer(OutboundBuffer):
    """Records the largest number of bytes ever queued."""

    instances: list[TrackingBuffer] = []  # noqa: RUF012 - reset per test

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.peak = 0
        TrackingBuffer.instances.append(self)

    def write(self, data: bytes) -> bool:
        accepted = super().write(data)
        self.peak = max(self.peak, self.size)
        return accepted


async def wait_until(predicate: Callable[[], bool], changed: asyncio.Event, what: str) -> None:
    """Re-check ``predicate`` each time ``changed`` is set, with a deadline."""

    async def loop() -> None:
        while not predicate():
            changed.clear()
            await changed.wait()

    try:
        await asyncio.wait_for(loop(), DEADLINE)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


class State:
    def __init__(self) -> None:
        self.connected: set[str] = set()
        self.disconnected: dict[str, Exception | None] = {}
        self.changed = asyncio.Event()

    async def wait(self, predicate: Callable[[], bool], what: str) -> None:
        await wait_until(predicate, self.changed, what)


STATE = web.AppKey("state", State)


class BroadcastHub(signalr.Hub):
    async def on_connected(self) -> None:
        state = self.context.request.app[STATE]
        state.connected.add(self.context.connection_id)
        state.changed.set()

    async def on_disconnected(self, exception: Exception | None) -> None:
        state = self.context.request.app[STATE]
        state.disconnected[self.context.connection_id] = exception
        state.changed.set()


class Reader:
    """A healthy client: counts Tick messages and checks their order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, progress: asyncio.Event) -> None:
        self.ws = ws
        self.received = 0
        self.errors: list[str] = []
        self._progress = progress
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        buffer = b""
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            buffer += msg.data.encode()
            *records, buffer = buffer.split(RS)
            for record in records:
                if record == b'{"type":6}':
                    continue
                self._check(record)
            self._progress.set()

    def _check(self, record: bytes) -> None:
        head = PREFIX + str(self.received).encode()
        intact = len(record) == len(head) + len(SUFFIX) and record.endswith(SUFFIX)
        if not (intact and record.startswith(head)):
            self.errors.append(f"message {self.received}: {record[:80]!r}... ({len(record)} bytes)")
        self.received += 1


async def negotiate(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with session.post(f"{base}/hub/negotiate?negotiateVersion=1") as response:
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


async def stalled_client(port: int, token: str) -> socket.socket:
    """Upgrade and handshake by hand on a socket with a tiny receive buffer;
    the caller never reads it again (until the end)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), DEADLINE)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /hub?id={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 1), DEADLINE)
        assert chunk, f"closed during the upgrade: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    payload = b'{"protocol":"json","version":1}' + RS
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    await loop.sock_sendall(sock, bytes((0x81, 0x80 | len(payload))) + mask + masked)
    return sock


async def drain_until_eof(sock: socket.socket) -> int:
    """Read everything the kernel still holds; returns the byte count once the
    server's close (EOF or reset) is reached."""
    loop = asyncio.get_running_loop()
    total = 0

    async def read() -> None:
        nonlocal total
        while True:
            try:
                chunk = await loop.sock_recv(sock, 1 << 16)
            except ConnectionResetError:
                return
            if not chunk:
                return
            total += len(chunk)

    await asyncio.wait_for(read(), DEADLINE)
    return total


@pytest.fixture
def tracking_buffers(monkeypatch: pytest.MonkeyPatch) -> list[TrackingBuffer]:
    TrackingBuffer.instances = []
    monkeypatch.setattr(connection_module, "OutboundBuffer", TrackingBuffer)
    return TrackingBuffer.instances


async def test_stalled_client_is_dropped_while_others_receive_everything(
    tracking_buffers: list[TrackingBuffer],
) -> None:
    app = web.Application()
    state = app[STATE] = State()
    signalr.setup(app)
    app.add_hub(  # type: ignore[attr-defined]
        "/hub",
        BroadcastHub,
        connection_options=signalr.HttpConnectionOptions(send_buffer_limit=SEND_BUFFER_LIMIT),
    )
    runner, base = await start_server(app)
    port = int(base.rsplit(":", 1)[1])
    session = aiohttp.ClientSession()
    progress = asyncio.Event()
    readers: list[Reader] = []
    sock: socket.socket | None = None
    try:
        # The stalled client first, so its connection id is known.
        negotiated = await negotiate(session, base)
        stalled_id = negotiated["connectionId"]
        sock = await stalled_client(port, negotiated["connectionToken"])
        await state.wait(lambda: stalled_id in state.connected, "the stalled client's handshake")

        for _ in range(CLIENTS):
            ws = await asyncio.wait_for(session.ws_connect(f"{base}/hub", max_msg_size=0), DEADLINE)
            await ws.send_str('{"protocol":"json","version":1}\x1e')
            reply = await asyncio.wait_for(ws.receive(), DEADLINE)
            assert reply.data == "{}\x1e"
            readers.append(Reader(ws, progress))
        await state.wait(lambda: len(state.connected) == CLIENTS + 1, "every handshake")

        context = signalr.get_hub_context(app, BroadcastHub)

        async def produce() -> None:
            for i in range(BROADCASTS):
                behind = i - WINDOW
                await wait_until(lambda n=behind: min(r.received for r in readers) >= n, progress, "readers")
                await context.clients.all.send("Tick", i, PAYLOAD)

        await asyncio.wait_for(produce(), 30)
        await wait_until(lambda: all(r.received >= BROADCASTS for r in readers), progress, "all deliveries")
        await state.wait(lambda: stalled_id in state.disconnected, "the stalled client's disconnect")

        # Every healthy client got exactly the 1,000 broadcasts, intact and in order.
        assert [r.errors for r in readers if r.errors] == []
        assert [r.received for r in readers] == [BROADCASTS] * CLIENTS
        # ... and none of them was disconnected.
        assert list(state.disconnected) == [stalled_id]

        # The stalled connection was closed by the server, with an error.
        exception = state.disconnected[stalled_id]
        assert isinstance(exception, ConnectionError), repr(exception)
        endpoint = app[SIGNALR_KEY].endpoints[0]
        assert stalled_id not in {c.connection_id for c in endpoint.all_connections()}
        received_by_stalled = await drain_until_eof(sock)  # EOF or reset, after the kernel's bytes
        assert received_by_stalled < BROADCASTS * len(PAYLOAD) // 2

        # Memory stayed bounded: no buffer ever held more than the limit, and
        # the stalled one overflowed and was emptied.
        assert len(tracking_buffers) == CLIENTS + 1
        stalled_buffer = tracking_buffers[0]
        assert stalled_buffer.overflowed and stalled_buffer.closed and stalled_buffer.size == 0
        assert max(b.peak for b in tracking_buffers) <= SEND_BUFFER_LIMIT
        assert all(not b.overflowed for b in tracking_buffers[1:])
        assert max(b.peak for b in tracking_buffers[1:]) <= (WINDOW + 2) * (len(PAYLOAD) + 64)
    finally:
        for reader in readers:
            reader.task.cancel()
        await asyncio.gather(*(r.task for r in readers), return_exceptions=True)
        for reader in readers:
            await reader.ws.close()
        if sock is not None:
            sock.close()
        await session.close()
        await runner.cleanup()
