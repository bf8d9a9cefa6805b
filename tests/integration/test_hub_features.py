"""Hub features end to end, with an in-process server and a raw client:
hub contexts used from HTTP handlers, lifecycle hooks, per-connection items,
hub instances, the request, invocation concurrency, options and shutdown.

Waits are on events with deadlines; where an order must be proven, the test
observes messages whose relative order only a correct server produces.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from integration_support import (
    CLOSED_WITH_ERROR,
    DEADLINE,
    RS,
    RawClient,
    close_error,
    completion_error,
    completion_id,
    completion_result,
    json_record,
    message_type,
)

import pysignalr_server as signalr
from pysignalr_server.app import SIGNALR_KEY
from pysignalr_server.errors import InvalidDataError
from pysignalr_server.hub.connection import HubConnectionContext

HUB_PATH = "/hubs/feature"
NOPE_ERROR = "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist."

_serials = itertools.count(1)


class FeatureState:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self.log: list[str] = []
        self.changed = asyncio.Event()
        self._gates: dict[str, asyncio.Event] = {}

    def record(self, kind: str, connection_id: str, detail: Any = None) -> None:
        self.events.append((kind, connection_id, detail))
        self.changed.set()

    def note(self, entry: str) -> None:
        self.log.append(entry)
        self.changed.set()

    def gate(self, name: str) -> asyncio.Event:
        return self._gates.setdefault(name, asyncio.Event())

    def count(self, kind: str, connection_id: str) -> int:
        return sum(1 for k, c, _ in self.events if k == kind and c == connection_id)

    def detail(self, kind: str, connection_id: str) -> Any:
        return next(d for k, c, d in self.events if k == kind and c == connection_id)

    async def wait(self, predicate: Callable[[], bool], what: str) -> None:
        async def loop() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(loop(), DEADLINE)
        except TimeoutError:
            detail = f"log={self.log} events={self.events}"
            raise AssertionError(f"timed out waiting for {what}; {detail}") from None


STATE = web.AppKey("feature_state", FeatureState)


class FeatureHub(signalr.Hub):
    def __init__(self) -> None:
        self.serial = next(_serials)

    @property
    def state(self) -> FeatureState:
        return self.context.request.app[STATE]

    async def on_connected(self) -> None:
        self.context.items["connected by"] = self.serial
        self.state.record("connected", self.context.connection_id)

    async def on_disconnected(self, exception: Exception | None) -> None:
        # The aborted event is made on first use: asked for only now, it must already be set.
        self.state.record("aborted at disconnect", self.context.connection_id, self.context.aborted.is_set())
        self.state.record("disconnected", self.context.connection_id, exception)

    async def wait_aborted(self) -> None:
        self.state.note("waiting for abort")
        await self.context.aborted.wait()
        self.state.note(f"aborted seen, is_aborted={self.context.is_aborted}")

    async def connection_id(self) -> str:
        return self.context.connection_id

    async def set_item(self, key: str, value: Any) -> None:
        self.context.items[key] = value

    async def get_item(self, key: str) -> Any:
        return self.context.items.get(key)

    async def serial_number(self) -> int:
        return self.serial

    async def mark_instance(self) -> bool:
        """True if this hub instance was already used (it never should be)."""
        used = getattr(self, "used", False)
        self.used = True
        return used

    async def query(self, name: str) -> str | None:
        return self.context.request.query.get(name)

    async def request_info(self) -> list[Any]:
        request, context = self.context.request, self.context
        return [isinstance(request, web.Request), request.path, context.transport, context.user_identifier]

    async def join(self, group: str) -> None:
        await self.groups.add(self.context.connection_id, group)

    async def block(self, name: str) -> str:
        self.state.note(f"start {name}")
        try:
            await self.state.gate(name).wait()
        except asyncio.CancelledError:
            self.state.note(f"cancelled {name}")
            raise
        self.state.note(f"end {name}")
        return name


class OtherHub(signalr.Hub):
    pass


def query_user(session: HubConnectionContext) -> str | None:
    return session.connection.request.query.get("user")  # type: ignore[no-any-return]


async def notify(request: web.Request) -> web.Response:
    """An ordinary aiohttp handler that sends through the hub context."""
    context = signalr.get_hub_context(request.app, FeatureHub)
    target, value = request.match_info["target"], request.match_info["value"]
    text = await request.text()
    if target == "all":
        await context.clients.all.send("Notify", text)
    elif target == "group":
        await context.clients.group(value).send("Notify", text)
    elif target == "user":
        await context.clients.user(value).send("Notify", text)
    else:
        raise web.HTTPNotFound()
    return web.Response(text="sent")


class Server:
    def __init__(self, app: web.Application, runner: web.AppRunner, base: str) -> None:
        self.app = app
        self.runner = runner
        self.base = base
        self.state = app[STATE]
        self.session = aiohttp.ClientSession()
        self.clients: list[RawClient] = []
        self.stopped = False

    async def connect(self, protocol: str = "json", query: str = "") -> RawClient:
        client = await RawClient.connect(self.session, f"{self.base}{HUB_PATH}{query}", protocol)
        self.clients.append(client)
        return client

    async def post(self, path: str, body: str) -> None:
        async with self.session.post(self.base + path, data=body) as response:
            assert response.status == 200, await response.text()

    def session_of(self, connection_id: str) -> HubConnectionContext:
        handler = self.app[SIGNALR_KEY].handlers[0]
        return next(s for s in handler.sessions if s.connection_id == connection_id)

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await asyncio.wait_for(self.runner.cleanup(), 10)

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.session.close()
        await self.stop()


Start = Callable[..., Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[Start]:
    servers: list[Server] = []

    async def start(options: signalr.HubOptions | None = None, shutdown_grace: float = 5.0) -> Server:
        app = web.Application()
        app[STATE] = FeatureState()
        signalr.setup(app, user_id_provider=query_user, shutdown_grace=shutdown_grace)
        app.add_hub(HUB_PATH, FeatureHub, options=options)  # type: ignore[attr-defined]
        app.router.add_post("/notify/{target}/{value}", notify)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        server = Server(app, runner, f"http://127.0.0.1:{port}")
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def invoke(client: RawClient, target: str, *args: Any, iid: str = "1") -> Any:
    return completion_result(await client.invoke(target, *args, invocation_id=iid))


async def connection_id(client: RawClient) -> str:
    result = await invoke(client, "ConnectionId", iid="cid")
    assert isinstance(result, str)
    return result


async def notifications_until_end(client: RawClient) -> list[str]:
    texts = []
    while True:
        message = await client.next()
        assert message_type(message) == 1 and message["target"] == "Notify", message
        (text,) = message["arguments"]
        if text == "end":
            return texts
        texts.append(text)


def invocation(target: str, *args: Any, iid: str) -> bytes:
    return json_record({"type": 1, "invocationId": iid, "target": target, "arguments": list(args)})


# --------------------------------------------------------- hub context


async def test_hub_context_from_an_http_handler(serve: Start) -> None:
    server = await serve()
    alice1 = await server.connect(query="?user=alice")
    bob = await server.connect(query="?user=bob")
    alice2 = await server.connect(query="?user=alice")
    await invoke(alice1, "Join", "g")

    await server.post("/notify/all/-", "to all")
    await server.post("/notify/group/g", "to group g")
    await server.post("/notify/group/nobody", "to an empty group")
    await server.post("/notify/user/alice", "to alice")
    await server.post("/notify/user/carol", "to carol")
    await server.post("/notify/all/-", "end")

    assert await notifications_until_end(alice1) == ["to all", "to group g", "to alice"]
    assert await notifications_until_end(bob) == ["to all"]
    assert await notifications_until_end(alice2) == ["to all", "to alice"]


async def test_hub_context_is_the_one_of_the_added_hub(serve: Start) -> None:
    server = await serve()
    context = signalr.get_hub_context(server.app, FeatureHub)
    assert context is signalr.get_hub_context(server.app, FeatureHub)
    with pytest.raises(LookupError):
        signalr.get_hub_context(server.app, OtherHub)
    with pytest.raises(LookupError):
        signalr.get_hub_context(web.Application(), FeatureHub)


# ------------------------------------------------------ lifecycle hooks


async def test_clean_close_calls_each_hook_once_with_no_exception(serve: Start) -> None:
    server = await serve()
    by_socket = await server.connect()
    by_message = await server.connect()
    ids = [await connection_id(by_socket), await connection_id(by_message)]

    await by_socket.ws.close()  # the WebSocket closes cleanly
    await by_message.send({"type": 7})  # the client says Close
    reply = await by_message.next()
    assert reply == {"type": 7}  # answered with a Close without error
    await by_message.wait_closed()

    await server.state.wait(
        lambda: all(server.state.count("disconnected", i) for i in ids), "both disconnects"
    )
    await server.stop()  # nothing may call a hook again, even at shutdown
    for cid in ids:
        assert server.state.count("connected", cid) == 1
        assert server.state.count("disconnected", cid) == 1
        assert server.state.detail("disconnected", cid) is None


async def test_protocol_error_passes_the_exception_to_on_disconnected(serve: Start) -> None:
    server = await serve()
    client = await server.connect()
    cid = await connection_id(client)
    await client.send_raw(b'{"type":"1"}' + RS)
    message = await client.next()
    assert message_type(message) == 7 and close_error(message) == CLOSED_WITH_ERROR
    await client.wait_closed()
    await server.state.wait(lambda: server.state.count("disconnected", cid) == 1, "the disconnect")
    await server.stop()
    exception = server.state.detail("disconnected", cid)
    assert isinstance(exception, InvalidDataError)
    assert str(exception) == "Expected 'type' to be of type Number."
    assert server.state.count("connected", cid) == 1
    assert server.state.count("disconnected", cid) == 1


async def test_client_close_with_error_is_passed_on(serve: Start) -> None:
    server = await serve()
    client = await server.connect()
    cid = await connection_id(client)
    await client.send({"type": 7, "error": "client crashed"})
    assert await client.next() == {"type": 7}
    await server.state.wait(lambda: server.state.count("disconnected", cid) == 1, "the disconnect")
    exception = server.state.detail("disconnected", cid)
    assert isinstance(exception, Exception) and "client crashed" in str(exception)


# ---------------------------------------------- items, instances, request


async def test_items_persist_per_connection_only(serve: Start) -> None:
    server = await serve()
    first = await server.connect()
    second = await server.connect()
    await invoke(first, "SetItem", "key", {"value": [1, 2]})
    assert await invoke(first, "GetItem", "key", iid="2") == {"value": [1, 2]}
    assert await invoke(first, "GetItem", "key", iid="3") == {"value": [1, 2]}
    assert await invoke(second, "GetItem", "key") is None
    # What on_connected stored is there too, from its own hub instance.
    connected_by = await invoke(first, "GetItem", "connected by", iid="4")
    assert isinstance(connected_by, int)
    assert connected_by != await invoke(second, "GetItem", "connected by", iid="5")


async def test_a_new_hub_instance_per_invocation(serve: Start) -> None:
    server = await serve()
    client = await server.connect()
    assert await invoke(client, "MarkInstance", iid="1") is False
    assert await invoke(client, "MarkInstance", iid="2") is False
    serials = [await invoke(client, "SerialNumber", iid=str(i)) for i in range(3)]
    assert len(set(serials)) == 3 and serials == sorted(serials)


async def test_context_request_is_the_aiohttp_request(serve: Start) -> None:
    server = await serve()
    client = await server.connect(query="?foo=bar&user=dana")
    assert await invoke(client, "Query", "foo") == "bar"
    assert await invoke(client, "Query", "missing", iid="2") is None
    assert await invoke(client, "RequestInfo", iid="3") == [True, HUB_PATH, "WebSockets", "dana"]


async def test_context_aborted_wakes_a_waiting_method_and_is_set_when_first_asked_late(serve: Start) -> None:
    server = await serve()
    state = server.state
    client = await server.connect()
    cid = await connection_id(client)
    await client.send_raw(invocation("WaitAborted", iid="w"))
    await state.wait(lambda: "waiting for abort" in state.log, "the method to wait")
    assert not server.session_of(cid).is_aborted
    await client.close()
    await state.wait(lambda: "aborted seen, is_aborted=True" in state.log, "the method to see the abort")
    await state.wait(lambda: state.count("disconnected", cid) == 1, "on_disconnected")
    assert state.detail("aborted at disconnect", cid) is True


async def test_an_idle_websocket_connection_holds_no_writer_task(serve: Start) -> None:
    """Messages go straight to the socket; a writer task exists only while
    something waits in the buffer, so idle connections cost no task."""
    server = await serve()
    clients = [await server.connect() for _ in range(3)]
    for client in clients:
        assert await invoke(client, "SerialNumber") is not None
    writers = [t for t in asyncio.all_tasks() if t.get_name().startswith("signalr-ws-writer-")]
    assert writers == []


# --------------------------------------------------------- concurrency


async def test_one_invocation_at_a_time_while_other_messages_are_read(serve: Start) -> None:
    server = await serve(signalr.HubOptions(maximum_parallel_invocations_per_client=1))
    state = server.state
    client = await server.connect()
    cid = await connection_id(client)

    await client.send_raw(invocation("Block", "a", iid="a"))
    await state.wait(lambda: state.log == ["start a"], "a to start")

    # A Ping and a non-invocation are read and handled while "a" runs.
    assert not server.session_of(cid).client_timeout_armed
    await client.send_raw(b'{"type":6}' + RS + invocation("Nope", iid="n1"))
    reply = await client.next()
    assert completion_id(reply) == "n1" and completion_error(reply) == NOPE_ERROR
    assert server.session_of(cid).client_timeout_armed  # the Ping was processed
    assert state.log == ["start a"]

    # One frame: n2 (answered at once, which proves the frame was read),
    # then "b" (must wait for "a"), then n3 (must wait behind "b").
    frame = invocation("Nope", iid="n2") + invocation("Block", "b", iid="b") + invocation("Nope", iid="n3")
    await client.send_raw(frame)
    assert completion_id(await client.next()) == "n2"
    assert state.log == ["start a"]
    state.gate("a").set()
    first, second = await client.next(), await client.next()
    assert (completion_id(first), completion_result(first)) == ("a", "a")
    assert completion_id(second) == "n3"  # only read once "a" freed the slot
    await state.wait(lambda: "start b" in state.log, "b to start")
    state.gate("b").set()
    last = await client.next()
    assert (completion_id(last), completion_result(last)) == ("b", "b")
    assert state.log == ["start a", "end a", "start b", "end b"]


async def test_two_parallel_invocations_overlap(serve: Start) -> None:
    server = await serve(signalr.HubOptions(maximum_parallel_invocations_per_client=2))
    state = server.state
    client = await server.connect()

    await client.send_raw(invocation("Block", "a", iid="a") + invocation("Block", "b", iid="b"))
    await state.wait(lambda: sorted(state.log) == ["start a", "start b"], "a and b to run together")

    # A third one waits for a free slot.
    frame = invocation("Nope", iid="n1") + invocation("Block", "c", iid="c") + invocation("Nope", iid="n2")
    await client.send_raw(frame)
    assert completion_id(await client.next()) == "n1"
    assert "start c" not in state.log
    state.gate("a").set()
    first, second = await client.next(), await client.next()
    assert completion_id(first) == "a"
    assert completion_id(second) == "n2"
    await state.wait(lambda: "start c" in state.log, "c to start")
    assert state.log.index("end a") < state.log.index("start c")
    state.gate("b").set()
    state.gate("c").set()
    rest = {completion_id(await client.next()) for _ in range(2)}
    assert rest == {"b", "c"}


# --------------------------------------------------------------- options


def test_hub_options_defaults_match_aspnet_core() -> None:
    o = signalr.HubOptions()
    assert (
        o.keep_alive_interval,
        o.client_timeout_interval,
        o.handshake_timeout,
        o.maximum_receive_message_size,
        o.maximum_parallel_invocations_per_client,
        o.stream_buffer_capacity,
        o.enable_detailed_errors,
    ) == (15, 30, 15, 32768, 1, 10, False)
    assert o.supported_protocols == ("json", "messagepack")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"maximum_parallel_invocations_per_client": 0},
        {"keep_alive_interval": 0},
        {"client_timeout_interval": -1},
        {"handshake_timeout": 0},
    ],
)
def test_hub_options_are_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        signalr.HubOptions(**kwargs)


# -------------------------------------------------------------- shutdown


async def test_shutdown_asks_every_client_to_reconnect_and_leaves_no_tasks(serve: Start) -> None:
    server = await serve(shutdown_grace=1.0)
    state = server.state
    json1 = await server.connect()
    json2 = await server.connect()
    packed = await server.connect("messagepack")
    ids = [await connection_id(c) for c in (json1, json2)] + [
        completion_result(await packed.invoke("ConnectionId", invocation_id="cid"))
    ]
    # One invocation that never finishes by itself.
    await json1.send_raw(invocation("Block", "stuck", iid="stuck"))
    await state.wait(lambda: state.log == ["start stuck"], "the stuck invocation")

    loop = asyncio.get_running_loop()
    started = loop.time()
    await server.stop()  # runner.cleanup(), with a deadline
    assert loop.time() - started < 5

    assert await json1.next() == {"type": 7, "allowReconnect": True}
    assert await json2.next() == {"type": 7, "allowReconnect": True}
    assert await packed.next() == [7, None, True]
    for client in (json1, json2, packed):
        await client.wait_closed()
        assert client.messages.empty()
    # Every connection ended through the hooks, and the stuck invocation was cancelled.
    assert sorted(cid for kind, cid, _ in state.events if kind == "disconnected") == sorted(ids)
    assert state.log == ["start stuck", "cancelled stuck"]

    for client in server.clients:
        await client.close()
    await server.session.close()
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftover == []
