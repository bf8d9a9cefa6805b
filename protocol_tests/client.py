"""A deliberately small, raw SignalR client for the conformance suite.

It speaks only HTTP and WebSocket (aiohttp's client, plus raw asyncio streams
for refused upgrades whose body matters) and never imports the server, so the
suite can run against any SignalR server (see ``README.md``).

Everything here is explicit about bytes: messages are built by hand in the
byte layout of the .NET writer, and every received message keeps the exact
bytes it arrived as (``Message.raw``) and the kind of WebSocket frame that
carried it. Receives always have a deadline (``asyncio.wait_for``); nothing
waits by sleeping (``poll`` sleeps only between probes of a state that has no
event to wait for).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import msgpack
from yarl import URL

__all__ = [
    "RS",
    "DEFAULT_TIMEOUT",
    "Message",
    "SocketClosed",
    "HubSocket",
    "NegotiateResponse",
    "negotiate",
    "open_socket",
    "connect",
    "upgrade_status",
    "raw_upgrade",
    "json_frame",
    "json_invocation",
    "varint",
    "mp_frame",
    "mp_pack",
    "mp_invocation",
    "split_mp_frames",
    "Client",
    "poll",
    "HttpResult",
    "transport_url",
    "http_request",
    "parse_messages",
    "TransportEnded",
    "SseEvent",
    "SseStream",
    "open_sse",
    "LongPollingConnection",
]

T = TypeVar("T")

RS = b"\x1e"
DEFAULT_TIMEOUT = 5.0
PING = 6
CLOSE = 7


# --------------------------------------------------------------- encoding


def json_frame(document: Any) -> bytes:
    """Compact JSON (raw UTF-8, key order kept) + the record separator."""
    if isinstance(document, (bytes, str)):
        text = document.encode("utf-8") if isinstance(document, str) else document
        return text + RS
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + RS


def json_invocation(target: str, arguments: Sequence[Any], invocation_id: str | None = None) -> bytes:
    """An Invocation in the .NET writer's property order."""
    doc: dict[str, Any] = {"type": 1}
    if invocation_id is not None:
        doc["invocationId"] = invocation_id
    doc["target"] = target
    doc["arguments"] = list(arguments)
    return json_frame(doc)


def varint(n: int) -> bytes:
    """The MessagePack length prefix: 7 bits per byte, least significant first."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def mp_frame(body: bytes) -> bytes:
    return varint(len(body)) + body


def mp_pack(value: Any) -> bytes:
    """Unframed MessagePack body (str as str, bytes as bin)."""
    return bytes(msgpack.packb(value, use_bin_type=True))


def mp_invocation(
    target: str,
    arguments: Sequence[Any],
    invocation_id: str | None = None,
    *,
    stream_ids: Sequence[str] | None = (),
) -> bytes:
    """A framed MessagePack Invocation: 6 elements, or 5 when ``stream_ids`` is None."""
    items: list[Any] = [1, {}, invocation_id, target, list(arguments)]
    if stream_ids is not None:
        items.append(list(stream_ids))
    return mp_frame(mp_pack(items))


def split_mp_frames(data: bytes) -> tuple[list[bytes], bytes]:
    """Cut ``data`` into complete framed MessagePack messages (prefix kept)."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        length = 0
        shift = 0
        i = pos
        while True:
            if i >= len(data):
                return out, data[pos:]
            byte = data[i]
            i += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 28:
                raise ValueError("MessagePack length prefix longer than 5 bytes")
        end = i + length
        if end > len(data):
            return out, data[pos:]
        out.append(data[pos:end])
        pos = end
    return out, b""


def _strip_prefix(framed: bytes) -> bytes:
    i = 0
    while framed[i] & 0x80:
        i += 1
    return framed[i + 1 :]


# ---------------------------------------------------------------- messages


