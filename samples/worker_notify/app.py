"""Notifications pushed from outside any hub, across server processes.

    samples/run worker_notify                       # one node, in memory
    # two nodes sharing Postgres: a POST to either reaches a user on the other
    samples/run worker_notify --port 8081 --postgres postgresql://postgres@127.0.0.1:5432/test
    samples/run worker_notify --port 8082 --postgres postgresql://postgres@127.0.0.1:5432/test
    curl -X POST http://127.0.0.1:8081/notify/bob -H 'Content-Type: application/json' \\
         -d '{"text": "your report is ready"}'      # bob, connected to :8082, gets it

Two producers live outside the hub and reach clients through
``signalr.get_hub_context(app, NotifyHub)``:

- ``POST /notify/{user}``: an HTTP endpoint (think: another service says a
  job finished) sends ``Notify`` to every connection of that user;
- a background job started in ``app.cleanup_ctx`` sends ``Heartbeat`` to
  everyone every ``WORKER_NOTIFY_INTERVAL`` seconds (default 30, 0 = off).

With ``--postgres`` every node publishes through the backplane, so a user
is reached whichever node their connection landed on; ``GET /healthz``
shows whether this node's backplane listener is up.

Users are identified by ``authenticate``: here the token *is* the user name
(``?access_token=bob`` or ``Authorization: Bearer bob``). THAT IS A DEMO
ONLY: anyone can claim any name. A real application verifies a signed token
(JWT, session cookie...) in ``authenticate`` and also protects
``POST /notify`` (it is meant for internal callers).

Environment: ``WORKER_NOTIFY_INTERVAL`` (seconds), ``WORKER_NOTIFY_NODE``
(this node's name, default ``<host>:<port>``), ``WORKER_NOTIFY_PREFIX`` (the
backplane prefix, default ``worker_notify``: nodes that should see each
other use the same one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import logging
import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web

import pysignalr_server as signalr
from samples import common

log = logging.getLogger("samples.worker_notify")

HUB_PATH = "/hubs/notify"
STATIC = Path(__file__).resolve().parent / "static"
DEMO_USER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
MAX_TEXT = 1000

NODE = web.AppKey("node", str)
INTERVAL = web.AppKey("interval", float)


@attrs.frozen
class Notification:
    """Sent as ``{"text", "sender", "node", "time"}``."""

    text: str
    sender: str  # "api", or the user who sent it
    node: str  # the node that published it
    time: datetime.datetime = attrs.field(factory=lambda: datetime.datetime.now(datetime.UTC))


async def authenticate(request: web.Request) -> signalr.User | None:
    """DEMO ONLY: the access token is taken as the user's name, unverified."""
    token = signalr.get_access_token(request)  # "Authorization: Bearer x" or "?access_token=x"
    if token is None:
        return None  # anonymous: the hub requires a user, so negotiate answers 401
    if not DEMO_USER_NAME.fullmatch(token):
        raise web.HTTPUnauthorized(text="the demo token is a user name: letters, digits, '_', '.', '-'")
    return signalr.User(identifier=token, name=token)  # identifier is what clients.user(...) targets


@signalr.authorize()  # every connection has a user
class NotifyHub(signalr.Hub):
    async def on_connected(self) -> None:
        log.info("%s connected (%s)", self.context.user_identifier, self.context.connection_id)

    async def who_am_i(self) -> dict[str, Any]:
        return {"user": self.context.user_identifier, "node": self.context.request.app[NODE]}

    async def send_to(self, user: str, text: str) -> None:
        """A user-to-user notification (reaches the user on any node)."""
        sender = self.context.user_identifier or "?"
        node = self.context.request.app[NODE]
        await self.clients.user(user).send("Notify", Notification(text[:MAX_TEXT], sender, node))


async def notify(request: web.Request) -> web.Response:
    """``POST /notify/{user}`` with ``{"text": "..."}``: push to that user's connections."""
    user = request.match_info["user"]
    try:
        body = await request.json()
        text = body["text"]
        if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest(text=f'expected {{"text": "..."}} with 1 to {MAX_TEXT} characters') from None
    node = request.app[NODE]
    hub = signalr.get_hub_context(request.app, NotifyHub)
    try:
        # Delivered here to the user's local connections and published once on
        # the backplane for the other nodes. There is no delivery receipt: a
        # user connected nowhere simply gets nothing.
        await hub.clients.user(user).send("Notify", Notification(text, "api", node))
    except signalr.SignalRError as exc:  # BackplaneUnavailableError: Postgres is down
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    return web.json_response({"user": user, "node": node, "text": text}, status=202)


async def heartbeat(app: web.Application) -> None:
    """The background job: runs for the application's lifetime."""
    hub = signalr.get_hub_context(app, NotifyHub)
    while True:
        await asyncio.sleep(app[INTERVAL])
        try:
            await hub.clients.all.send(
                "Heartbeat", {"node": app[NODE], "time": datetime.datetime.now(datetime.UTC)}
            )
        except signalr.SignalRError as exc:  # the backplane is down: try again next time
            log.warning("heartbeat not sent: %s", exc)


async def background_jobs(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: start the job with the application, stop it at shutdown.

    It is added after ``signalr.setup``, so it starts once the backplane is
    connected and stops before SignalR closes."""
    task = asyncio.create_task(heartbeat(app)) if app[INTERVAL] > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def healthz(request: web.Request) -> web.Response:
    manager = signalr.get_hub_context(request.app, NotifyHub).lifetime_manager
    healthy = getattr(manager, "healthy", True)  # the in-memory manager is always healthy
    return web.json_response({"node": request.app[NODE], "healthy": healthy}, status=200 if healthy else 503)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def create_app(args: argparse.Namespace) -> web.Application:
    app = web.Application()
    app[NODE] = os.environ.get("WORKER_NOTIFY_NODE") or f"{socket.gethostname()}:{args.port}"
    app[INTERVAL] = float(os.environ.get("WORKER_NOTIFY_INTERVAL", "30"))
    common.setup_signalr(app, args, prefix=os.environ.get("WORKER_NOTIFY_PREFIX", "worker_notify"))
    signalr.add_hub(app, HUB_PATH, NotifyHub, authenticate=authenticate)
    app.cleanup_ctx.append(background_jobs)  # after setup: see background_jobs
    common.add_client_bundles(app)
    app.router.add_get("/", index)
    app.router.add_post("/notify/{user}", notify)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    common.run(create_app, "Notifications from outside the hub, across nodes", HUB_PATH)
