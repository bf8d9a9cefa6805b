"""Servers under test, one per process: ``python -m benchmarks.servers <kind> --port N``.

Kinds (all on 127.0.0.1, default asyncio event loop, logging off):

* ``signalr``    - pysignalr_server hub at ``/hub``: ``Echo(value)`` returns value,
                   ``Broadcast(message)`` sends ``Receive(message)`` to all,
                   ``JoinGroup(group)`` and ``SendGroup(group, message)`` for group fan-out.
* ``raw-echo``   - aiohttp WebSocket at ``/ws`` sending every frame straight back.
* ``raw-fanout`` - aiohttp: receivers connect to ``/ws``; each text frame arriving on ``/send``
                   (a pre-built SignalR frame) goes to every receiver with ``await ws.send_str``.
* ``socketio``   - python-socketio ``AsyncServer`` on aiohttp: event ``echo`` acks its argument,
                   event ``broadcast`` emits ``receive`` to everyone.
* ``aiosignalr`` - the ``aiosignalr`` package's server with the same hub at ``/hub``.

Each prints ``LISTENING <port>`` once accepting connections.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys

from aiohttp import WSMsgType, web


def make_signalr_app() -> web.Application:
    import pysignalr_server as signalr

    class BenchHub(signalr.Hub):
        async def echo(self, value: str) -> str:
            return value

        async def broadcast(self, message: str) -> None:
            await self.clients.all.send("Receive", message)

        async def join_group(self, group: str) -> None:
            await self.groups.add(self.context.connection_id, group)

        async def send_group(self, group: str, message: str) -> None:
            await self.clients.group(group).send("Receive", message)

    app = web.Application()
    signalr.setup(app, hub_options=signalr.HubOptions(maximum_receive_message_size=None))
    app.add_hub("/hub", BenchHub)
    return app


def make_raw_echo_app() -> web.Application:
    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    return app


def make_raw_fanout_app() -> web.Application:
    receivers: set[web.WebSocketResponse] = set()

    async def recv_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        receivers.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            receivers.discard(ws)
        return ws

    async def send_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                frame = msg.data  # pre-built SignalR invocation frame
                for r in list(receivers):
                    try:
                        await r.send_str(frame)
                    except ConnectionError:
                        receivers.discard(r)
        return ws

    app = web.Application()
    app.router.add_get("/ws", recv_handler)
    app.router.add_get("/send", send_handler)
    return app


def make_socketio_app() -> web.Application:
    import socketio

    sio = socketio.AsyncServer(
        async_mode="aiohttp", logger=False, engineio_logger=False, max_http_buffer_size=10_000_000
    )

    @sio.on("echo")
    async def echo(sid, value):
        return value

    @sio.on("broadcast")
    async def broadcast(sid, message):
        await sio.emit("receive", message)

    app = web.Application()
    sio.attach(app)
    return app


def make_aiosignalr_app() -> web.Application:
    from aiosignalr.server import Hub, ServerOptions, SignalRServer
    from aiosignalr.server.aiohttp_server import build_aiohttp_app

    class BenchHub(Hub):
        async def Echo(self, value):
            return value

        async def Broadcast(self, message):
            await self.clients.all_.send("Receive", message)

    server = SignalRServer(BenchHub, options=ServerOptions(maximum_receive_message_size=10_000_000))
    return build_aiohttp_app(server, path="/hub")


KINDS = {
    "signalr": make_signalr_app,
    "raw-echo": make_raw_echo_app,
    "raw-fanout": make_raw_fanout_app,
    "socketio": make_socketio_app,
    "aiosignalr": make_aiosignalr_app,
}


async def serve(kind: str, port: int) -> None:
    app = KINDS[kind]()
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    print(f"LISTENING {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.servers")
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    import signal

    gc_mode = os.environ.get("BENCH_SERVER_GC", "default")
    if gc_mode == "freeze":  # documented optional tuning, reported separately
        gc.freeze()
    elif gc_mode == "off":
        gc.disable()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    task = loop.create_task(serve(a.kind, a.port))
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    cprofile_out = os.environ.get("BENCH_CPROFILE")  # deterministic profile with call counts
    profiler = None
    if cprofile_out:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass
    finally:
        loop.close()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{cprofile_out}.{a.kind}.{os.getpid()}")
    sys.exit(0)


if __name__ == "__main__":
    main()
