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
import sys
from typing import Any

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

    async def on_connected(self) -> None:
        self.context.items["connected"] = True

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

    # -- blocking, to show that pings and other messages are still read
    async def wait(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds


def query_user_id(session: signalr.HubConnectionContext) -> str | None:
    """TEST-ONLY user identifier: the ``user`` query parameter.

    Never do this in an application: anyone could claim any user. Real
    applications authenticate (``add_hub(..., authenticate=...)``).
    """
    request = session.connection.request
    return None if request is None else request.query.get("user")


def create_app() -> web.Application:
    app = web.Application()
    signalr.setup(app, user_id_provider=query_user_id)
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
    return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(create_app(), shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    bound = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"LISTENING {bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
