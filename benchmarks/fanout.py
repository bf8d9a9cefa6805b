"""Scenario 2 - Broadcast fan-out.

N receivers (1,000; 200 in quick mode) spread over several worker processes; one sender
broadcasts 200-byte messages. Figures: deliveries/s (throughput phase, sender windowed so no
server buffer overflows) and p99 send-to-receive latency (paced phase, 10 broadcasts/s).

Servers, each in the same run (``benchmarks.servers``):
* ``signalr``    - pysignalr_server, ``Broadcast(message)`` -> ``Receive`` to all (JSON);
* ``raw-fanout`` - raw aiohttp: pre-built SignalR frames, ``await ws.send_str`` per connection
                   (the ceiling);
* ``socketio``   - python-socketio ``AsyncServer`` on aiohttp (``emit("receive")`` to all);
* ``aiosignalr`` - the aiosignalr package's server (JSON arrives in binary frames), if importable.

Targets: >= 0.87x raw throughput; >= 4x python-socketio; paced p99 <= 1.5x raw's.

Flow control: the sender process also holds one receiving connection, connected last (for
SignalR/Socket.IO the sender's own connection, which ``all`` includes; for raw a probe on
``/ws``); the sender keeps at most ``window`` broadcasts not yet seen by it. Every receiver
checks it sees every sequence number of each phase exactly once; loss or duplicates fail.

Message text: ``<phase>:<seq>:<monotonic_ns>:<padding>`` (200 bytes), phase ``T`` or ``P``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from . import common
from .common import DeliveryError, row

SCENARIO = "fanout"
MSG_SIZE = 200


def make_msg(phase: str, seq: int) -> str:
    head = f"{phase}:{seq}:{time.monotonic_ns()}:"
    return head + "p" * (MSG_SIZE - len(head))


# --------------------------------------------------------------------------- client wire


async def connect(session, kind: str, url: str):
    if kind == "signalr":
        return await common.signalr_connect(session, url, "json")
    if kind == "aiosignalr":
        return await common.signalr_connect(session, url, "json", negotiate=True)
    if kind == "raw":
        return await session.ws_connect(url, max_msg_size=0, compress=0)
    if kind == "socketio":
        ws = await session.ws_connect(
            url + "/socket.io/?EIO=4&transport=websocket", max_msg_size=0, compress=0
        )
        m = await ws.receive_str()
        if not m.startswith("0"):
            raise RuntimeError(f"engine.io open expected: {m!r}")
        await ws.send_str("40")
        while True:
            m = await ws.receive_str()
            if m == "2":
                await ws.send_str("3")
                continue
            if m.startswith("40"):
                return ws
            raise RuntimeError(f"socket.io connect expected: {m!r}")
    raise ValueError(kind)


def extract(kind: str, data) -> list[str] | None:
    """Payload strings of ``Receive`` messages in one WebSocket message (None: control).

    Cheap string slicing instead of json.loads so that the load generators stay light (the
    payload contains no characters JSON would escape); anything unexpected falls back to
    json.loads.
    """
    if isinstance(data, bytes):
        data = data.decode()
    if kind == "socketio":
        if data.startswith('42["receive","') and data.endswith('"]'):
            return [data[14:-2]]
        if data.startswith("42"):
            ev = json.loads(data[2:])
            return [ev[1]] if ev[0] == "receive" else []
        return None
    out = []
    for part in data.split(RS):
        if not part:
            continue
        i = part.find(ARGS)
        if i >= 0 and TARGET in part:
            i += len(ARGS)
            out.append(part[i : part.index('"', i)])
        else:
            m = json.loads(part)
            if m.get("type") == 1 and m.get("target") == "Receive":
                out.append(m["arguments"][0])
    return out


RS = "\x1e"
ARGS = '"arguments":["'
TARGET = '"target":"Receive"'


async def reader(kind: str, ws, on_payload) -> None:
    import aiohttp

    while True:
        msg = await ws.receive()
        if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            if kind == "socketio" and msg.data == "2":
                await ws.send_str("3")
                continue
            got = extract(kind, msg.data)
            if got:
                now = time.monotonic_ns()
                for p in got:
                    on_payload(p, now)
        else:
            return


# --------------------------------------------------------------------------- receiver worker


async def recv_worker(a: argparse.Namespace) -> None:
    import aiohttp

    n, M, C = a.conns, a.thr, a.paced
    seen = {"T": [bytearray(M) for _ in range(n)], "P": [bytearray(C) for _ in range(n)]}
    counts = {"T": 0, "P": 0}
    dups = {"T": 0, "P": 0}
    bogus = [0]
    first_last = {"T": [None, None], "P": [None, None]}
    lat_us: list[int] = []
    done_evt = {"T": asyncio.Event(), "P": asyncio.Event()}
    expect = {"T": n * M, "P": n * C}

    def handler(i: int):
        def on_payload(p: str, now: int) -> None:
            phase, seq, ts, _ = p.split(":", 3)
            seq = int(seq)
            arr = seen.get(phase)
            if arr is None or seq >= len(arr[i]):
                bogus[0] += 1
                return
            if arr[i][seq]:
                dups[phase] += 1
                return
            arr[i][seq] = 1
            counts[phase] += 1
            fl = first_last[phase]
            if fl[0] is None:
                fl[0] = now
            fl[1] = now
            if phase == "P":
                lat_us.append((now - int(ts)) // 1000)
            if counts[phase] == expect[phase]:
                done_evt[phase].set()

        return on_payload

    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        wss = []
        for _ in range(n):
            wss.append(await connect(session, a.kind, a.url))
        tasks = [asyncio.create_task(reader(a.kind, ws, handler(i))) for i, ws in enumerate(wss)]
        print("READY", flush=True)

        async def announce(phase: str) -> None:
            await done_evt[phase].wait()
            fl = first_last[phase]
            print(f"DONE {phase} {fl[0]} {fl[1]}", flush=True)

        ann = [asyncio.create_task(announce(p)) for p in ("T", "P")]
        c0 = common.cpu_self()
        while (await common.read_stdin_line()) != "END":
            pass
        cpu = common.cpu_self() - c0
        closed_early = sum(1 for t in tasks if t.done())
        for t in tasks + ann:
            t.cancel()
        for ws in wss:
            await ws.close()
    lost = {ph: expect[ph] - counts[ph] for ph in ("T", "P")}
    common.emit_result(
        dict(
            counts=counts,
            dups=dups,
            lost=lost,
            bogus=bogus[0],
            cpu=cpu,
            closed_early=closed_early,
            lat_us=sorted(lat_us),
            first_last=first_last,
        )
    )


# --------------------------------------------------------------------------- sender


async def send_worker(a: argparse.Namespace) -> None:
    import aiohttp

    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        if a.kind == "raw":
            probe = await connect(session, "raw", a.url + "/ws")
            sender = await session.ws_connect(a.url + "/send", max_msg_size=0, compress=0)
        else:
            sender = probe = await connect(session, a.kind, a.url + ("/hub" if "signalr" in a.kind else ""))

        seen = {"T": 0, "P": 0}
        progress = asyncio.Event()

        def on_payload(p: str, now: int) -> None:
            seen[p[0]] += 1
            progress.set()

        rtask = asyncio.create_task(reader(a.kind, probe, on_payload))

        async def send(phase: str, seq: int) -> None:
            text = make_msg(phase, seq)
            if a.kind == "raw":
                await sender.send_str(f'{{"type":1,"target":"Receive","arguments":["{text}"]}}\x1e')
            elif a.kind == "socketio":
                await sender.send_str(f'42["broadcast","{text}"]')
            else:
                await sender.send_str(f'{{"type":1,"target":"Broadcast","arguments":["{text}"]}}\x1e')

        print("READY", flush=True)
        c0 = common.cpu_self()
        while True:
            cmd = (await common.read_stdin_line()).split()
            if not cmd or cmd[0] == "END":
                break
            if cmd[0] == "THR":
                m, window = int(cmd[1]), int(cmd[2])
                t0 = time.monotonic_ns()
                for seq in range(m):
                    while seq - seen["T"] >= window:
                        progress.clear()
                        await asyncio.wait_for(progress.wait(), 30)
                    await send("T", seq)
                print(f"SENT T {t0} {time.monotonic_ns()}", flush=True)
            elif cmd[0] == "PACED":
                c, rate = int(cmd[1]), float(cmd[2])
                t0 = time.monotonic()
                for seq in range(c):
                    delay = t0 + seq / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await send("P", seq)
                print(f"SENT P {int(t0 * 1e9)} {time.monotonic_ns()}", flush=True)
        cpu = common.cpu_self() - c0
        rtask.cancel()
        await sender.close()
        if probe is not sender:
            await probe.close()
    common.emit_result(dict(cpu=cpu, seen=seen))


# --------------------------------------------------------------------------- driver

SERVER_KIND = {"signalr": "signalr", "raw": "raw-fanout", "socketio": "socketio", "aiosignalr": "aiosignalr"}


def _one(kind: str, conns: int, workers: int, m: int, window: int, c: int, rate: float) -> dict:
    srv = common.spawn_server(SERVER_KIND[kind])
    procs: list[common.Proc] = []
    try:
        base = f"ws://127.0.0.1:{srv.port}"
        url = base + {"signalr": "/hub", "aiosignalr": "/hub", "raw": "/ws", "socketio": ""}[kind]
        per = [conns // workers + (1 if i < conns % workers else 0) for i in range(workers)]
        for n in per:
            procs.append(
                common.spawn(
                    [
                        "-m",
                        "benchmarks.fanout",
                        "recv",
                        "--kind",
                        kind,
                        "--url",
                        url,
                        "--conns",
                        str(n),
                        "--thr",
                        str(m),
                        "--paced",
                        str(c),
                    ],
                    name=f"fanout-recv:{kind}",
                )
            )
        for p in procs:
            p.wait_for("READY", 120)
        sender = common.spawn(
            ["-m", "benchmarks.fanout", "send", "--kind", kind, "--url", base], name=f"fanout-send:{kind}"
        )
        procs.append(sender)
        sender.wait_for("READY", 60)
        recvs = procs[:-1]
        all_cpu0 = {p.pid: p.cpu() for p in procs}
        srv.mark_cpu()
        # throughput phase
        sender.send(f"THR {m} {window}")
        timeout = 60 + m * conns / 5000
        t_sent = sender.wait_for("SENT T", timeout).split()
        t_first = int(t_sent[0])
        lasts = []
        complete_t = True
        for p in recvs:
            try:
                lasts.append(int(p.wait_for("DONE T", 20).split()[1]))
            except TimeoutError:
                complete_t = False
        t_end = max(lasts) if lasts else time.monotonic_ns()
        thr_elapsed = (t_end - t_first) / 1e9
        srv_cpu_thr = srv.cpu_since_mark()
        cli_cpu_thr = sum(p.cpu() - all_cpu0[p.pid] for p in procs)
        # paced phase
        sender.send(f"PACED {c} {rate}")
        sender.wait_for("SENT P", c / rate + 60)
        for p in recvs:
            try:
                p.wait_for("DONE P", 10)
            except TimeoutError:
                pass
        for p in procs:
            p.send("END")
        results = [p.result(60) for p in recvs]
        sender.result(30)
    finally:
        common.stop_all(procs)
        srv.stop()
    lost = sum(r["lost"]["T"] + r["lost"]["P"] for r in results)
    dups = sum(r["dups"]["T"] + r["dups"]["P"] for r in results)
    bogus = sum(r["bogus"] for r in results)
    if lost or dups or bogus or not complete_t:
        raise DeliveryError(
            f"fanout {kind}: lost={lost} duplicates={dups} unexpected={bogus} "
            f"(closed connections: {sum(r['closed_early'] for r in results)})"
        )
    lat = sorted(x for r in results for x in r["lat_us"])
    return dict(
        dps=conns * m / thr_elapsed,
        p99=common.percentile(lat, 99) / 1000,
        p50=common.percentile(lat, 50) / 1000,
        server_cpu=srv_cpu_thr / thr_elapsed,
        client_cpu=cli_cpu_thr / thr_elapsed,
    )


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def run(quick: bool) -> list[dict]:
    if quick:
        conns, workers, m, window, c, rate, nruns = 200, 2, 100, 16, 10, 10.0, 1
    else:
        conns, workers, m, window, c, rate, nruns = 1000, 4, 200, 16, 50, 10.0, 3
    kinds = ["raw", "signalr"]
    notes = {}
    for k, mod in (("socketio", "socketio"), ("aiosignalr", "aiosignalr")):
        if _have(mod):
            kinds.append(k)
        else:
            notes[k] = f"{mod} not installed"
    res: dict[str, list[dict]] = {k: [] for k in kinds}
    errors: dict[str, str] = {}
    for _ in range(nruns):
        for k in kinds:
            if k in errors:
                continue
            try:
                res[k].append(_one(k, conns, workers, m, window, c, rate))
            except DeliveryError as e:
                if k in ("raw", "signalr"):
                    raise
                errors[k] = f"delivery failure: {e}"
            except Exception as e:
                if k in ("raw", "signalr"):
                    raise
                errors[k] = f"{type(e).__name__}: {e}"[:300]
    med = {k: {f: common.median([r[f] for r in v]) for f in v[0]} for k, v in res.items() if v}
    v = f"json c={conns} {MSG_SIZE}B"
    s, raw = med["signalr"], med["raw"]
    rows = [
        row(
            SCENARIO,
            v,
            "deliveries/s vs raw",
            s["dps"],
            "1/s",
            raw["dps"],
            target_ratio=0.87,
            note=f"median of {nruns}; {m} broadcasts, window {window}; raw aiohttp send_str ceiling",
        ),
    ]
    sio = med.get("socketio")
    if sio:
        rows.append(
            row(SCENARIO, v, "deliveries/s vs socketio", s["dps"], "1/s", sio["dps"], target_ratio=4.0)
        )
    else:
        rows.append(
            dict(
                scenario=SCENARIO,
                variant=v,
                metric="deliveries/s vs socketio",
                value=s["dps"],
                unit="1/s",
                baseline=None,
                ratio=None,
                target=">= 4x",
                met=False,
                note="python-socketio baseline unavailable: "
                + errors.get("socketio", notes.get("socketio", "?")),
            )
        )
    asr = med.get("aiosignalr")
    if asr:
        rows.append(row(SCENARIO, v, "deliveries/s vs aiosignalr", s["dps"], "1/s", asr["dps"]))
    else:
        rows.append(
            dict(
                scenario=SCENARIO,
                variant=v,
                metric="deliveries/s vs aiosignalr",
                value=s["dps"],
                unit="1/s",
                baseline=None,
                ratio=None,
                target=None,
                met=None,
                note="aiosignalr baseline unavailable: "
                + errors.get("aiosignalr", notes.get("aiosignalr", "?")),
            )
        )
    rows.append(
        row(
            SCENARIO,
            v + f" paced {rate:g}/s",
            "p99 latency",
            s["p99"],
            "ms",
            raw["p99"],
            target_ratio=1.5,
            higher_is_better=False,
            note=f"{c} paced broadcasts x {conns} receivers",
        )
    )
    rows.append(row(SCENARIO, v + f" paced {rate:g}/s", "p50 latency", s["p50"], "ms", raw["p50"]))
    for k, other in (("raw", raw), ("socketio", sio), ("aiosignalr", asr)):
        if other and k != "raw":
            rows.append(
                row(SCENARIO, v + f" paced {rate:g}/s", f"p99 latency vs {k}", s["p99"], "ms", other["p99"])
            )
    for k in kinds:
        if k in med:
            rows.append(row(SCENARIO, f"{v} [{k}]", "server CPU (thr)", med[k]["server_cpu"], "cores"))
            rows.append(row(SCENARIO, f"{v} [{k}]", "client CPU (thr)", med[k]["client_cpu"], "cores"))
            rows.append(row(SCENARIO, f"{v} [{k}]", "deliveries/s", med[k]["dps"], "1/s"))
    rows.append(
        dict(
            scenario=SCENARIO,
            variant=v,
            metric="delivery",
            value=0,
            unit="lost+dup",
            baseline=0,
            ratio=None,
            target="0",
            met=True,
            note="checked for " + ", ".join(k for k in kinds if k in med),
        )
    )
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["recv", "send"])
    ap.add_argument("--kind", required=True, choices=sorted(SERVER_KIND))
    ap.add_argument("--url", required=True)
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--thr", type=int, default=0)
    ap.add_argument("--paced", type=int, default=0)
    args = ap.parse_args()
    common.worker_main(lambda: (recv_worker if args.mode == "recv" else send_worker)(args))
