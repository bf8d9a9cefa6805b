"""Bench servers owned by idle/churn/crossnode scenarios.

python -m benchmarks.crossnode_server MODE PORT [PREFIX]
  MODE = signalr     pysignalr_server, in-memory lifetime manager
         signalr-pg  pysignalr_server on the Postgres backplane (PREFIX)
         raw         plain aiohttp WebSocket server (baseline)
Every mode has GET /debug/rss (VmRSS in KiB) and POST /debug/gc (gc.collect(), then RSS).
signalr modes have POST /publish (body: "ts start count") -> clients.all.send("m", seq, ts) each.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

from aiohttp import web

from .common import ROOT, free_port, pin


def _rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


OPEN = [0]  # WebSocket connections (raw) or hub connections (signalr) currently open


async def rss(request: web.Request) -> web.Response:
    return web.json_response({"rss_kib": _rss_kib(), "pid": os.getpid(), "open": OPEN[0]})


async def collect(request: web.Request) -> web.Response:
    gc.collect()
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    return web.json_response({"rss_kib": _rss_kib(), "pid": os.getpid()})


async def traced(request: web.Request) -> web.Response:
    """With BENCH_TRACEMALLOC=1: Python allocations still alive, by line (after a gc)."""
    import tracemalloc

    if not tracemalloc.is_tracing():
        return web.json_response({"error": "start the server with BENCH_TRACEMALLOC=1"})
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    stats = snapshot.statistics("lineno")
    return web.json_response(
        {
            "total_kib": sum(s.size for s in stats) // 1024,
            "top": [f"{s.size // 1024} KiB in {s.count} blocks: {s.traceback}" for s in stats[:15]],
            "rss_kib": _rss_kib(),
        }
    )


def build(mode: str, prefix: str, keep_alive: float) -> web.Application:
    app = web.Application()
    app.router.add_get("/debug/rss", rss)
    app.router.add_post("/debug/gc", collect)
    app.router.add_get("/debug/tracemalloc", traced)
    if mode == "raw":

        async def ws_handler(request: web.Request) -> web.WebSocketResponse:
            # keep-alive like SignalR's: an application-level ping message every keep_alive
            # seconds (no pong deadline), instead of aiohttp's heartbeat which closes on a late pong
            ws = web.WebSocketResponse()
            await ws.prepare(request)

            async def pinger() -> None:
                while not ws.closed:
                    await asyncio.sleep(keep_alive)
                    if not ws.closed:
                        await ws.send_str('{"type":6}\x1e')

            ping_task = asyncio.create_task(pinger())
            OPEN[0] += 1
            try:
                await _raw_loop(ws)
            finally:
                OPEN[0] -= 1
                ping_task.cancel()
            return ws

        async def _raw_loop(ws: web.WebSocketResponse) -> None:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    if msg.data.startswith('{"protocol"'):
                        await ws.send_str("{}\x1e")
                else:
                    break

        app.router.add_get("/ws", ws_handler)
        return app

    import pysignalr_server as signalr

    class BenchHub(signalr.Hub):
        async def ping(self) -> None:
            return None

        async def on_connected(self) -> None:
            OPEN[0] += 1

        async def on_disconnected(self, exception: Exception | None) -> None:
            OPEN[0] -= 1

    kwargs = {}
    if mode == "signalr-pg":
        from pysignalr_server.postgres import PostgresOptions

        kwargs["backplane"] = PostgresOptions(dsn="postgresql://postgres@127.0.0.1:5432/test", prefix=prefix)
    signalr.setup(app, hub_options=signalr.HubOptions(keep_alive_interval=keep_alive), **kwargs)
    app.add_hub("/hub", BenchHub)

    async def publish(request: web.Request) -> web.Response:
        ts_s, start_s, count_s = (await request.text()).split()
        ts, start, count = float(ts_s), int(start_s), int(count_s)
        clients = signalr.get_hub_context(request.app, BenchHub).clients
        await asyncio.gather(*(clients.all.send("m", seq, ts) for seq in range(start, start + count)))
        return web.Response(text="ok")

    app.router.add_post("/publish", publish)
    return app


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    prefix = sys.argv[3] if len(sys.argv) > 3 else "bench"
    keep_alive = float(os.environ.get("BENCH_KEEPALIVE", "5"))
    if os.environ.get("BENCH_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start()
    raise_nofile()
    web.run_app(
        build(mode, prefix, keep_alive),
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
        backlog=4096,
    )


# ---------------------------------------------------------------------------------------------
# Small harness helpers shared by idle.py, churn.py and crossnode.py
# ---------------------------------------------------------------------------------------------


@contextmanager
def server(mode: str, prefix: str = "bench", keep_alive: float = 5.0, role: str | None = "server"):
    """Start a bench server process; yields (port, pid). ``role``: see ``common.pin``."""
    port = free_port()
    env = dict(os.environ, BENCH_KEEPALIVE=str(keep_alive), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.crossnode_server", mode, str(port), prefix], cwd=ROOT, env=env
    )
    pin(proc.pid, role)
    try:
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/debug/rss", timeout=1).read()
                break
            except (OSError, urllib.error.URLError):
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"server {mode} did not start") from None
                time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def http_json(port: int, path: str, method: str = "GET") -> dict:
    import json
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, data=b"" if method == "POST" else None
    )
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 65536), max(hard, 65536)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    main()
