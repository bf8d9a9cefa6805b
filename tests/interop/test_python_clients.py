"""Third-party Python SignalR clients from PyPI as independent peers.

* ``pysignalr`` 1.3 (asyncio; WebSockets only; JSON and MessagePack).
* ``signalrcore`` 1.0 (threads, synchronous API; WebSockets, Server-Sent
  Events and long polling; JSON and MessagePack).

Each client connects to ``/hubs/test`` of a conformance server (one
subprocess per module), echoes a non-ASCII string, adds 2 and 3, and
receives its own ``Broadcast`` through the ``Receive`` callback, on every
transport and protocol the library has.

Known bugs of signalrcore 1.0.2, worked around here or left untested:

* Long polling with MessagePack does not work: ``LongPollingTransport``
  always builds the text client (``is_binary`` is never passed), which
  frames responses by the JSON record separator, so MessagePack replies are
  never delivered; ``LongPollingBinaryClient.__init__`` itself raises
  ``TypeError`` (``super(LongPollingTextClient, self)``). Not tested.
* The long-polling client delivers only the first record of a poll response
  and keeps the rest until the next poll returns (up to the server's 90 s
  poll timeout), so the tests wait for each result before the next call.
* The long-polling client polls without the ``Authorization`` header (and
  retries a refused poll in a tight loop), so tokens are tested on
  WebSockets and Server-Sent Events only.
* ``stop()`` closes its socket without ``shutdown()``: the WebSockets and SSE
  reader threads (and ``stop()``, which joins them) stay blocked in
  ``recv()`` until the server next sends something (its 15 s keep-alive).
  The tests keep an endless server stream running while they stop.
* Server-Sent Events are text-only (as negotiated), so asking for
  MessagePack there falls back to JSON; that is checked.

pysignalr 1.3 has no ``stop()``: its WebSocket is closed only when its
``connect()`` generator is finalized, so the tests cancel ``run()`` and close
the socket themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import pytest
from pysignalr.client import SignalRClient
from pysignalr.messages import CompletionMessage as PyCompletion
from pysignalr.protocol.json import JSONProtocol
from pysignalr.protocol.messagepack import MessagepackProtocol
from signalrcore.hub.base_hub_connection import BaseHubConnection
from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.protocol.json_hub_protocol import JsonHubProtocol
from signalrcore.protocol.messagepack_protocol import MessagePackHubProtocol
from signalrcore.types import HttpTransportType, HubProtocolEncoding

from protocol_tests.server_process import conformance_server

DEADLINE = 10.0  # seconds for any single step
TEXT = "héllo wörld ✓ — 日本語 🚀"
T = TypeVar("T")


@pytest.fixture(scope="module")
def conformance_url() -> Iterator[str]:
    with conformance_server() as url:
        yield url


def unique(label: str) -> str:
    return f"{label} ✓ {uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------- pysignalr


@contextlib.asynccontextmanager
async def pysignalr_client(
    url: str, protocol: Any
) -> AsyncIterator[tuple[SignalRClient, asyncio.Queue[Any]]]:
    """A started ``SignalRClient`` and the queue of its ``Receive`` arguments."""
    client = SignalRClient(url, protocol=protocol, retry_count=1)
    opened = asyncio.Event()
    received: asyncio.Queue[Any] = asyncio.Queue()

    async def on_open() -> None:
        opened.set()

    async def on_receive(args: Any) -> None:
        received.put_nowait(args)

    async def on_error(message: Any) -> None:  # errors also reach the invocation callback
        pass

    client.on_open(on_open)
    client.on_error(on_error)
    client.on("Receive", on_receive)
    run = asyncio.create_task(client.run(), name="pysignalr run")
    open_wait = asyncio.create_task(opened.wait())
    try:
        done, _ = await asyncio.wait({run, open_wait}, timeout=DEADLINE, return_when=asyncio.FIRST_COMPLETED)
        if run in done:
            run.result()  # raises what ended it
            pytest.fail("pysignalr run() ended before the connection opened")
        if open_wait not in done:
            pytest.fail(f"pysignalr did not connect to {url} within {DEADLINE} s")
        yield client, received
    finally:
        open_wait.cancel()
        run.cancel()
        await asyncio.wait({run, open_wait}, timeout=DEADLINE)
        # No stop() in pysignalr 1.3: close the socket now instead of at generator finalization.
        ws = client._transport._ws
        if ws is not None:
            await asyncio.wait_for(ws.close(), DEADLINE)
        assert run.done(), "pysignalr run() did not stop"


async def pysignalr_invoke(client: SignalRClient, method: str, args: list[Any]) -> Any:
    completion: asyncio.Future[PyCompletion] = asyncio.get_running_loop().create_future()

    async def on_completion(message: Any) -> None:
        if not completion.done():
            completion.set_result(message)

    await client.send(method, args, on_invocation=on_completion)
    message = await asyncio.wait_for(completion, DEADLINE)
    assert message.error is None, f"{method} failed: {message.error}"
    return message.result


async def pysignalr_receive(received: asyncio.Queue[Any], message: str) -> list[Any]:
    """Wait for ``Receive(message)``; ignore anything else that was broadcast."""
    async with asyncio.timeout(DEADLINE):
        while True:
            args = await received.get()
            if args == [message]:
                return list(args)


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_pysignalr(conformance_url: str, protocol: str) -> None:
    proto = MessagepackProtocol() if protocol == "messagepack" else JSONProtocol()
    async with pysignalr_client(f"{conformance_url}/hubs/test", proto) as (client, received):
        assert await pysignalr_invoke(client, "Echo", [TEXT]) == TEXT
        assert await pysignalr_invoke(client, "Add", [2, 3]) == 5
        message = unique("pysignalr broadcast")
        await client.send("Broadcast", [message])
        assert await pysignalr_receive(received, message) == [message]


# ------------------------------------------------------------- signalrcore

TRANSPORTS = {
    "WebSockets": HttpTransportType.web_sockets,
    "ServerSentEvents": HttpTransportType.server_sent_events,
    "LongPolling": HttpTransportType.long_polling,
}
ENCODINGS = {"json": HubProtocolEncoding.text, "messagepack": HubProtocolEncoding.binary}


def call_with_deadline(fn: Callable[[], T], what: str, timeout: float = DEADLINE) -> T:
    """Run a blocking signalrcore call in a thread; fail if it takes longer than ``timeout``."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - re-raised in the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=target, name=f"test: signalrcore {what}", daemon=True)
    worker.start()
    if not done.wait(timeout):
        pytest.fail(f"signalrcore {what} did not return within {timeout} s")
    worker.join(timeout)
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


