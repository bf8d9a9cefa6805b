"""The chat sample: rooms, direct messages, a typing indicator, a live online
count and reconnect handling, on one server or on several sharing Postgres.

    samples/run chat                                    # http://127.0.0.1:8080/
    samples/run chat --port 8081 --postgres postgresql://postgres@127.0.0.1:5432/test
    samples/run chat --port 8082 --postgres postgresql://postgres@127.0.0.1:5432/test

How it uses the library:

- **Login.** ``POST /login {"name": "ann"}`` answers a token signed with
  HMAC-SHA256. The page hands it to the client with ``accessTokenFactory``;
  ``authenticate`` checks it on negotiate and on every transport request, and
  ``@signalr.authorize()`` makes the hub refuse connections without one.
  The token names the user: ``signalr.User(identifier=name)``.
- **Rooms** are groups: ``self.groups.add/remove`` and ``clients.group(room)``.
- **Direct messages** use ``clients.users([...])``: every connection (tab)
  of the recipient, on any node, and the sender's own tabs. A message to a
  name nobody is logged in as reaches nobody.
- **Typing** goes to ``clients.others_in_group(room)``: the room minus the
  typist's connection.
- **Online count.** Each node counts its own open hub connections and
  broadcasts ``Online(node, count, ttl)`` when the count changes and every
  ``HEARTBEAT`` seconds. The page adds up the last count of every node it
  heard from in the last ``ttl`` seconds. So the number is *open chat
  connections across all nodes* (a user with two tabs counts twice); a node
  that dies drops out of the sum after ``ttl``; a page learns about other
  nodes within one heartbeat. No state is shared beyond the broadcasts.
- **Reconnects.** The hub is added with ``allow_stateful_reconnects=True`` and
  the page uses ``withStatefulReconnect()``: a dropped WebSocket is resumed
  on the same connection without losing messages (groups stay joined). If
  that is not possible (the node went away, the buffer or timeout ran out),
  ``withAutomaticReconnect()`` opens a new connection and the page joins its
  rooms again.
- **Scale-out.** ``--postgres DSN`` turns on the Postgres backplane; every
  node must use the same DSN database, the same ``CHAT_BACKPLANE_PREFIX`` and
  the same ``CHAT_SECRET``.

Environment:

- ``CHAT_SECRET``: the token signing key (default: a fixed development key;
  set your own in production, the same on every node);
- ``CHAT_BACKPLANE_PREFIX``: the backplane prefix (default ``chat``), so
  several deployments can share one database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

import pysignalr_server as signalr
from samples import common

log = logging.getLogger("samples.chat")

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
HUB_PATH = "/hubs/chat"

DEFAULT_SECRET = "chat-sample-development-secret"  # set CHAT_SECRET in production
TOKEN_LIFETIME = 12 * 3600  # seconds
HEARTBEAT = 3.0  # seconds between two online-count reports of a node
TTL = 10.0  # seconds after which a page forgets a node that stopped reporting
MAX_TEXT = 500  # characters per message
NAME = re.compile(r"[\w.-]{1,24}")  # user and room names

SECRET = web.AppKey("chat_secret", bytes)


# ----------------------------------------------------------------- tokens
# A minimal signed token: base64url(JSON claims) "." base64url(HMAC-SHA256).
# (A real application might use JWTs from its identity provider instead.)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def issue_token(name: str, secret: bytes, lifetime: float = TOKEN_LIFETIME) -> str:
    payload = _b64(json.dumps({"sub": name, "exp": int(time.time() + lifetime)}).encode())
    return f"{payload}.{_sign(payload, secret)}"


def verify_token(token: str, secret: bytes) -> str | None:
    """The user name in ``token``, or None if it is forged, malformed or expired."""
    payload, _, signature = token.partition(".")
    if not hmac.compare_digest(signature.encode(), _sign(payload, secret).encode()):
        return None
    try:
        claims = json.loads(_unb64(payload))
        name, expires = claims["sub"], claims["exp"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or not isinstance(expires, int) or expires < time.time():
        return None
    return name


async def authenticate(request: web.Request) -> signalr.User | None:
    """Runs on negotiate and on every transport request of the hub."""
    token = signalr.get_access_token(request)  # header, or ?access_token= for WebSockets
    if token is None:
        return None  # anonymous: the hub's @authorize() answers 401
    name = verify_token(token, request.app[SECRET])
    if name is None:
        raise web.HTTPUnauthorized(text="invalid or expired token")
    return signalr.User(identifier=name, name=name)  # clients.user(name) targets it


# --------------------------------------------------------- online count


class Presence:
    """This node's part of the online count: its open hub connections."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.connections = 0
        self.changed = asyncio.Event()

    def add(self, delta: int) -> None:
        self.connections += delta
        self.changed.set()


PRESENCE = web.AppKey("chat_presence", Presence)


