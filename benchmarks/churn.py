"""Scenario 6: connection churn.

Each cycle: POST /hub/negotiate?negotiateVersion=1, WebSocket upgrade to /hub?id=<token>,
JSON handshake, wait for ``{}\\x1e``, close. Baseline: raw aiohttp WebSocket upgrade +
the same handshake bytes echoed + close (benchmarks/crossnode_server.py ``raw``). Load from
several worker processes, each with C concurrent loops, for a fixed duration. Any failed cycle
fails the scenario.
"""

from __future__ import annotations

import asyncio
import sys
import time

from .common import DeliveryError, emit_result, row, spawn
from .crossnode_server import raise_nofile, server

HANDSHAKE = '{"protocol":"json","version":1}\x1e'


async def _worker(mode: str, port: int, conc: int, secs: float, start_at: float) -> None:
    import aiohttp

    raise_nofile()
    base = f"http://127.0.0.1:{port}"
    ok = [0]
    errs: list[str] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        end = time.monotonic() + secs

        async def loop() -> None:
            while time.monotonic() < end:
                try:
                    if mode == "raw":
                        url = base + "/ws"
                    else:
                        async with session.post(base + "/hub/negotiate?negotiateVersion=1") as r:
                            if r.status != 200:
                                raise RuntimeError(f"negotiate {r.status}")
                            body = await r.json()
                        url = base + "/hub?id=" + body["connectionToken"]
                    ws = await session.ws_connect(url)
                    await ws.send_str(HANDSHAKE)
                    msg = await ws.receive(timeout=10)
                    if not (msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith("{}\x1e")):
                        raise RuntimeError(f"bad handshake reply {msg!r}")
                    await ws.close()
                    ok[0] += 1
                except Exception as e:  # noqa: BLE001
                    errs.append(repr(e))

        t0 = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(conc)))
        elapsed = time.monotonic() - t0
    emit_result({"ok": ok[0], "nerr": len(errs), "errors": errs[:3], "secs": elapsed})


def _measure(mode: str, nproc: int, conc: int, secs: float) -> dict:
    with server(mode) as (port, _pid):
        start_at = time.time() + 1.5
        ws = [
            spawn(
                ["-m", "benchmarks.churn", "worker", mode, str(port), str(conc), str(secs), str(start_at)],
                name=f"churn-{mode}-{i}",
            )
            for i in range(nproc)
        ]
        try:
            res = [w.result(timeout=secs + 60) for w in ws]
        finally:
            for w in ws:
                w.stop()
    nerr = sum(r["nerr"] for r in res)
    if nerr:
        raise DeliveryError(f"churn {mode}: {nerr} failed cycles, e.g. {[r['errors'] for r in res]}")
    ok = sum(r["ok"] for r in res)
    return {"ok": ok, "rate": ok / max(r["secs"] for r in res)}


def run(quick: bool) -> list[dict]:
    nproc, conc, secs = (2, 8, 1.5) if quick else (3, 16, 10.0)
    sr = _measure("signalr", nproc, conc, secs)
    raw = _measure("raw", nproc, conc, secs)
    v = f"{nproc}x{conc} loops"
    return [
        row(
            "churn",
            v,
            "delivery",
            1.0,
            "ok",
            target="no failed cycle",
            met=True,
            note=f"signalr {sr['ok']} cycles, raw {raw['ok']} cycles, 0 failures",
        ),
        row(
            "churn",
            v,
            "negotiate+upgrade+handshake /s",
            sr["rate"],
            "conn/s",
            baseline=raw["rate"],
            note="baseline: raw aiohttp upgrade+handshake-echo+close /s (no negotiate)",
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        asyncio.run(
            _worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
        )
    else:
        from .common import print_table

        print_table(run("--quick" in sys.argv))
