"""What every sample shares: command-line options, serving the official
browser bundle from ``samples/node_modules``, and the ``--check`` mode that
CI uses (start, serve the page, answer a negotiate, exit 0)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

import pysignalr_server as signalr

SAMPLES = Path(__file__).resolve().parent
BUNDLES = {
    "/lib/signalr.js": SAMPLES / "node_modules/@microsoft/signalr/dist/browser/signalr.js",
    "/lib/signalr-protocol-msgpack.js": SAMPLES
    / "node_modules/@microsoft/signalr-protocol-msgpack/dist/browser/signalr-protocol-msgpack.js",
}


def add_client_bundles(app: web.Application) -> None:
    """Serve the official browser bundles installed by npm (never vendored)."""
    for route, path in BUNDLES.items():

        async def handler(request: web.Request, path: Path = path) -> web.StreamResponse:
            # A missing bundle answers 404: run `npm ci` in samples/ (samples/run does).
            return web.FileResponse(path, headers={"Content-Type": "application/javascript"})

        app.router.add_get(route, handler)


def backplane(dsn: str | None, prefix: str) -> Any:
    if not dsn:
        return None
    from pysignalr_server.postgres import PostgresOptions

    return PostgresOptions(dsn=dsn, prefix=prefix)


def parse_args(description: str, default_port: int = 8080) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--postgres", metavar="DSN", help="scale out on the Postgres backplane at DSN")
    parser.add_argument("--check", action="store_true", help="start, self-test the page and negotiate, exit")
    return parser.parse_args()


async def _serve(app: web.Application, host: str, port: int, check: bool, hub_path: str) -> int:
    runner = web.AppRunner(app, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    base = f"http://{host}:{port}"
    print(f"Serving on {base}/", flush=True)
    try:
        if check:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                async with session.get(f"{base}/") as page:
                    assert page.status == 200, f"page: HTTP {page.status}"
                    assert "signalr" in (await page.text()).lower(), "page does not load the client"
                async with session.get(f"{base}/lib/signalr.js") as bundle:
                    assert bundle.status == 200, f"bundle: HTTP {bundle.status}"
                async with session.post(f"{base}{hub_path}/negotiate?negotiateVersion=1") as neg:
                    body = await neg.json(content_type=None)
                    assert neg.status in (200, 401), f"negotiate: HTTP {neg.status}"
                    if neg.status == 200:
                        assert body["negotiateVersion"] == 1 and body["connectionToken"], body
            print("check ok: page, client bundle and negotiate answered", flush=True)
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0
    finally:
        await runner.cleanup()


def run(create_app: Callable[[argparse.Namespace], web.Application], description: str, hub_path: str) -> None:
    """Parse the command line and serve ``create_app(args)`` until stopped."""
    args = parse_args(description)
    app = create_app(args)
    sys.exit(asyncio.run(_serve(app, args.host, args.port, args.check, hub_path)))


def setup_signalr(app: web.Application, args: argparse.Namespace, prefix: str, **kwargs: Any) -> None:
    signalr.setup(app, backplane=backplane(args.postgres, prefix), **kwargs)
