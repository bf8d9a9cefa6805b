"""Scenario 1 - Echo.

N connections (100) each invoke ``Echo`` in a closed loop over WebSockets, in JSON and
MessagePack. Figures: round trips/s, p50 and p99 latency. Baseline in the same run: a raw
aiohttp WebSocket echo server (``benchmarks.servers raw-echo``) echoing frames of the same size,
on the same (default asyncio) event loop. Target: >= 0.6x raw throughput.

The raw client decodes each echoed frame (json.loads / msgpack.unpackb) just as the SignalR
client decodes each completion, so both load generators do comparable work.

Every reply is checked (matching invocation id and value; no extra messages): any loss,
duplicate or mismatch fails the scenario.

Worker: ``python -m benchmarks.echo worker --kind signalr|raw --proto json|msgpack --url URL
--conns N --size S`` prints READY, waits for ``GO <seconds>`` on stdin, prints RESULT.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from pysignalr_server.protocol.framing import frame_binary, split_binary

from . import common
from .common import DeliveryError, row

SCENARIO = "echo"


# --------------------------------------------------------------------------- worker


async def _conn_loop(
    kind: str, proto: str, ws, value: str, stop_at: list, lat: list, stats: dict, cid: int
) -> None:
    import aiohttp
    import msgpack

    n = 0
    raw_text = proto == "json"
    while True:
        now = time.monotonic()
        if stop_at[0] is not None and now >= stop_at[0]:
            return
        n += 1
        inv = str(n)
        if proto == "json":
            frame = f'{{"type":1,"invocationId":"{inv}","target":"Echo","arguments":["{value}"]}}\x1e'
        else:
            frame = frame_binary(msgpack.packb([1, {}, inv, "Echo", [value]]))
        t0 = time.perf_counter()
        if raw_text:
            await ws.send_str(frame)
        else:
            await ws.send_bytes(frame)
        got = False
        while not got:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT and raw_text:
                import json

                if kind == "raw":  # same parse work as the SignalR client
                    m = json.loads(msg.data[:-1])
                    if msg.data != frame or m["invocationId"] != inv or m["arguments"][0] != value:
                        stats["bad"] += 1
                    got = True
                    continue
                for part in common.split_json(msg.data):
                    m = json.loads(part)
                    if m.get("type") == 6:
                        continue
                    if (
                        m.get("type") == 3
                        and m.get("invocationId") == inv
                        and m.get("result") == value
                        and not got
                    ):
                        got = True
                    else:
                        stats["bad"] += 1
            elif msg.type == aiohttp.WSMsgType.BINARY and not raw_text:
                if kind == "raw":  # same parse work as the SignalR client
                    m = msgpack.unpackb(split_binary(msg.data).records[0])
                    if msg.data != frame or m[2] != inv or m[4][0] != value:
                        stats["bad"] += 1
                    got = True
                    continue
                for part in split_binary(msg.data).records:
                    m = msgpack.unpackb(part)
                    if m[0] == 6:
                        continue
                    if m[0] == 3 and m[2] == inv and m[3] == 3 and m[4] == value and not got:
                        got = True
                    else:
                        stats["bad"] += 1
            else:
                stats["closed"] += 1
                raise RuntimeError(f"conn {cid}: unexpected {msg.type} {msg.data!r}")
        dt = time.perf_counter() - t0
        if stop_at[0] is not None and stats["measuring"]:
            lat.append(dt)
            stats["count"] += 1


async def worker(a: argparse.Namespace) -> None:
    import aiohttp

    value = "x" * a.size
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        wss = []
        for _ in range(a.conns):
            if a.kind == "signalr":
                wss.append(await common.signalr_connect(session, a.url, a.proto))
            else:
                wss.append(await session.ws_connect(a.url, max_msg_size=0, compress=0))
        print("READY", flush=True)
        cmd = (await common.read_stdin_line()).split()
        warmup, duration = float(cmd[1]), float(cmd[2])
        stop_at: list = [None]
        lat: list[float] = []
        stats = dict(count=0, bad=0, closed=0, measuring=False)
        # warm-up, then measure: the closed loops run throughout; stop_at is set up front
        start = time.monotonic()
        stop_at[0] = start + warmup + duration
        tasks = [
            asyncio.create_task(_conn_loop(a.kind, a.proto, ws, value, stop_at, lat, stats, i))
            for i, ws in enumerate(wss)
        ]
        await asyncio.sleep(warmup)
        stats["measuring"] = True
        c0 = common.cpu_self()
        t_meas = time.monotonic()
        err = None
        try:
            await asyncio.gather(*tasks)
        except Exception as e:  # noqa: BLE001
            err = repr(e)
        elapsed = time.monotonic() - t_meas
        cpu = common.cpu_self() - c0
        for ws in wss:
            await ws.close()
    lat_us = sorted(int(x * 1e6) for x in lat)
    common.emit_result(
        dict(count=stats["count"], elapsed=elapsed, bad=stats["bad"], error=err, cpu=cpu, lat_us=lat_us)
    )


# --------------------------------------------------------------------------- driver


def _one(
    server_kind: str,
    client_kind: str,
    proto: str,
    conns: int,
    workers: int,
    size: int,
    warmup: float,
    duration: float,
) -> dict:
    srv = common.spawn_server(server_kind)
    procs = []
    try:
        path = "/hub" if client_kind == "signalr" else "/ws"
        url = f"ws://127.0.0.1:{srv.port}{path}"
        per = [conns // workers + (1 if i < conns % workers else 0) for i in range(workers)]
        for n in per:
            procs.append(
                common.spawn(
                    [
                        "-m",
                        "benchmarks.echo",
                        "worker",
                        "--kind",
                        client_kind,
                        "--proto",
                        proto,
                        "--url",
                        url,
                        "--conns",
                        str(n),
                        "--size",
                        str(size),
                    ],
                    name=f"echo-worker:{client_kind}",
                )
            )
        for p in procs:
            p.wait_for("READY", 60)
        for p in procs:
            p.send(f"GO {warmup} {duration}")
        time.sleep(warmup)
        srv.mark_cpu()
        results = [p.result(warmup + duration + 60) for p in procs]
        srv_cpu = srv.cpu_since_mark()
    finally:
        common.stop_all(procs)
        srv.stop()
    errors = [r["error"] for r in results if r["error"]]
    bad = sum(r["bad"] for r in results)
    if errors or bad:
        raise DeliveryError(f"echo {server_kind}/{proto}: {bad} wrong/duplicate replies, errors={errors[:3]}")
    count = sum(r["count"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    lat = sorted(x for r in results for x in r["lat_us"])
    return dict(
        rps=count / elapsed,
        p50=common.percentile(lat, 50) / 1000,
        p99=common.percentile(lat, 99) / 1000,
        server_cpu=srv_cpu / elapsed,
        client_cpu=sum(r["cpu"] for r in results) / elapsed,
        count=count,
    )


def run(quick: bool) -> list[dict]:
    conns = 100
    workers = 2 if quick else 4
    size = 64
    warmup, duration = (0.3, 1.5) if quick else (1.0, 5.0)
    nruns = common.runs_count(quick, 5)
    rows: list[dict] = []
    for proto in ("json", "msgpack"):
        res: dict[str, list[dict]] = {"signalr": [], "raw": []}
        for k in range(nruns):
            # alternate the order between runs so that neither side always goes first
            order = ("raw", "signalr") if k % 2 == 0 else ("signalr", "raw")
            for side in order:
                server_kind = "raw-echo" if side == "raw" else "signalr"
                res[side].append(_one(server_kind, side, proto, conns, workers, size, warmup, duration))
        med = {k: {f: common.median([r[f] for r in v]) for f in v[0]} for k, v in res.items()}
        s, b = med["signalr"], med["raw"]
        v = f"{proto} c={conns} {size}B"
        rows.append(
            row(
                SCENARIO,
                v,
                "round trips/s",
                s["rps"],
                "1/s",
                b["rps"],
                target_ratio=0.6,
                ratio=common.paired_ratio([r["rps"] for r in res["signalr"]], [r["rps"] for r in res["raw"]]),
                note=f"values: medians of {nruns} runs; ratio: median of the {nruns} paired run ratios; "
                "raw aiohttp echo baseline",
            )
        )
        rows.append(row(SCENARIO, v, "p50 latency", s["p50"], "ms", b["p50"]))
        rows.append(row(SCENARIO, v, "p99 latency", s["p99"], "ms", b["p99"]))
        rows.append(row(SCENARIO, v, "server CPU", s["server_cpu"], "cores", b["server_cpu"]))
        rows.append(row(SCENARIO, v, "client CPU", s["client_cpu"], "cores", b["client_cpu"]))
        rows.append(row(SCENARIO, v, "delivery", 0, "lost+dup", 0, target="0", met=True))
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["worker"])
    ap.add_argument("--kind", required=True)
    ap.add_argument("--proto", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    common.worker_main(lambda: worker(args))