@dataclass
class Message:
    """One message as received: exact framed bytes, decoded value, frame kind."""

    raw: bytes
    value: Any
    frame: str  # "text" or "binary": the WebSocket frame the message ended in
    protocol: str  # "handshake", "json" or "messagepack"

    @property
    def type(self) -> int | None:
        v = self.value
        if isinstance(v, dict):
            t = v.get("type")
            return t if isinstance(t, int) else None
        if isinstance(v, list) and v and isinstance(v[0], int):
            return int(v[0])
        return None

    @property
    def is_ping(self) -> bool:
        return self.type == PING and self.protocol != "handshake"

    # Field accessors that work for both protocols.
    @property
    def invocation_id(self) -> str | None:
        iid: str | None = None
        if isinstance(self.value, dict):
            iid = self.value.get("invocationId")
        elif self.type in (1, 2, 3, 4, 5):
            iid = self.value[2]
        return iid

    @property
    def error(self) -> str | None:
        v = self.value
        error: str | None = None
        if isinstance(v, dict):
            error = v.get("error")
        elif self.type == 3 and v[3] == 1:
            error = v[4]
        elif self.type == CLOSE:
            error = v[1]
        return error

    @property
    def result(self) -> Any:
        v = self.value
        if isinstance(v, dict):
            return v["result"]
        assert self.type == 3 and v[3] == 3, f"not a completion with result: {v!r}"
        return v[4]

    @property
    def allow_reconnect(self) -> bool:
        v = self.value
        if isinstance(v, dict):
            return bool(v.get("allowReconnect", False))
        return len(v) > 2 and bool(v[2])


class SocketClosed(Exception):
    """The WebSocket closed (or broke) while a message was expected."""

    def __init__(self, code: int | None, pending: list[Message]) -> None:
        super().__init__(f"WebSocket closed with code {code}")
        self.code = code
        self.pending = pending


