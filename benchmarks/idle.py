"""Scenario 5: idle WebSocket connections (server RSS per connection, leak check).

N idle connections that completed the SignalR handshake, with keep-alive pings running, against
our bench server (benchmarks/crossnode_server.py, mode ``signalr``) and, as the baseline, a raw
aiohttp WebSocket server (mode ``raw``, heartbeat pings at the same interval). Two rounds of N
connections (the second after all of the first have closed), then POST /debug/gc (gc.collect()
+ malloc_trim) and read VmRSS. Clients are spread over several worker processes.

Worker: ``python -m benchmarks.idle worker MODE PORT N`` -> stdin commands ``open``/``close``/``quit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time

from .common import DeliveryError, emit_result, row, spawn
from .crossnode_server import http_json, raise_nofile, server

HANDSHAKE = '{"protocol":"json","version":1}\x1e'


# ------------------------------------------------------------------------------- worker side
async def _worker(mode: str, port: int, n: int) -> None:
    import aiohttp

    raise_nofile()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True))
    conns: list = []
    pings = [0]
    readers: list[asyncio.Task] = []
    sem = asyncio.Semaphore(100)

    async def one() -> object:
        async with sem:
            if mode == "raw":
                ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws", autoping=True)
            else:
                ws = await session.ws_connect(f"http://127.0.0.1:{port}/hub", autoping=True)
            await ws.send_str(HANDSHAKE)
            msg = await ws.receive(timeout=30)
            if not (msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith("{}\x1e")):
                raise RuntimeError(f"bad handshake reply {msg!r}")
            return ws

    async def read(ws) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT and '"type":6' in msg.data:
                pings[0] += 1
                await ws.send_str('{"type":6}\x1e')  # our own keep-alive back

    while True:
        cmd = (await reader.readline()).decode().strip()
        if cmd == "open":
            pings[0] = 0
            t0 = time.monotonic()
            res = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
            conns = [r for r in res if not isinstance(r, BaseException)]
            errs = [repr(r) for r in res if isinstance(r, BaseException)]
            readers = [asyncio.create_task(read(ws)) for ws in conns]
            emit_result(
                {"opened": len(conns), "errors": errs[:3], "nerr": len(errs), "secs": time.monotonic() - t0}
            )
        elif cmd == "close":
            alive = sum(1 for ws in conns if not ws.closed)
            await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
            await asyncio.gather(*readers, return_exceptions=True)
            emit_result({"alive_before_close": alive, "pings": pings[0]})
            conns, readers = [], []
        else:
            break
    await session.close()


# ------------------------------------------------------------------------------- driver side
def _rss(port: int) -> int:
    return http_json(port, "/debug/rss")["rss_kib"]


def _settle(port: int, n_total: int) -> None:
    """After a round's close: wait (with a deadline) until the server has seen every
    connection go, then give its cleanup a moment, so RSS is read at the same point on
    both servers."""
    deadline = time.monotonic() + 60
    while http_json(port, "/debug/rss")["open"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5 if n_total < 2000 else 1.0)


def _round(workers, port: int, n_total: int, hold: float, expect_pings: bool, label: str) -> tuple[int, dict]:
    """Open n_total connections, hold them, sample RSS; return (peak_rss_kib, info)."""
    for w in workers:
        w.send("open")
    opened = [w.result(timeout=300) for w in workers]
    got = sum(o["opened"] for o in opened)
    if got != n_total:
        raise DeliveryError(f"{label}: opened {got}/{n_total}: {[o['errors'] for o in opened]}")
    peak = 0
    t_end = time.monotonic() + hold
    while time.monotonic() < t_end:
        peak = max(peak, _rss(port))
        time.sleep(0.25)
    peak = max(peak, _rss(port))
    for w in workers:
        w.send("close")
    closed = [w.result(timeout=300) for w in workers]
    alive = sum(c["alive_before_close"] for c in closed)
    pings = sum(c["pings"] for c in closed)
    if alive != n_total:
        raise DeliveryError(f"{label}: only {alive}/{n_total} connections still open after the hold")
    if expect_pings and pings < n_total:
        raise DeliveryError(f"{label}: {pings} keep-alive pings for {n_total} connections (some got none)")
    return peak, {"pings": pings, "open_secs": max(o["secs"] for o in opened)}


def _measure(mode: str, n_total: int, nproc: int, hold: float, keep_alive: float) -> dict:
    with server(mode, keep_alive=keep_alive) as (port, _pid):
        time.sleep(0.3)
        base = _rss(port)
        per = n_total // nproc
        workers = [
            spawn(["-m", "benchmarks.idle", "worker", mode, str(port), str(per)], name=f"idle-{mode}-{i}")
            for i in range(nproc)
        ]
        try:
            peak1, info1 = _round(workers, port, per * nproc, hold, True, f"{mode} round 1")
            _settle(port, n_total)
            after1 = _rss(port)
            peak2, _info2 = _round(workers, port, per * nproc, hold, True, f"{mode} round 2")
            _settle(port, n_total)
            after2 = _rss(port)
            gcd = http_json(port, "/debug/gc", "POST")["rss_kib"]
        finally:
            for w in workers:
                with contextlib.suppress(OSError, ValueError):  # already gone
                    w.send("quit")
                w.stop()
    n = per * nproc
    return dict(
        n=n,
        base=base,
        peak1=peak1,
        after1=after1,
        peak2=peak2,
        after2=after2,
        gc=gcd,
        per_conn=(peak1 - base) * 1024 / n,
        pings=info1["pings"],
        open_secs=info1["open_secs"],
    )


def run(quick: bool) -> list[dict]:
    n, nproc, hold, ka = (600, 2, 1.0, 0.5) if quick else (10_000, 4, 7.0, 5.0)
    sr = _measure("signalr", n, nproc, hold, ka)
    raw = _measure("raw", n, nproc, hold, ka)
    S, v = "idle", f"{sr['n']} conns"
    rows = [
        row(
            S,
            v,
            "delivery",
            1.0,
            "ok",
            target="all conns open+pinged",
            met=True,
            note=f"signalr: {sr['n']} handshakes, {sr['pings']} keep-alive pings in round 1 "
            f"(keep_alive {ka}s, hold {hold}s); raw: {raw['n']} conns, {raw['pings']} pings",
        ),
        row(
            S,
            v,
            "rss per connection",
            sr["per_conn"],
            "B",
            baseline=raw["per_conn"],
            target_ratio=1.5,
            higher_is_better=False,
            note=f"(peak1-start)/N; signalr start {sr['base']} KiB peak {sr['peak1']} KiB; "
            f"raw start {raw['base']} KiB peak {raw['peak1']} KiB",
        ),
        row(
            S,
            v,
            "round 2 peak / round 1 peak",
            sr["peak2"] / sr["peak1"],
            "x",
            baseline=raw["peak2"] / raw["peak1"],
            target="<= 1.05 (signalr)",
            note=f"signalr {sr['peak1']}->{sr['peak2']} KiB; raw {raw['peak1']}->{raw['peak2']} KiB",
        ),
        row(
            S,
            v,
            "rss after close+gc",
            sr["gc"] / 1024,
            "MiB",
            baseline=raw["gc"] / 1024,
            target_ratio=1.10,
            higher_is_better=False,
            note=f"before gc: signalr {sr['after2']} KiB, raw {raw['after2']} KiB",
        ),
        row(S, v, "time to open N (round 1)", sr["open_secs"], "s", baseline=raw["open_secs"]),
    ]
    rows[2]["met"] = sr["peak2"] <= 1.05 * sr["peak1"]
    return rows


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        asyncio.run(_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        from .common import print_table

        print_table(run("--quick" in sys.argv))
