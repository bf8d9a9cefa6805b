"""The conformance server: the hubs that ``protocol_tests`` and the interop
tests talk to.

Another SignalR server can be checked with the same suite if it serves hubs
with these method names at the same paths (see ``protocol_tests/README.md``).

Run: ``python -m protocol_tests.conformance_server --port 0``; it prints
``LISTENING <port>`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import attrs
from aiohttp import web

import pysignalr_server as signalr


@attrs.define
class Point:
    x: int
    y: int
    label: str = ""


@dataclasses.dataclass
class Envelope:
    sender_name: str
    sent_at: datetime.datetime
    payload: bytes


class TestHub(signalr.Hub):
    """Every method the conformance and interop suites call."""

    disconnected: ClassVar[set[str]] = set()
    """Ids of connections whose on_disconnected ran (tests ask via WasDisconnected)."""

    async def on_connected(self) -> None:
        self.context.items["connected"] = True

    async def on_disconnected(self, exception: Exception | None) -> None:
        TestHub.disconnected.add(self.context.connection_id)

    async def was_disconnected(self, connection_id: str) -> bool:
        return connection_id in TestHub.disconnected

    # -- invocations and results
    async def echo(self, value: Any) -> Any:
        return value

    async def echo_string(self, value: str) -> str:
        return value

    async def add(self, a: int, b: int) -> int:
        return a + b

    def sync_add(self, a: int, b: int) -> int:
        return a + b

    async def void_method(self) -> None:
        return None

    async def typed(
        self, i: int, s: str, f: float, b: bool, items: list[int], mapping: dict[str, int]
    ) -> list[Any]:
        return [i, s, f, b, items, mapping]

    async def echo_bytes(self, data: bytes) -> bytes:
        return data

    async def echo_datetime(self, value: datetime.datetime) -> datetime.datetime:
        return value

    async def datetime_info(self, value: datetime.datetime) -> str:
        return value.astimezone(datetime.UTC).isoformat()

    async def echo_point(self, point: Point) -> Point:
        return point

    async def echo_envelope(self, envelope: Envelope) -> Envelope:
        return envelope

    async def optional(self, value: int | None = None) -> str:
        return "none" if value is None else f"int:{value}"

    @signalr.hub_method("CustomName")
    async def renamed(self) -> str:
        return "custom"

    async def _private(self) -> str:  # never callable
        return "private"

    # -- errors
    async def throw_hub_exception(self, message: str) -> None:
        raise signalr.HubException(message)

    async def throw_exception(self, message: str) -> None:
        raise ValueError(message)

    # -- connection info
    async def get_connection_id(self) -> str:
        return self.context.connection_id

    async def get_user_identifier(self) -> str | None:
        return self.context.user_identifier

    async def abort(self) -> None:
        self.context.abort()

    # -- server-to-client calls
    async def invoke_caller(self, target: str, args: list[Any]) -> None:
        await self.clients.caller.send(target, *args)

    async def broadcast(self, message: str) -> None:
        await self.clients.all.send("Receive", message)

    async def send_others(self, message: str) -> None:
        await self.clients.others.send("Receive", message)

    async def send_caller(self, message: str) -> None:
        await self.clients.caller.send("Receive", message)

    async def send_client(self, connection_id: str, message: str) -> None:
        await self.clients.client(connection_id).send("Receive", message)

    async def send_clients(self, connection_ids: list[str], message: str) -> None:
        await self.clients.clients(connection_ids).send("Receive", message)

    async def send_all_except(self, connection_ids: list[str], message: str) -> None:
        await self.clients.all_except(connection_ids).send("Receive", message)

    async def send_group(self, group: str, message: str) -> None:
        await self.clients.group(group).send("Receive", message)

    async def send_groups(self, groups: list[str], message: str) -> None:
        await self.clients.groups(groups).send("Receive", message)

    async def send_group_except(self, group: str, connection_ids: list[str], message: str) -> None:
        await self.clients.group_except(group, connection_ids).send("Receive", message)

    async def send_others_in_group(self, group: str, message: str) -> None:
        await self.clients.others_in_group(group).send("Receive", message)

    async def send_user(self, user: str, message: str) -> None:
        await self.clients.user(user).send("Receive", message)

    async def send_users(self, users: list[str], message: str) -> None:
        await self.clients.users(users).send("Receive", message)

    async def join_group(self, group: str) -> None:
        await self.groups.add(self.context.connection_id, group)

    async def leave_group(self, group: str) -> None:
        await self.groups.remove(self.context.connection_id, group)

    # -- server-to-client streams
    async def counter(self, count: int, delay: float) -> AsyncIterator[int]:
        for i in range(count):
            yield i
            if delay:
                await asyncio.sleep(delay)

    async def empty_stream(self) -> AsyncIterator[int]:
        return
        yield  # an async generator that yields nothing

    async def throwing_stream(self, count: int, message: str) -> AsyncIterator[int]:
        for i in range(count):
            yield i
        raise signalr.HubException(message)

    async def failing_stream(self, count: int) -> AsyncIterator[int]:
        for i in range(count):
            yield i
        raise ValueError("stream failed")

    async def infinite(self, delay: float) -> AsyncIterator[int]:
        """Runs until cancelled; then tells the caller, from its finally block."""
        i = 0
        try:
            while True:
                yield i
                i += 1
                await asyncio.sleep(delay)
        finally:
            await self.clients.caller.send("StreamCanceled", i)

    async def watch_token(self, token: signalr.CancellationToken) -> AsyncIterator[str]:
        yield "started"
        await token.wait()
        self.context.items["token_cancelled"] = True
        yield "never delivered"

    def iterator_method(self, count: int) -> AsyncIterator[int]:
        """Not a generator itself: returns an async iterator."""

        async def gen() -> AsyncIterator[int]:
            for i in range(count):
                yield i * 10

        return gen()

    # -- client-to-server streams
    async def upload(self, lines: AsyncIterator[str]) -> str:
        return "".join([line async for line in lines])

    async def upload_sum(self, label: str, numbers: AsyncIterator[int]) -> str:
        total = 0
        async for n in numbers:
            total += n
        return f"{label}:{total}"

    async def upload_two(self, first: AsyncIterator[str], second: AsyncIterator[int]) -> list[Any]:
        a = [x async for x in first]
        b = [x async for x in second]
        return [a, b]

    async def upload_error(self, lines: AsyncIterator[str]) -> str:
        try:
            return "".join([line async for line in lines])
        except signalr.HubException as exc:
            return f"HubException: {exc}"

    async def upload_to_stream(self, source: AsyncIterator[int]) -> AsyncIterator[int]:
        async for n in source:
            yield n * 2

    # -- client results
    async def ask_caller(self) -> int:
        result: int = await self.clients.caller.invoke("GetNumber", 41, result_type=int, timeout=10)
        return result

    async def ask_client(self, connection_id: str, method: str, timeout: float) -> str:
        """Invoke ``method`` on a client and describe what happened."""
        try:
            result = await self.clients.client(connection_id).invoke(
                method, 41, result_type=int, timeout=timeout
            )
        except signalr.HubException as exc:
            return f"HubException: {exc}"
        except signalr.ClientResultError as exc:
            return f"{type(exc).__name__}: {exc}"
        except TimeoutError:
            return "TimeoutError"
        return f"result: {result}"

    async def ask_caller_described(self, method: str, timeout: float) -> str:
        return await self.ask_client(self.context.connection_id, method, timeout)

    # -- stateful reconnect
    async def burst(self, count: int, drop_at: int) -> None:
        """Send ``Item(i)`` for i in range(count) to the caller; at ``drop_at``
        cut the TCP connection abruptly (TEST-ONLY: simulates a network drop),
        then keep sending while the client reconnects."""
        for i in range(count):
            if i == drop_at:
                transport = self.context.request.transport
                if transport is not None:
                    transport.abort()
            await self.clients.caller.send("Item", i)
            if i % 50 == 49:
                await asyncio.sleep(0)  # let the transport write between batches

    async def disconnect_count(self) -> int:
        return int(self.context.items.get("disconnects", 0))

    # -- blocking, to show that pings and other messages are still read
    async def wait(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds


@signalr.authorize()
class AuthHub(TestHub):
    """Requires an authenticated user (see ``token_auth``)."""

    async def whoami(self) -> dict[str, Any]:
        user = self.context.user
        return {
            "identifier": user.identifier,
            "name": user.name,
            "userIdentifier": self.context.user_identifier,
            "transport": self.context.transport,
        }

    @signalr.authorize(lambda user: user.claims.get("role") == "admin")
    async def admin_only(self) -> str:
        return "admin ok"


class OpenAuthHub(TestHub):
    """Anonymous allowed; one method requires a user."""

    @signalr.authorize()
    async def members_only(self) -> str:
        return "member ok"

    async def whoami(self) -> str | None:
        return self.context.user_identifier


async def token_auth(request: web.Request) -> signalr.User | None:
    """TEST-ONLY tokens: ``user:<name>`` or ``admin:<name>``; ``bad`` is refused."""
    token = signalr.get_access_token(request)
    if token is None:
        return None
    kind, _, name = token.partition(":")
    if kind not in ("user", "admin") or not name:
        raise web.HTTPUnauthorized()
    return signalr.User(identifier=name, name=name.title(), claims={"role": kind})


def query_user_id(session: signalr.HubConnectionContext) -> str | None:
    """TEST-ONLY user identifier: the ``user`` query parameter, else the
    authenticated user's identifier.

    Never do this in an application: anyone could claim any user. Real
    applications authenticate (``add_hub(..., authenticate=...)``).
    """
    request = session.connection.request
    from_query = None if request is None else request.query.get("user")
    if from_query:
        return from_query
    user = session.connection.user  # otherwise the default: the authenticated user's identifier
    return None if user is None else str(user.identifier)


async def ask_from_http(request: web.Request) -> web.Response:
    """A client result requested outside any hub, through the hub context."""
    context = signalr.get_hub_context(request.app, TestHub)
    connection_id = request.match_info["connection_id"]
    try:
        result = await context.clients.client(connection_id).invoke(
            "GetNumber", 41, result_type=int, timeout=10
        )
    except (signalr.HubException, signalr.ClientResultError, TimeoutError) as exc:
        return web.json_response({"error": f"{type(exc).__name__}: {exc}"})
    return web.json_response({"result": result})


async def group_from_http(request: web.Request) -> web.Response:
    """Add (POST) or remove (DELETE) a connection to a group through the hub
    context: with a backplane, the connection may live on another server."""
    context = signalr.get_hub_context(request.app, TestHub)
    connection_id = request.match_info["connection_id"]
    group = request.match_info["group"]
    try:
        if request.method == "POST":
            await context.groups.add(connection_id, group)
        else:
            await context.groups.remove(connection_id, group)
    except (TimeoutError, signalr.SignalRError) as exc:
        return web.json_response({"error": f"{type(exc).__name__}: {exc}"})
    return web.json_response({"ok": True})


async def send_from_http(request: web.Request) -> web.Response:
    """Broadcast ``Receive(message)`` from outside any hub."""
    body = await request.json()
    context = signalr.get_hub_context(request.app, TestHub)
    await context.clients.all.send("Receive", body["message"])
    return web.json_response({"ok": True})


async def backplane_from_http(request: web.Request) -> web.Response:
    """Health and counters of the backplane (with --postgres)."""
    manager = signalr.get_hub_context(request.app, TestHub).lifetime_manager
    bus = getattr(manager, "bus", None)
    if bus is None:
        return web.json_response({"backplane": None})
    return web.json_response(
        {
            "backplane": "postgres",
            "healthy": bus.healthy,
            "server": bus.server_id,
            "metrics": bus.metrics.as_dict(),
        }
    )


def create_app(backplane: Any = None) -> web.Application:
    app = web.Application()
    app.router.add_post("/api/ask/{connection_id}", ask_from_http)
    app.router.add_route("POST", "/api/groups/{connection_id}/{group}", group_from_http)
    app.router.add_route("DELETE", "/api/groups/{connection_id}/{group}", group_from_http)
    app.router.add_post("/api/send", send_from_http)
    app.router.add_get("/api/backplane", backplane_from_http)
    signalr.setup(app, user_id_provider=query_user_id, backplane=backplane)
    app.add_hub("/hubs/test", TestHub)
    app.add_hub("/hubs/detailed", TestHub, options=signalr.HubOptions(enable_detailed_errors=True))
    app.add_hub(
        "/hubs/fast",
        TestHub,
        options=signalr.HubOptions(
            keep_alive_interval=0.3, client_timeout_interval=1.0, handshake_timeout=1.0
        ),
        connection_options=signalr.HttpConnectionOptions(disconnect_timeout=1.0),
    )
    app.add_hub("/hubs/json", TestHub, options=signalr.HubOptions(supported_protocols=("json",)))
    app.add_hub(
        "/hubs/parallel", TestHub, options=signalr.HubOptions(maximum_parallel_invocations_per_client=4)
    )
    app.add_hub("/hubs/auth", AuthHub, authenticate=token_auth)
    app.add_hub("/hubs/openauth", OpenAuthHub, authenticate=token_auth)
    app.add_hub(
        "/hubs/cors",
        TestHub,
        connection_options=signalr.HttpConnectionOptions(cors_origins=("http://allowed.example",)),
    )
    app.add_hub("/hubs/stateful", TestHub, allow_stateful_reconnects=True)
    app.add_hub(
        "/hubs/lpfast",
        TestHub,
        connection_options=signalr.HttpConnectionOptions(long_polling_timeout=0.5, disconnect_timeout=1.0),
    )
    app.add_hub("/hubs/wsonly", TestHub, transports=["WebSockets"])
    return app


async def serve(host: str, port: int, backplane: Any = None) -> None:
    runner = web.AppRunner(create_app(backplane), shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    bound = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"LISTENING {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        # Graceful shutdown: clients get Close(allowReconnect=true), in-flight
        # invocations get a grace period, every task is finished.
        await runner.cleanup()
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        print(f"STOPPED leftover_tasks={len(leftover)}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--postgres", metavar="DSN", help="use the Postgres backplane at DSN")
    parser.add_argument("--prefix", default="conformance", help="backplane prefix (with --postgres)")
    args = parser.parse_args(argv)
    backplane = None
    if args.postgres:
        from pysignalr_server.postgres import PostgresOptions

        backplane = PostgresOptions(
            dsn=args.postgres, prefix=args.prefix, keepalive_interval=1.0, reconnect_max_delay=1.0
        )
    try:
        asyncio.run(serve(args.host, args.port, backplane))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