@dataclass
class HubSocket:
    """One WebSocket to a hub, with SignalR message framing on top."""

    ws: aiohttp.ClientWebSocketResponse
    mode: str = "handshake"  # how incoming bytes are cut: handshake reply, then the protocol
    requested: str | None = None
    close_code: int | None = None
    _buffer: bytes = b""
    _queue: collections.deque[Message] = field(default_factory=collections.deque)
    _next_id: int = 0

    # ------------------------------------------------------------ sending

    async def send_text(self, data: bytes | str) -> None:
        """One TEXT frame (the payload must be valid UTF-8)."""
        await self.ws.send_str(data.decode("utf-8") if isinstance(data, bytes) else data)

    async def send_binary(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def send(self, data: bytes) -> None:
        """One frame of the kind the negotiated protocol uses (text for JSON)."""
        if self.protocol == "messagepack":
            await self.send_binary(data)
        else:
            await self.send_text(data)

    @property
    def protocol(self) -> str | None:
        return None if self.mode == "handshake" else self.mode

    def next_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def invocation(self, target: str, *args: Any, invocation_id: str | None = None) -> bytes:
        if self.protocol == "messagepack":
            return mp_invocation(target, args, invocation_id)
        return json_invocation(target, args, invocation_id)

    async def invoke(self, target: str, *args: Any, within: float = DEFAULT_TIMEOUT) -> Message:
        """Invoke and return the next non-ping message, which must be its Completion."""
        iid = self.next_id()
        await self.send(self.invocation(target, *args, invocation_id=iid))
        reply = await self.recv(within)
        assert reply.type == 3 and reply.invocation_id == iid, f"expected Completion {iid}, got {reply.raw!r}"
        return reply

    async def send_nonblocking(self, target: str, *args: Any) -> None:
        await self.send(self.invocation(target, *args))

    # ---------------------------------------------------------- handshake

    async def handshake(
        self,
        protocol: str = "json",
        version: int = 1,
        *,
        binary: bool = False,
        within: float = DEFAULT_TIMEOUT,
    ) -> Message:
        """Send the handshake request and return the reply (not checked)."""
        request = json_frame({"protocol": protocol, "version": version})
        self.requested = protocol
        if binary:
            await self.send_binary(request)
        else:
            await self.send_text(request)
        return await self.recv_handshake(within)

    async def recv_handshake(self, within: float = DEFAULT_TIMEOUT) -> Message:
        assert self.mode == "handshake"
        return await self.recv(within, ignore_pings=False)

    # ---------------------------------------------------------- receiving

    async def recv(self, within: float = DEFAULT_TIMEOUT, *, ignore_pings: bool = True) -> Message:
        """The next message; raises ``SocketClosed`` if the socket closes first
        and ``TimeoutError`` if nothing arrives within ``within`` seconds."""
        deadline = time.monotonic() + within
        while True:
            while self._queue:
                msg = self._queue.popleft()
                if ignore_pings and msg.is_ping:
                    continue
                return msg
            await self._read_frame(deadline)

    async def recv_until_close(self, within: float = DEFAULT_TIMEOUT) -> tuple[list[Message], int | None]:
        """Every message up to the WebSocket close, and the close code."""
        deadline = time.monotonic() + within
        messages: list[Message] = []
        try:
            while True:
                while self._queue:
                    messages.append(self._queue.popleft())
                await self._read_frame(deadline)
        except SocketClosed as closed:
            return messages + closed.pending, closed.code

    async def recv_close_message(self, within: float = DEFAULT_TIMEOUT) -> Message:
        """Skip pings; the next message must be a Close (returned)."""
        msg = await self.recv(within)
        assert msg.type == CLOSE, f"expected a Close message, got {msg.raw!r}"
        return msg

    async def expect_closed(self, within: float = DEFAULT_TIMEOUT) -> int | None:
        """Wait for the WebSocket to close; only pings may arrive before. Returns the code."""
        messages, code = await self.recv_until_close(within)
        others = [m for m in messages if not m.is_ping]
        assert not others, f"unexpected messages before the socket closed: {[m.raw for m in others]!r}"
        return code

    async def collect_for(self, seconds: float) -> list[Message]:
        """Read every message for ``seconds`` (a deadline, not a sleep); raises
        ``SocketClosed`` if the socket closes meanwhile."""
        deadline = time.monotonic() + seconds
        out: list[Message] = []
        while True:
            while self._queue:
                out.append(self._queue.popleft())
            try:
                await self._read_frame(deadline)
            except TimeoutError:
                return out

    async def _read_frame(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no message before the deadline")
        try:
            frame = await asyncio.wait_for(self.ws.receive(), remaining)
        except TimeoutError:
            raise TimeoutError("no message before the deadline") from None
        kind = frame.type
        if kind is aiohttp.WSMsgType.TEXT:
            self._feed(frame.data.encode("utf-8"), "text")
        elif kind is aiohttp.WSMsgType.BINARY:
            self._feed(frame.data, "binary")
        elif kind in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            if kind is aiohttp.WSMsgType.CLOSE:
                self.close_code = frame.data
            elif self.close_code is None:
                self.close_code = self.ws.close_code
            pending = list(self._queue)
            self._queue.clear()
            raise SocketClosed(self.close_code, pending)
        elif kind is aiohttp.WSMsgType.ERROR:
            pending = list(self._queue)
            self._queue.clear()
            raise SocketClosed(None, pending)

    def _feed(self, data: bytes, frame: str) -> None:
        self._buffer += data
        while self._buffer:
            if self.mode in ("handshake", "json"):
                end = self._buffer.find(RS)
                if end < 0:
                    return
                raw = self._buffer[: end + 1]
                self._buffer = self._buffer[end + 1 :]
                try:
                    value = json.loads(raw[:-1].decode("utf-8"))
                except ValueError:
                    value = None
                msg = Message(raw, value, frame, self.mode)
                self._queue.append(msg)
                if self.mode == "handshake" and isinstance(value, dict) and "error" not in value:
                    self.mode = self.requested or "json"
            else:
                frames, rest = split_mp_frames(self._buffer)
                if not frames:
                    return
                self._buffer = rest
                for raw in frames:
                    try:
                        value = msgpack.unpackb(
                            _strip_prefix(raw), raw=False, strict_map_key=False, timestamp=3
                        )
                    except Exception:  # noqa: BLE001 - keep the raw bytes for the assertion
                        value = None
                    self._queue.append(Message(raw, value, frame, "messagepack"))

    async def close(self) -> None:
        if not self.ws.closed:
            await self.ws.close()


# --------------------------------------------------------------- polling


async def poll(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, within: float, interval: float = 0.05
) -> T:
    """Call ``probe`` until ``done(result)`` or ``within`` seconds have passed;
    returns the last result. For states with no event to wait for (a server
    forgetting a connection), never as a substitute for reading a message."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if done(result) or time.monotonic() >= deadline:
            return result
        await asyncio.sleep(interval)


# ------------------------------------------------------------- negotiate


@dataclass
class NegotiateResponse:
    status: int
    content_type: str
    text: str
    pairs: list[tuple[str, Any]] | None  # top-level (key, value) pairs in wire order
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)  # the response headers
    reason: str | None = None

    @property
    def keys(self) -> list[str]:
        return [k for k, _ in self.pairs or []]


async def negotiate(
    session: aiohttp.ClientSession,
    hub_url: str,
    version: str | None = "1",
    *,
    method: str = "POST",
    extra_query: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> NegotiateResponse:
    url = URL(hub_url.rstrip("/") + "/negotiate")
    query = {} if version is None else {"negotiateVersion": version}
    query.update(extra_query or {})
    if query:
        url = url.with_query(query)
    async with session.request(method, url, headers=headers) as resp:
        text = await resp.text()
        pairs = None
        body = None
        if resp.status == 200:
            try:
                pairs = json.loads(text, object_pairs_hook=list)
                body = json.loads(text)
            except ValueError:
                pass
        return NegotiateResponse(resp.status, resp.content_type, text, pairs, body, resp.headers, resp.reason)


def _ws_url(hub_url: str, connection_id: str | None) -> URL:
    url = URL(hub_url)
    url = url.with_scheme({"http": "ws", "https": "wss"}.get(url.scheme, url.scheme))
    if connection_id is not None:
        url = url.update_query({"id": connection_id})
    return url


async def open_socket(
    session: aiohttp.ClientSession,
    hub_url: str,
    connection_id: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str] | None = None,
) -> HubSocket:
    """Open the WebSocket (``?id=`` when given, else skipNegotiation). Raises
    ``aiohttp.WSServerHandshakeError`` (with ``.status``) when refused."""
    url = _ws_url(hub_url, connection_id)
    if extra_query:
        url = url.update_query(extra_query)
    ws = await session.ws_connect(
        url, autoping=True, autoclose=True, max_msg_size=0, heartbeat=None, headers=headers
    )
    return HubSocket(ws)


async def upgrade_status(
    session: aiohttp.ClientSession,
    hub_url: str,
    connection_id: str | None,
    *,
    headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str] | None = None,
) -> int:
    """The status of a WebSocket upgrade: 101 (socket closed again at once) or the refusal."""
    try:
        sock = await open_socket(session, hub_url, connection_id, headers=headers, extra_query=extra_query)
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status
    await sock.close()
    return 101


async def raw_upgrade(
    hub_url: str, connection_id: str | None, *, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """Send a WebSocket upgrade request over a raw socket and return the
    status and body of a refusal (the body aiohttp's client would discard)."""
    url = _ws_url(hub_url, connection_id)
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    host = url.host or "127.0.0.1"
    port = url.port or (443 if url.scheme == "wss" else 80)
    ssl = url.scheme == "wss"
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ssl), DEFAULT_TIMEOUT)
    try:
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        request = (
            f"GET {url.raw_path_qs} HTTP/1.1\r\n"
            f"Host: {url.raw_host}:{port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            f"{extra}"
            "\r\n"
        )
        writer.write(request.encode("ascii"))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEFAULT_TIMEOUT)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = b""
        if status != 101:
            if "content-length" in headers:
                body = await asyncio.wait_for(
                    reader.readexactly(int(headers["content-length"])), DEFAULT_TIMEOUT
                )
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                body = await asyncio.wait_for(_read_chunked(reader), DEFAULT_TIMEOUT)
        return status, body
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readline()).strip().split(b";")[0], 16)
        if size == 0:
            await reader.readline()
            return body
        body += await reader.readexactly(size)
        await reader.readline()


