"""Stock ticker: a server-to-client stream of simulated price ticks.

    samples/run stocks                 # then open http://127.0.0.1:8080/

``StreamTicks(symbols, interval)`` is an async generator, so clients call it
with ``connection.stream("StreamTicks", ["MSFT", "AAPL"], 0.5)`` and every
``yield`` reaches them at once. When a client disposes its subscription
(``subscription.dispose()`` in JavaScript), the server cancels the
generator: the ``await`` it is paused on raises ``CancelledError``, its
``finally`` block runs, and the ``CancellationToken`` parameter is cancelled
too (useful to hand to work that is not a plain ``await``). A client that
disconnects stops its streams the same way.

``GET /api/feeds`` shows how many feeds are running, so you can watch a
feed stop when its subscriber goes away.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
from aiohttp import web

import pysignalr_server as signalr
from samples import common

log = logging.getLogger("samples.stocks")

HUB_PATH = "/hubs/stocks"
STATIC = Path(__file__).resolve().parent / "static"

# The first tick of a symbol is its opening price; then prices take a random walk.
OPENING_PRICES = {"MSFT": 420.0, "AAPL": 190.0, "GOOG": 170.0, "AMZN": 180.0, "NVDA": 120.0}
DEFAULT_OPENING_PRICE = 100.0
MAX_SYMBOLS = 20
MIN_INTERVAL = 0.01  # seconds between rounds; one round is one tick per symbol
MAX_INTERVAL = 60.0


@attrs.frozen
class Tick:
    """One price update, sent as ``{"symbol", "price", "time", "seq"}``
    (objects go out with their Python field names; ``time`` is ISO 8601 in
    JSON and a timestamp in MessagePack)."""

    symbol: str
    price: float
    time: datetime.datetime
    seq: int  # 0, 1, 2... within one stream


@attrs.define
class FeedStats:
    """What ``GET /api/feeds`` reports; one per application."""

    active: int = 0
    started: int = 0
    ticks: int = 0


FEEDS = web.AppKey("feeds", FeedStats)


class StocksHub(signalr.Hub):
    async def stream_ticks(
        self, symbols: list[str], interval: float, token: signalr.CancellationToken
    ) -> AsyncIterator[Tick]:
        """Yield one tick per symbol every ``interval`` seconds until the
        client cancels (or disconnects)."""
        names = [s.strip().upper() for s in symbols if s.strip()]
        if not 1 <= len(names) <= MAX_SYMBOLS:
            # A HubException's text reaches the client (other errors are hidden).
            raise signalr.HubException(f"choose 1 to {MAX_SYMBOLS} symbols")
        if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            raise signalr.HubException(f"interval must be between {MIN_INTERVAL} and {MAX_INTERVAL} seconds")

        stats = self.context.request.app[FEEDS]
        prices = {name: OPENING_PRICES.get(name, DEFAULT_OPENING_PRICE) for name in names}
        rng = random.Random()
        seq = 0
        stats.active += 1
        stats.started += 1
        log.info("feed %s started for %s", names, self.context.connection_id)
        try:
            while not token.is_cancelled:  # set by the client's cancel, as the task is cancelled
                for name in names:
                    # Yield waits while the client is behind (at most
                    # stream_buffer_capacity items are queued per stream).
                    yield Tick(name, prices[name], datetime.datetime.now(datetime.UTC), seq)
                    seq += 1
                    stats.ticks += 1
                    prices[name] = max(0.01, round(prices[name] * (1 + rng.gauss(0, 0.002)), 2))
                await asyncio.sleep(interval)  # a client's cancel interrupts this sleep
        finally:
            # Runs when the client disposes the subscription, disconnects, or
            # the server shuts down: release whatever the feed holds here.
            stats.active -= 1
            log.info("feed %s stopped after %d ticks", names, seq)
            if not self.context.is_aborted:
                # Tell the page the server really stopped (just for the demo).
                await self.clients.caller.send("FeedStopped", names, seq)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def feeds(request: web.Request) -> web.Response:
    return web.json_response(attrs.asdict(request.app[FEEDS]))


def create_app(args: argparse.Namespace) -> web.Application:
    app = web.Application()
    app[FEEDS] = FeedStats()
    common.setup_signalr(app, args, prefix="stocks")
    signalr.add_hub(app, HUB_PATH, StocksHub)  # or app.add_hub(HUB_PATH, StocksHub)
    common.add_client_bundles(app)
    app.router.add_get("/", index)
    app.router.add_get("/api/feeds", feeds)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    common.run(create_app, "Stock ticker: server-to-client streaming with cancellation", HUB_PATH)