def library_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("Signalrcore")]


class CoreClient:
    """A signalrcore connection with deadline-bound, thread-safe waits."""

    def __init__(self, connection: BaseHubConnection) -> None:
        self.connection = connection
        self.opened = threading.Event()
        self.closed = threading.Event()
        self.errors: list[Any] = []
        self.received: queue.Queue[Any] = queue.Queue()
        connection.on_open(self.opened.set)
        connection.on_close(self.closed.set)
        connection.on_error(self.errors.append)  # completions with an error go here
        connection.on("Receive", self.received.put)

    def invoke(self, method: str, args: list[Any]) -> Any:
        done = threading.Event()
        results: list[Any] = []

        def on_completion(message: Any) -> None:
            results.append(message.result)
            done.set()

        call_with_deadline(
            lambda: self.connection.invoke(method, args, on_invocation=on_completion), f"invoke {method}"
        )
        assert done.wait(DEADLINE), f"no result for {method} within {DEADLINE} s; errors: {self.errors}"
        return results[0]

    def send(self, method: str, args: list[Any]) -> None:
        call_with_deadline(lambda: self.connection.invoke(method, args), f"invoke {method}")

    def receive(self, message: str) -> list[Any]:
        """Wait for ``Receive(message)``; ignore anything else that was broadcast."""
        deadline = time.monotonic() + DEADLINE
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                args = self.received.get(timeout=remaining)
            except queue.Empty:
                break
            if args == [message]:
                return list(args)
        pytest.fail(f"Receive({message!r}) did not arrive within {DEADLINE} s; errors: {self.errors}")


@contextlib.contextmanager
def signalrcore_client(
    url: str, transport: str, encoding: str, token: str | None = None
) -> Iterator[CoreClient]:
    options: dict[str, Any] = {"transport": TRANSPORTS[transport]}
    if token is not None:
        options["access_token_factory"] = lambda: token
    connection = (
        HubConnectionBuilder().with_url(url, options=options).with_hub_protocol(ENCODINGS[encoding]).build()
    )
    client = CoreClient(connection)
    started = False
    try:
        started = call_with_deadline(connection.start, "start")
        assert started, "signalrcore start() returned False"
        assert client.opened.wait(DEADLINE), f"no handshake within {DEADLINE} s"
        yield client
    finally:
        if started:
            if transport != "LongPolling":
                # Library bug (see the module docstring): keep the server sending so the
                # reader thread blocked in recv() wakes up and stop() can join it.
                call_with_deadline(lambda: connection.stream("Infinite", [0.05]), "stream")
            call_with_deadline(connection.stop, "stop")
            assert client.closed.wait(DEADLINE), "on_close was not called"
        for thread in library_threads():
            thread.join(DEADLINE)
        assert not library_threads(), f"signalrcore threads still running: {library_threads()}"


@pytest.mark.parametrize(
    ("transport", "encoding"),
    [
        ("WebSockets", "json"),
        ("WebSockets", "messagepack"),
        ("ServerSentEvents", "json"),
        ("LongPolling", "json"),
    ],
)
def test_signalrcore(conformance_url: str, transport: str, encoding: str) -> None:
    with signalrcore_client(f"{conformance_url}/hubs/test", transport, encoding) as client:
        expected = MessagePackHubProtocol if encoding == "messagepack" else JsonHubProtocol
        assert type(client.connection.protocol) is expected
        assert client.invoke("Echo", [TEXT]) == TEXT
        assert client.invoke("Add", [2, 3]) == 5
        message = unique(f"signalrcore {transport} {encoding}")
        client.send("Broadcast", [message])
        assert client.receive(message) == [message]
        assert client.errors == []


def test_signalrcore_messagepack_over_sse_falls_back_to_json(conformance_url: str) -> None:
    """SSE is negotiated as text-only, so signalrcore uses JSON even when asked for MessagePack."""
    with signalrcore_client(f"{conformance_url}/hubs/test", "ServerSentEvents", "messagepack") as client:
        assert type(client.connection.protocol) is JsonHubProtocol
        assert client.invoke("Echo", [TEXT]) == TEXT


@pytest.mark.parametrize("transport", ["WebSockets", "ServerSentEvents"])
def test_signalrcore_bearer_token(conformance_url: str, transport: str) -> None:
    with signalrcore_client(f"{conformance_url}/hubs/auth", transport, "json", token="user:bob") as client:
        assert client.invoke("Whoami", []) == {
            "identifier": "bob",
            "name": "Bob",
            "userIdentifier": "bob",
            "transport": transport,
        }