async def connect(
    session: aiohttp.ClientSession,
    hub_url: str,
    protocol: str = "json",
    *,
    negotiated: bool = True,
) -> HubSocket:
    """Negotiate (v1), open the WebSocket with the token and complete the
    handshake; asserts that the handshake succeeded."""
    token = None
    if negotiated:
        neg = await negotiate(session, hub_url)
        assert neg.status == 200, neg.text
        token = neg.body["connectionToken"]
    sock = await open_socket(session, hub_url, token)
    reply = await sock.handshake(protocol)
    assert reply.raw == b"{}" + RS, f"handshake failed: {reply.raw!r}"
    return sock


# ------------------------------------------- SSE, long polling and POST


@dataclass
class HttpResult:
    """One complete HTTP response (headers are case-insensitive)."""

    status: int
    reason: str | None
    headers: Mapping[str, str]
    body: bytes
    elapsed: float  # seconds from sending the request to the end of the body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")


def transport_url(
    hub_url: str, connection_id: str | None, extra_query: Mapping[str, str] | None = None
) -> URL:
    """``{hub}?id=<connection_id>`` (no ``id`` when None) plus ``extra_query``."""
    url = URL(hub_url)
    if connection_id is not None:
        url = url.update_query({"id": connection_id})
    if extra_query:
        url = url.update_query(dict(extra_query))
    return url


