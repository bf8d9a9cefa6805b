"""Helpers shared by the integration tests: an in-process server (in the test's
own event loop or in a background thread) and a tiny raw SignalR client.

The client speaks JSON or MessagePack over aiohttp's WebSocket client and
keeps every received message in order. Every wait has a deadline
(``asyncio.wait_for``); nothing synchronizes by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
import msgpack
from aiohttp import WSMsgType, web

from protocol_tests.client import mp_frame

RS = b"\x1e"
DEADLINE = 5.0
CLOSED_WITH_ERROR = "Connection closed with an error."

T = TypeVar("T")


# ------------------------------------------------------------------ servers


async def start_server(app: web.Application, **runner_kwargs: Any) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 on a free port; returns (runner, "http://127.0.0.1:port")."""
    runner = web.AppRunner(app, **runner_kwargs)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


class LoopThread:
    """An event loop running in a daemon thread, for sync tests (hypothesis)
    that drive asyncio code: ``run(coro)`` waits for the result with a deadline."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-server-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def _cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(_cancel_rest(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# ------------------------------------------------------------------ framing


def json_record(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + RS


def handshake(protocol: str = "json", version: int = 1) -> bytes:
    return json_record({"protocol": protocol, "version": version})


class ClosedError(Exception):
    """The WebSocket closed while a message was expected."""


class RawClient:
    """One raw SignalR connection over aiohttp's WebSocket client."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self.handshake_response: dict[str, Any] | None = None
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.ws_closed = asyncio.Event()
        self._buffer = b""
        self._reader: asyncio.Task[None] | None = None

    # -- connecting

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, url: str, protocol: str = "json") -> RawClient:
        """Open the WebSocket only (no handshake)."""
        ws = await asyncio.wait_for(session.ws_connect(url, autoping=True, max_msg_size=0), DEADLINE)
        return cls(ws, protocol)

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, url: str, protocol: str = "json", version: int = 1
    ) -> RawClient:
        """Open the WebSocket, do the handshake and start reading messages."""
        client = await cls.open(session, url, protocol)
        await client.ws.send_str(handshake(protocol, version).decode())
        response = await client.read_handshake_response()
        assert response == {}, f"handshake failed: {response}"
        client.start_reader()
        return client

    async def read_handshake_response(self) -> dict[str, Any]:
        """Read frames until the handshake reply (a JSON record) is complete."""
        while RS not in self._buffer:
            data = await self._read_frame()
            if data is None:
                raise ClosedError(f"closed before the handshake reply; got {self._buffer!r}")
            self._buffer += data
        record, _, self._buffer = self._buffer.partition(RS)
        response = json.loads(record)
        assert isinstance(response, dict)
        self.handshake_response = response
        return response

    def start_reader(self) -> None:
        self._parse()  # bytes that came with the handshake reply
        self._reader = asyncio.get_running_loop().create_task(self._read_forever())

    # -- reading

    async def _read_frame(self) -> bytes | None:
        msg = await asyncio.wait_for(self.ws.receive(), DEADLINE)
        if msg.type is WSMsgType.TEXT:
            return str(msg.data).encode()
        if msg.type is WSMsgType.BINARY:
            return bytes(msg.data)
        self.ws_closed.set()
        return None

    async def _read_forever(self) -> None:
        try:
            while True:
                msg = await self.ws.receive()
                if msg.type is WSMsgType.TEXT:
                    self._buffer += str(msg.data).encode()
                elif msg.type is WSMsgType.BINARY:
                    self._buffer += bytes(msg.data)
                else:
                    break
                self._parse()
        finally:
            self.ws_closed.set()

    def _parse(self) -> None:
        if self.protocol == "json":
            *records, self._buffer = self._buffer.split(RS)
            for record in records:
                self.messages.put_nowait(json.loads(record))
            return
        while self._buffer:
            length = 0
            shift = 0
            i = 0
            while True:
                if i >= len(self._buffer):
                    return
                byte = self._buffer[i]
                i += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            if len(self._buffer) < i + length:
                return
            body = self._buffer[i : i + length]
            self._buffer = self._buffer[i + length :]
            self.messages.put_nowait(msgpack.unpackb(body, raw=False, strict_map_key=False))

    async def next(self, within: float = DEADLINE, skip_pings: bool = True) -> Any:
        """The next message (a dict for JSON, a list for MessagePack)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            get = asyncio.ensure_future(self.messages.get())
            closed = asyncio.ensure_future(self.ws_closed.wait())
            try:
                done, _ = await asyncio.wait(
                    {get, closed},
                    timeout=max(0.0, deadline - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                closed.cancel()
                if not get.done():
                    get.cancel()
            if get in done:
                message = get.result()
            elif not self.messages.empty():
                message = self.messages.get_nowait()
            elif closed in done:
                raise ClosedError("the WebSocket closed")
            else:
                raise TimeoutError("no message within the deadline")
            if skip_pings and message_type(message) == 6:
                continue
            return message

    async def wait_closed(self, within: float = DEADLINE) -> None:
        await asyncio.wait_for(self.ws_closed.wait(), within)

    # -- writing

    async def send_raw(self, data: bytes, binary: bool | None = None) -> None:
        if binary is None:
            binary = self.protocol != "json"
        await self.ws.send_frame(data, WSMsgType.BINARY if binary else WSMsgType.TEXT)

    async def send(self, message: Any) -> None:
        """Send a dict (JSON) or a list (MessagePack)."""
        if self.protocol == "json":
            await self.send_raw(json_record(message))
        else:
            await self.send_raw(mp_frame(msgpack.packb(message, use_bin_type=True)))

    def invocation(self, target: str, *args: Any, invocation_id: str | None = None) -> Any:
        if self.protocol == "json":
            doc: dict[str, Any] = {"type": 1, "target": target, "arguments": list(args)}
            if invocation_id is not None:
                doc["invocationId"] = invocation_id
            return doc
        return [1, {}, invocation_id, target, list(args), []]

    async def invoke(self, target: str, *args: Any, invocation_id: str = "1") -> Any:
        """Invoke and return the Completion; anything else arriving first
        (pings aside) fails the call."""
        await self.send(self.invocation(target, *args, invocation_id=invocation_id))
        message = await self.next()
        assert completion_id(message) == invocation_id, f"expected completion {invocation_id}: {message}"
        return message

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.ws.close()


def message_type(message: Any) -> int | None:
    if isinstance(message, dict):
        return message.get("type")
    if isinstance(message, list) and message:
        return message[0]
    return None


def completion_id(message: Any) -> str | None:
    if message_type(message) != 3:
        return None
    return message["invocationId"] if isinstance(message, dict) else message[2]


def completion_result(message: Any) -> Any:
    """The result of a Completion; fails if it carries an error."""
    assert message_type(message) == 3, message
    if isinstance(message, dict):
        assert "error" not in message, message
        return message.get("result")
    assert message[3] == 3, message
    return message[4]


def completion_error(message: Any) -> str:
    assert message_type(message) == 3, message
    if isinstance(message, dict):
        return str(message["error"])
    assert message[3] == 1, message
    return str(message[4])


def close_error(message: Any) -> str | None:
    assert message_type(message) == 7, message
    if isinstance(message, dict):
        return message.get("error")
    return message[1]