async def report_presence(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: broadcast this node's count on changes and on every
    heartbeat, for as long as the application runs."""
    presence = app[PRESENCE]
    clients = signalr.get_hub_context(app, ChatHub).clients  # sends from outside the hub

    async def report_forever() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(presence.changed.wait(), HEARTBEAT)
            presence.changed.clear()
            try:
                await clients.all.send("Online", presence.node, presence.connections, TTL)
            except (ConnectionError, TimeoutError) as exc:  # the backplane is down: next beat
                log.warning("online count not sent: %s", exc)
            await asyncio.sleep(0.25)  # at most 4 reports a second, however busy the node

    task = asyncio.create_task(report_forever(), name="chat-presence")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# -------------------------------------------------------------------- hub


def _check_name(value: str, what: str) -> str:
    value = value.strip()
    if not NAME.fullmatch(value):
        raise signalr.HubException(f"a {what} name is 1-24 letters, digits, '.', '_' or '-'")
    return value


def _check_text(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise signalr.HubException(f"a message is 1-{MAX_TEXT} characters")
    return text


@signalr.authorize()  # only connections that authenticate() accepted
class ChatHub(signalr.Hub):
    """Client methods it calls: Welcome(name, node), Online(node, count, ttl),
    Notice(room, text), RoomMessage(room, from, text), Typing(room, from),
    DirectMessage(from, to, text)."""

    # A hub instance lives for one call: per-connection state goes in
    # context.items, per-node state in the aiohttp application.

    @property
    def _name(self) -> str:
        name: str = self.context.user.name
        return name

    @property
    def _rooms(self) -> set[str]:
        rooms: set[str] = self.context.items.setdefault("rooms", set())
        return rooms

    @property
    def _presence(self) -> Presence:
        presence: Presence = self.context.request.app[PRESENCE]
        return presence

    async def on_connected(self) -> None:
        self._presence.add(+1)
        await self.clients.caller.send("Welcome", self._name, self._presence.node)

    async def on_disconnected(self, exception: Exception | None) -> None:
        # Group memberships end with the connection; only the count is ours.
        self._presence.add(-1)

    async def join_room(self, room: str) -> str:
        room = _check_name(room, "room")
        await self.groups.add(self.context.connection_id, room)
        self._rooms.add(room)
        await self.clients.group(room).send("Notice", room, f"{self._name} joined")
        return room  # the name as the server keeps it

    async def leave_room(self, room: str) -> None:
        if room in self._rooms:
            await self.groups.remove(self.context.connection_id, room)
            self._rooms.discard(room)
            await self.clients.group(room).send("Notice", room, f"{self._name} left")

    async def send_to_room(self, room: str, text: str) -> None:
        self._require_member(room)
        await self.clients.group(room).send("RoomMessage", room, self._name, _check_text(text))

    async def typing(self, room: str) -> None:
        self._require_member(room)
        await self.clients.others_in_group(room).send("Typing", room, self._name)

    async def send_direct(self, to: str, text: str) -> None:
        to, text = _check_name(to, "user"), _check_text(text)
        # Every tab of the recipient and of the sender, on whichever node.
        await self.clients.users(sorted({to, self._name})).send("DirectMessage", self._name, to, text)

    def _require_member(self, room: str) -> None:
        if room not in self._rooms:
            raise signalr.HubException(f"join {room!r} first")


# ------------------------------------------------------------------- HTTP


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def login(request: web.Request) -> web.Response:
    """Exchange a name for a token. A real application checks a password or
    an identity provider here; the sample trusts the name."""
    try:
        body = await request.json()
        name = str(body["name"]).strip()
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest(text='expected JSON {"name": ...}') from None
    if not NAME.fullmatch(name):
        raise web.HTTPBadRequest(text="a name is 1-24 letters, digits, '.', '_' or '-'")
    return web.json_response({"name": name, "token": issue_token(name, request.app[SECRET])})


def create_app(args: argparse.Namespace) -> web.Application:
    app = web.Application()
    secret = os.environ.get("CHAT_SECRET")
    if not secret:
        log.warning("CHAT_SECRET is not set: using the development key (every node must share it)")
    app[SECRET] = (secret or DEFAULT_SECRET).encode()
    app[PRESENCE] = Presence(node=f"{socket.gethostname()}:{args.port}")

    # In memory, or on the Postgres backplane with --postgres DSN.
    common.setup_signalr(app, args, prefix=os.environ.get("CHAT_BACKPLANE_PREFIX", "chat"))
    app.add_hub(HUB_PATH, ChatHub, authenticate=authenticate, allow_stateful_reconnects=True)
    app.cleanup_ctx.append(report_presence)  # after setup: starts once the hub's manager runs

    common.add_client_bundles(app)  # /lib/signalr.js from samples/node_modules
    app.router.add_get("/", index)
    app.router.add_post("/login", login)
    app.router.add_static("/static/", STATIC)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    common.run(create_app, "SignalR chat: rooms, direct messages, typing, online count", HUB_PATH)