async def http_request(
    session: aiohttp.ClientSession,
    method: str,
    url: URL | str,
    *,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    within: float = DEFAULT_TIMEOUT,
) -> HttpResult:
    """One request, its whole body read, all within ``within`` seconds."""
    start = time.monotonic()

    async def run() -> HttpResult:
        async with session.request(
            method, url, headers=headers, data=data, timeout=aiohttp.ClientTimeout(total=None)
        ) as resp:
            body = await resp.read()
            return HttpResult(resp.status, resp.reason, resp.headers, body, time.monotonic() - start)

    try:
        return await asyncio.wait_for(run(), within)
    except TimeoutError:
        raise TimeoutError(f"{method} {url} got no response within {within} s") from None


def _decode_json(raw: bytes) -> Any:
    try:
        return json.loads(raw[:-1].decode("utf-8"))
    except ValueError:
        return None


def _decode_mp(raw: bytes) -> Any:
    try:
        return msgpack.unpackb(_strip_prefix(raw), raw=False, strict_map_key=False, timestamp=3)
    except Exception:  # noqa: BLE001 - keep the raw bytes for the assertion
        return None


def parse_messages(data: bytes, protocol: str, *, frame: str, handshake: bool = False) -> list[Message]:
    """Cut one complete unit of transport data (an SSE event's data, a poll
    body) into messages. ``handshake``: it starts with the handshake reply.
    Raises ``ValueError`` if it ends inside a message: a message must never
    span events or poll bodies."""
    out: list[Message] = []
    if handshake:
        end = data.find(RS)
        if end < 0:
            raise ValueError(f"incomplete handshake reply: {data!r}")
        raw = data[: end + 1]
        value = _decode_json(raw)
        out.append(Message(raw, value, frame, "handshake"))
        data = data[end + 1 :]
        if not isinstance(value, dict) or "error" in value:
            protocol = "json"
    if protocol == "messagepack":
        frames, rest = split_mp_frames(data)
        if rest:
            raise ValueError(f"a MessagePack message is split: {rest!r} left over")
        out.extend(Message(raw, _decode_mp(raw), frame, "messagepack") for raw in frames)
    else:
        if data and not data.endswith(RS):
            raise ValueError(f"a JSON message is split: {data!r} does not end with 0x1E")
        for record in data.split(RS)[:-1]:
            raw = record + RS
            out.append(Message(raw, _decode_json(raw), frame, "json"))
    return out


class TransportEnded(Exception):
    """The SSE stream ended, or a poll answered 204, while a message was expected."""

    def __init__(self, what: str, pending: list[Message] | None = None) -> None:
        super().__init__(what)
        self.pending = pending or []


@dataclass
class SseEvent:
    raw: bytes  # the exact bytes, blank line included
    data: bytes  # the ``data:`` lines' values joined with ``\n`` (as an EventSource does)


class _HttpTransport:
    """What SSE and long polling share: POST to send, and message helpers."""

    session: aiohttp.ClientSession
    hub_url: str
    connection_id: str | None
    headers: Mapping[str, str] | None
    extra_query: Mapping[str, str] | None
    protocol: str
    _next_id: int

    def url(self) -> URL:
        return transport_url(self.hub_url, self.connection_id, self.extra_query)

    async def post(self, data: bytes, *, within: float = DEFAULT_TIMEOUT) -> HttpResult:
        """``POST {hub}?id=`` with the content type of the JS client."""
        content_type = (
            "application/octet-stream" if self.protocol == "messagepack" else "text/plain;charset=UTF-8"
        )
        headers = {"Content-Type": content_type, **(self.headers or {})}
        return await http_request(self.session, "POST", self.url(), headers=headers, data=data, within=within)

    async def send(self, data: bytes) -> None:
        """POST and require 200."""
        result = await self.post(data)
        assert result.status == 200, f"POST refused: {result.status} {result.body!r}"

    async def send_handshake(self, protocol: str = "json", version: int = 1) -> None:
        self.protocol = protocol
        await self.send(json_frame({"protocol": protocol, "version": version}))

    def next_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def invocation(self, target: str, *args: Any, invocation_id: str | None = None) -> bytes:
        if self.protocol == "messagepack":
            return mp_invocation(target, args, invocation_id)
        return json_invocation(target, args, invocation_id)

    async def recv(self, within: float = DEFAULT_TIMEOUT, *, ignore_pings: bool = True) -> Message:
        raise NotImplementedError

    async def invoke(self, target: str, *args: Any, within: float = DEFAULT_TIMEOUT) -> Message:
        """Invoke by POST and return the next non-ping message, which must be its Completion."""
        iid = self.next_id()
        await self.send(self.invocation(target, *args, invocation_id=iid))
        reply = await self.recv(within)
        assert reply.type == 3 and reply.invocation_id == iid, f"expected Completion {iid}, got {reply.raw!r}"
        return reply


class SseStream(_HttpTransport):
    """An open Server-Sent Events response, read with deadlines, plus POST."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        hub_url: str,
        connection_id: str | None,
        response: aiohttp.ClientResponse,
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> None:
        self.session = session
        self.hub_url = hub_url
        self.connection_id = connection_id
        self.headers = headers
        self.extra_query = extra_query
        self.protocol = "json"
        self._next_id = 0
        self.response = response
        self.status = response.status
        self.reason = response.reason
        self.response_headers = response.headers
        self.body = b""  # the whole body of a refused request
        self.ended = False
        self.handshake_pending = True
        self._buffer = b""
        self._queue: collections.deque[Message] = collections.deque()

    async def _read_more(self, deadline: float) -> None:
        if self.ended:
            raise TransportEnded("the event stream has ended")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no SSE data before the deadline")
        try:
            chunk = await asyncio.wait_for(self.response.content.readany(), remaining)
        except TimeoutError:
            raise TimeoutError("no SSE data before the deadline") from None
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
            chunk = b""
        if not chunk:
            self.ended = True
            raise TransportEnded("the event stream has ended")
        self._buffer += chunk

    async def read_exactly(self, n: int, within: float = DEFAULT_TIMEOUT) -> bytes:
        """The next ``n`` raw bytes of the stream."""
        deadline = time.monotonic() + within
        while len(self._buffer) < n:
            await self._read_more(deadline)
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    async def expect_preamble(self, within: float = DEFAULT_TIMEOUT) -> None:
        """The stream must start with exactly ``:\\r\\n`` (an SSE comment)."""
        first = await self.read_exactly(3, within)
        assert first == b":\r\n", f"the event stream starts with {first!r}"

    async def recv_event(self, within: float = DEFAULT_TIMEOUT) -> SseEvent:
        """The next event; every line must be ``data: <value>\\r\\n``."""
        deadline = time.monotonic() + within
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                raw, self._buffer = self._buffer[: end + 4], self._buffer[end + 4 :]
                lines = raw[:-4].split(b"\r\n")
                for line in lines:
                    if not line.startswith(b"data: "):
                        raise ValueError(f"not a 'data: ' line in SSE event {raw!r}")
                return SseEvent(raw, b"\n".join(line[6:] for line in lines))
            await self._read_more(deadline)

    async def recv(self, within: float = DEFAULT_TIMEOUT, *, ignore_pings: bool = True) -> Message:
        """The next message (events are cut into messages; none may span events)."""
        deadline = time.monotonic() + within
        while True:
            while self._queue:
                msg = self._queue.popleft()
                if ignore_pings and msg.is_ping:
                    continue
                return msg
            try:
                event = await self.recv_event(deadline - time.monotonic())
            except TransportEnded as ended:
                raise TransportEnded(str(ended), list(self._queue)) from None
            self._queue.extend(
                parse_messages(event.data, self.protocol, frame="event", handshake=self.handshake_pending)
            )
            self.handshake_pending = False

    async def handshake(
        self, protocol: str = "json", version: int = 1, *, within: float = DEFAULT_TIMEOUT
    ) -> Message:
        """POST the handshake request and return the reply from the stream."""
        await self.send_handshake(protocol, version)
        return await self.recv(within, ignore_pings=False)

    async def recv_until_end(self, within: float = DEFAULT_TIMEOUT) -> list[SseEvent]:
        """Every event up to the end of the stream (nothing may be left over)."""
        deadline = time.monotonic() + within
        events: list[SseEvent] = []
        while True:
            try:
                events.append(await self.recv_event(deadline - time.monotonic()))
            except TransportEnded:
                assert not self._buffer, f"the stream ended inside an event: {self._buffer!r}"
                return events

    async def close(self) -> None:
        self.response.close()


async def open_sse(
    session: aiohttp.ClientSession,
    hub_url: str,
    connection_id: str | None,
    *,
    headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, str] | None = None,
    within: float = DEFAULT_TIMEOUT,
) -> SseStream:
    """``GET {hub}?id=`` with ``Accept: text/event-stream``. Returns once the
    response head is in; a refusal's body is read into ``.body``."""
    url = transport_url(hub_url, connection_id, extra_query)
    request_headers = {"Accept": "text/event-stream", **(headers or {})}
    response = await asyncio.wait_for(
        session.get(url, headers=request_headers, timeout=aiohttp.ClientTimeout(total=None)), within
    )
    stream = SseStream(session, hub_url, connection_id, response, headers=headers, extra_query=extra_query)
    if response.status != 200:
        try:
            stream.body = await asyncio.wait_for(response.read(), within)
        finally:
            response.release()
        stream.ended = True
    return stream


class LongPollingConnection(_HttpTransport):
    """Polls (``GET {hub}?id=``), POSTs and DELETEs of one long-polling connection."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        hub_url: str,
        connection_id: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> None:
        self.session = session
        self.hub_url = hub_url
        self.connection_id = connection_id
        self.headers = headers
        self.extra_query = extra_query
        self.protocol = "json"
        self._next_id = 0
        self.handshake_pending = True
        self.deleted = False
        self._queue: collections.deque[Message] = collections.deque()

    async def poll(self, within: float = DEFAULT_TIMEOUT) -> HttpResult:
        """One long poll (the raw response)."""
        return await http_request(self.session, "GET", self.url(), headers=self.headers, within=within)

    async def pending_poll(self, within: float = DEFAULT_TIMEOUT) -> asyncio.Task[HttpResult]:
        """A poll known to be waiting on the server (nothing must be queued).

        Two polls are sent; the server ends the older one with 204 as soon as
        the newer one is registered, so once one has ended the other is
        pending there. Returns the task of the pending one (it runs up to
        ``within`` seconds more)."""
        polls = [asyncio.create_task(self.poll(within)) for _ in range(2)]
        done, _ = await asyncio.wait(polls, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        if len(done) != 1:
            for task in polls:
                task.cancel()
            raise AssertionError(f"expected one poll to end with 204, {len(done)} ended")
        ended = done.pop()
        result = ended.result()
        assert (result.status, result.body) == (204, b""), (result.status, result.body)
        return polls[1] if ended is polls[0] else polls[0]

    async def delete(self, within: float = DEFAULT_TIMEOUT) -> HttpResult:
        self.deleted = True
        return await http_request(self.session, "DELETE", self.url(), headers=self.headers, within=within)

    def feed(self, body: bytes) -> list[Message]:
        """Cut a poll body into messages (none may span bodies)."""
        messages = parse_messages(body, self.protocol, frame="poll", handshake=self.handshake_pending)
        self.handshake_pending = False
        return messages

    async def recv(self, within: float = DEFAULT_TIMEOUT, *, ignore_pings: bool = True) -> Message:
        """The next message, polling as needed; ``TransportEnded`` on a 204."""
        deadline = time.monotonic() + within
        while True:
            while self._queue:
                msg = self._queue.popleft()
                if ignore_pings and msg.is_ping:
                    continue
                return msg
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message before the deadline")
            result = await self.poll(remaining)
            if result.status == 204:
                raise TransportEnded("the poll answered 204: the connection is over")
            assert result.status == 200, f"poll failed: {result.status} {result.body!r}"
            self._queue.extend(self.feed(result.body))

    async def handshake(
        self, protocol: str = "json", version: int = 1, *, within: float = DEFAULT_TIMEOUT
    ) -> Message:
        """POST the handshake request and return the reply from the next poll(s)."""
        await self.send_handshake(protocol, version)
        return await self.recv(within, ignore_pings=False)

    async def close(self) -> None:
        if not self.deleted:
            await self.delete(2.0)


class Client:
    """The suite's entry point: one HTTP session against one server, and
    every socket it opened (closed at the end of the test)."""

    def __init__(self, session: aiohttp.ClientSession, server_url: str) -> None:
        self.session = session
        self.server_url = server_url.rstrip("/")
        self.sockets: list[HubSocket] = []
        self.streams: list[SseStream] = []
        self.pollers: list[LongPollingConnection] = []

    def url(self, hub: str) -> str:
        return f"{self.server_url}/hubs/{hub}"

    async def negotiate(
        self,
        hub: str = "test",
        version: str | None = "1",
        *,
        method: str = "POST",
        extra_query: dict[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> NegotiateResponse:
        return await negotiate(
            self.session, self.url(hub), version, method=method, extra_query=extra_query, headers=headers
        )

    async def open(
        self,
        hub: str = "test",
        connection_id: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> HubSocket:
        sock = await open_socket(
            self.session, self.url(hub), connection_id, headers=headers, extra_query=extra_query
        )
        self.sockets.append(sock)
        return sock

    async def connect(
        self, hub: str = "test", protocol: str = "json", *, negotiated: bool = True
    ) -> HubSocket:
        sock = await connect(self.session, self.url(hub), protocol, negotiated=negotiated)
        self.sockets.append(sock)
        return sock

    async def upgrade_status(
        self,
        hub: str,
        connection_id: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> int:
        return await upgrade_status(
            self.session, self.url(hub), connection_id, headers=headers, extra_query=extra_query
        )

    async def raw_upgrade(
        self, hub: str, connection_id: str | None, *, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        return await raw_upgrade(self.url(hub), connection_id, headers=headers)

    # ------------------------------------------------ SSE, long polling, POST

    async def request(
        self,
        method: str,
        hub: str,
        connection_id: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        data: bytes | None = None,
        within: float = DEFAULT_TIMEOUT,
    ) -> HttpResult:
        """Any request to ``{hub}?id=`` (e.g. a POST, a DELETE, a plain GET = a poll)."""
        url = transport_url(self.url(hub), connection_id, extra_query)
        return await http_request(self.session, method, url, headers=headers, data=data, within=within)

    async def open_sse(
        self,
        hub: str,
        connection_id: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> SseStream:
        """The SSE GET; check ``.status`` (a refusal's body is in ``.body``)."""
        stream = await open_sse(
            self.session, self.url(hub), connection_id, headers=headers, extra_query=extra_query
        )
        self.streams.append(stream)
        return stream

    async def sse_connect(
        self,
        hub: str = "test",
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> SseStream:
        """Negotiate, open the event stream and complete a JSON handshake by POST."""
        neg = await self.negotiate(hub, headers=headers, extra_query=dict(extra_query or {}))
        assert neg.status == 200, neg.text
        stream = await self.open_sse(
            hub, neg.body["connectionToken"], headers=headers, extra_query=extra_query
        )
        assert stream.status == 200, (stream.status, stream.body)
        await stream.expect_preamble()
        reply = await stream.handshake("json")
        assert reply.raw == b"{}" + RS, f"handshake failed: {reply.raw!r}"
        return stream

    def long_polling(
        self,
        hub: str,
        connection_id: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> LongPollingConnection:
        """A long-polling client for ``connection_id`` (no request is sent yet)."""
        conn = LongPollingConnection(
            self.session, self.url(hub), connection_id, headers=headers, extra_query=extra_query
        )
        self.pollers.append(conn)
        return conn

    async def lp_connect(
        self,
        hub: str = "test",
        protocol: str = "json",
        *,
        headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> LongPollingConnection:
        """Negotiate, make the first poll (200, empty) and complete the handshake."""
        neg = await self.negotiate(hub, headers=headers, extra_query=dict(extra_query or {}))
        assert neg.status == 200, neg.text
        conn = self.long_polling(hub, neg.body["connectionToken"], headers=headers, extra_query=extra_query)
        first = await conn.poll()
        assert (first.status, first.body) == (200, b""), (first.status, first.body)
        reply = await conn.handshake(protocol)
        assert reply.raw == b"{}" + RS, f"handshake failed: {reply.raw!r}"
        return conn

    async def aclose(self) -> None:
        async def close_one(sock: HubSocket) -> None:
            try:
                await asyncio.wait_for(sock.close(), 2.0)
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                pass

        await asyncio.gather(*(close_one(s) for s in self.sockets))

        async def close_other(transport: SseStream | LongPollingConnection) -> None:
            try:
                await asyncio.wait_for(transport.close(), 2.0)
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                pass

        others: list[SseStream | LongPollingConnection] = [*self.streams, *self.pollers]
        await asyncio.gather(*(close_other(t) for t in others))
