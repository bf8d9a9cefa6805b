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
import random
import re
import time

from . import common, wsclient
from .common import DeliveryError, row

SCENARIO = "fanout"
MSG_SIZE = 200


def make_msg(phase: str, seq: int) -> str:
    head = f"{phase}:{seq}:{time.monotonic_ns()}:"
    return head + "p" * (MSG_SIZE - len(head))


# --------------------------------------------------------------------------- client wire

# ``<phase>:<seq>:<monotonic_ns>:`` inside any server's framing (SignalR JSON records, raw
# pre-built frames, Socket.IO ``42[...]`` packets, aiosignalr's binary frames); the padding is
# ``p`` characters, so nothing else in a frame matches.
PAYLOAD = re.compile(rb"([TPG]):(\d+):(\d+):")
FAST = ((b"T", re.compile(rb"T:(\d+):")), (b"G", re.compile(rb"G:(\d+):")))
PACED = re.compile(rb"P:(\d+):(\d+):")
JSON_HANDSHAKE = b'{"protocol":"json","version":1}\x1e'
PING = b'{"type":6}\x1e'


async def connect(kind: str, url: str, session=None) -> wsclient.WsClientProtocol:
    """Connect and finish the protocol's handshake; the caller then calls ``start``."""
    if kind == "raw":
        return await wsclient.ws_connect(url)
    if kind == "socketio":
        ws = await wsclient.ws_connect(url + "/socket.io/?EIO=4&transport=websocket")
        _, m = await ws.receive_first()
        if not m.startswith(b"0"):
            raise RuntimeError(f"engine.io open expected: {m!r}")
        ws.send_text("40")
        while True:
            _, m = await ws.receive_first()
            if m == b"2":
                ws.send_text("3")
            elif m.startswith(b"40"):
                return ws
            else:
                raise RuntimeError(f"socket.io connect expected: {m!r}")
    if kind == "aiosignalr":  # negotiate first, then connect with ?id=
        async with session.post("http" + url[2:] + "/negotiate?negotiateVersion=1") as r:
            r.raise_for_status()
            neg = await r.json(content_type=None)
        url = f"{url}?id={neg.get('connectionToken') or neg.get('connectionId')}"
    ws = await wsclient.ws_connect(url)
    ws.send(wsclient.OP_TEXT, JSON_HANDSHAKE)
    _, m = await ws.receive_first()
    if not m.startswith(b"{}"):
        raise RuntimeError(f"handshake failed: {m!r}")
    return ws


async def invoke(ws: wsclient.WsClientProtocol, target: str, *args: str) -> None:
    """A blocking SignalR invocation over ``ws`` before ``start`` (waits for its completion)."""
    ws.send_text(json.dumps({"type": 1, "invocationId": "0", "target": target, "arguments": list(args)}) + RS)
    while True:
        _, m = await ws.receive_first()
        if b'"type":3' in m:
            if b'"error"' in m:
                raise RuntimeError(f"{target} failed: {m!r}")
            return


RS = "\x1e"


def group_of(k: int) -> int:
    """The group of the k-th group send: each round of 100 sends is a seeded shuffle of all
    100 groups, so every group gets the same number of messages in a random order."""
    order = list(range(GROUPS))
    random.Random(k // GROUPS).shuffle(order)
    return order[k % GROUPS]


GROUPS = 100


# --------------------------------------------------------------------------- receiver worker


async def recv_worker(a: argparse.Namespace) -> None:
    import aiohttp

    n = a.conns
    per_conn = {b"T": a.thr, b"P": a.paced, b"G": a.grp // GROUPS}
    seen = {ph: [bytearray(c) for _ in range(n)] for ph, c in per_conn.items()}
    counts = dict.fromkeys(per_conn, 0)
    dups = dict.fromkeys(per_conn, 0)
    bogus = [0]
    first_last: dict[bytes, list[int | None]] = {ph: [None, None] for ph in per_conn}
    lat_us: list[int] = []
    done_evt = {ph: asyncio.Event() for ph in per_conn}
    expect = {ph: n * c for ph, c in per_conn.items()}
    findall = PAYLOAD.findall
    monotonic_ns = time.monotonic_ns

    def record(i: int, phase: bytes, seq: int, ts: int, now: int) -> None:
        """One message, checked on its own (the slow path)."""
        arr = seen.get(phase)
        if arr is None or seq >= len(arr[i]):
            bogus[0] += 1
            return
        if arr[i][seq]:
            dups[phase] += 1
            return
        arr[i][seq] = 1
        nxt[i][phase] = max(nxt[i][phase], seq + 1)
        arrived(phase, 1, now)
        if phase == b"P":
            lat_us.append((now - ts) // 1000)

    def arrived(phase: bytes, k: int, now: int) -> None:
        counts[phase] += k
        fl = first_last[phase]
        if fl[0] is None:
            fl[0] = now
        fl[1] = now
        if counts[phase] == expect[phase]:
            done_evt[phase].set()

    nxt = [dict.fromkeys(per_conn, 0) for _ in range(n)]

    def chunk_handler(i: int):
        """Raw bytes after the handshake, for the SignalR-framed kinds.

        Every record ends with 0x1E and every marker lies inside one record, so the bytes up
        to the last 0x1E hold whole markers (WebSocket headers between records cannot form
        one). Throughput markers arrive in order on a connection, so one C-level comparison
        against the expected run of numbers checks a whole read at once; anything else
        (a gap, a duplicate, a stray number) takes the per-message path.
        """
        tail = b""
        mine = nxt[i]

        def on_data(data: bytes) -> None:
            nonlocal tail
            buf = tail + data if tail else data
            cut = buf.rfind(b"\x1e") + 1
            tail = buf[cut:]
            if not cut:
                return
            now = monotonic_ns()
            for phase, rx in FAST:
                found = rx.findall(buf, 0, cut)
                if not found:
                    continue
                nums = list(map(int, found))
                first = mine[phase]
                arr = seen[phase][i]
                if nums[-1] < len(arr) and nums == list(range(first, first + len(nums))):
                    arr[first : first + len(nums)] = b"\x01" * len(nums)
                    mine[phase] = first + len(nums)
                    arrived(phase, len(nums), now)
                else:
                    for seq in nums:
                        record(i, phase, seq, 0, now)
            for seq_b, ts_b in PACED.findall(buf, 0, cut):
                record(i, b"P", int(seq_b), int(ts_b), now)

        return on_data

    def frame_handler(i: int, ws: wsclient.WsClientProtocol):
        """Per frame, for Socket.IO (which needs its pings answered)."""

        def on_message(opcode: int, payload: bytes) -> None:
            if payload == b"2":
                ws.send_text("3")
                return
            found = findall(payload)
            if found:
                now = monotonic_ns()
                for phase, seq_b, ts in found:
                    record(i, phase, int(seq_b), int(ts), now)

        return on_message

    async with aiohttp.ClientSession() as session:
        wss = []
        for i in range(n):
            ws = await connect(a.kind, a.url, session)
            if a.grp:
                await invoke(ws, "JoinGroup", f"g{(a.offset + i) % GROUPS}")
            if a.kind == "socketio":
                ws.start(frame_handler(i, ws))
            else:
                ws.start_raw(chunk_handler(i))
            wss.append(ws)
    print("READY", flush=True)

    async def announce(phase: bytes) -> None:
        await done_evt[phase].wait()
        fl = first_last[phase]
        print(f"DONE {phase.decode()} {fl[0]} {fl[1]}", flush=True)

    async def keepalive() -> None:  # SignalR servers drop clients silent for 30 s
        while True:
            await asyncio.sleep(10)
            if a.kind in ("signalr", "aiosignalr"):
                for ws in wss:
                    ws.send(wsclient.OP_TEXT, PING)

    tasks = [asyncio.create_task(announce(p)) for p in per_conn if expect[p]]
    tasks.append(asyncio.create_task(keepalive()))
    c0 = common.cpu_self()
    while (await common.read_stdin_line()) != "END":
        pass
    cpu = common.cpu_self() - c0
    closed_early = sum(1 for ws in wss if ws.closed.done())
    for t in tasks:
        t.cancel()
    for ws in wss:
        ws.close()
    lost = {ph.decode(): expect[ph] - counts[ph] for ph in per_conn}
    common.emit_result(
        dict(
            counts={ph.decode(): c for ph, c in counts.items()},
            dups={ph.decode(): c for ph, c in dups.items()},
            lost=lost,
            bogus=bogus[0],
            cpu=cpu,
            closed_early=closed_early,
            lat_us=sorted(lat_us),
        )
    )


# --------------------------------------------------------------------------- sender


async def send_worker(a: argparse.Namespace) -> None:
    import aiohttp

    seen = {b"T": 0, b"P": 0, b"G": 0}
    progress = asyncio.Event()

    def on_message(opcode: int, payload: bytes) -> None:
        if a.kind == "socketio" and payload == b"2":
            probe.send_text("3")
            return
        for phase, _, _ in PAYLOAD.findall(payload):
            seen[phase] += 1
        progress.set()

    async with aiohttp.ClientSession() as session:
        if a.kind == "raw":
            probe = await connect("raw", a.url + "/ws")
            sender = await connect("raw", a.url + "/send")
        else:
            sender = probe = await connect(a.kind, a.url + ("/hub" if "signalr" in a.kind else ""), session)
            if a.grp:  # the probe sees every group send, for the window
                for g in range(GROUPS):
                    await invoke(probe, "JoinGroup", f"g{g}")
    probe.start(on_message)
    if sender is not probe:
        sender.start(lambda op, p: None)

    def send(phase: str, seq: int, group: int | None = None) -> None:
        text = make_msg(phase, seq)
        if a.kind == "raw":
            sender.send_text(f'{{"type":1,"target":"Receive","arguments":["{text}"]}}\x1e')
        elif a.kind == "socketio":
            sender.send_text(f'42["broadcast","{text}"]')
        elif group is not None:
            sender.send_text(f'{{"type":1,"target":"SendGroup","arguments":["g{group}","{text}"]}}\x1e')
        else:
            sender.send_text(f'{{"type":1,"target":"Broadcast","arguments":["{text}"]}}\x1e')

    async def windowed(phase: bytes, m: int, window: int, group: bool) -> None:
        for k in range(m):
            while k - seen[phase] >= window:
                progress.clear()
                await asyncio.wait_for(progress.wait(), 30)
            if group:
                send("G", k // GROUPS, group_of(k))
            else:
                send(phase.decode(), k)
            if k % 8 == 7:
                await asyncio.sleep(0)  # let the probe's reads in

    print("READY", flush=True)
    c0 = common.cpu_self()
    while True:
        cmd = (await common.read_stdin_line()).split()
        if not cmd or cmd[0] == "END":
            break
        if cmd[0] in ("THR", "GRP"):
            m, window = int(cmd[1]), int(cmd[2])
            t0 = time.monotonic_ns()
            await windowed(b"T" if cmd[0] == "THR" else b"G", m, window, cmd[0] == "GRP")
            print(f"SENT {cmd[0][0]} {t0} {time.monotonic_ns()}", flush=True)
        elif cmd[0] == "PACED":
            c, rate = int(cmd[1]), float(cmd[2])
            t0 = time.monotonic()
            for seq in range(c):
                delay = t0 + seq / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                send("P", seq)
            print(f"SENT P {int(t0 * 1e9)} {time.monotonic_ns()}", flush=True)
    cpu = common.cpu_self() - c0
    sender.close()
    probe.close()
    common.emit_result(dict(cpu=cpu, seen={k.decode(): v for k, v in seen.items()}))


# --------------------------------------------------------------------------- driver

SERVER_KIND = {"signalr": "signalr", "raw": "raw-fanout", "socketio": "socketio", "aiosignalr": "aiosignalr"}


def _one(kind: str, conns: int, workers: int, m: int, window: int, c: int, rate: float, g: int = 0) -> dict:
    """One server, ``conns`` receivers over ``workers`` processes: throughput, paced, groups.

    ``g`` group sends (a multiple of 100; SignalR only) run after the paced phase.
    """
    srv = common.spawn_server(SERVER_KIND[kind])
    procs: list[common.Proc] = []
    try:
        base = f"ws://127.0.0.1:{srv.port}"
        url = base + {"signalr": "/hub", "aiosignalr": "/hub", "raw": "/ws", "socketio": ""}[kind]
        per = [conns // workers + (1 if i < conns % workers else 0) for i in range(workers)]
        offset = 0
        for n in per:
            args = ["--kind", kind, "--url", url, "--conns", str(n), "--thr", str(m), "--paced", str(c)]
            args += ["--grp", str(g), "--offset", str(offset)]
            procs.append(common.spawn(["-m", "benchmarks.fanout", "recv", *args], name=f"fanout-recv:{kind}"))
            offset += n
        for p in procs:
            p.wait_for("READY", 120)
        sender = common.spawn(
            ["-m", "benchmarks.fanout", "send", "--kind", kind, "--url", base, "--grp", str(g)],
            name=f"fanout-send:{kind}",
        )
        procs.append(sender)
        sender.wait_for("READY", 60)
        recvs = procs[:-1]

        def measured(cmd: str, phase: str, deliveries: int) -> tuple[float, float, float, bool]:
            """Run a windowed phase; (deliveries/s, server cores, client cores, complete)."""
            cpu0 = {p.pid: p.cpu() for p in procs}
            srv.mark_cpu()
            sender.send(cmd)
            t_first = int(sender.wait_for(f"SENT {phase}", 60 + deliveries / 5000).split()[0])
            lasts, complete = [], True
            for p in recvs:
                try:
                    lasts.append(int(p.wait_for(f"DONE {phase}", 20).split()[1]))
                except TimeoutError:
                    complete = False
            elapsed = ((max(lasts) if lasts else time.monotonic_ns()) - t_first) / 1e9
            srv_cpu = srv.cpu_since_mark()
            cli_cpu = sum(p.cpu() - cpu0[p.pid] for p in procs)
            return deliveries / elapsed, srv_cpu / elapsed, cli_cpu / elapsed, complete

        dps, server_cpu, client_cpu, complete = measured(f"THR {m} {window}", "T", conns * m)
        sender.send(f"PACED {c} {rate}")
        sender.wait_for("SENT P", c / rate + 60)
        for p in recvs:
            try:
                p.wait_for("DONE P", 10)
            except TimeoutError:
                complete = False
        group_dps = None
        if g:
            group_dps, *_, complete_g = measured(f"GRP {g} {GROUP_WINDOW}", "G", conns * g // GROUPS)
            complete = complete and complete_g
        for p in procs:
            p.send("END")
        results = [p.result(60) for p in recvs]
        sender.result(30)
    finally:
        common.stop_all(procs)
        srv.stop()
    lost = sum(sum(r["lost"].values()) for r in results)
    dups = sum(sum(r["dups"].values()) for r in results)
    bogus = sum(r["bogus"] for r in results)
    if lost or dups or bogus or not complete:
        raise DeliveryError(
            f"fanout {kind}: lost={lost} duplicates={dups} unexpected={bogus} "
            f"(closed connections: {sum(r['closed_early'] for r in results)})"
        )
    lat = sorted(x for r in results for x in r["lat_us"])
    return dict(
        dps=dps,
        p99=common.percentile(lat, 99) / 1000,
        p50=common.percentile(lat, 50) / 1000,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        group_dps=group_dps if group_dps is not None else float("nan"),
    )


GROUP_WINDOW = 200


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def run(quick: bool) -> list[dict]:
    if quick:
        conns, workers, m, window, c, rate, nruns, g = 200, 2, 300, 16, 10, 10.0, 1, 1000
    else:
        conns, workers, m, window, c, rate, nruns, g = 1000, 4, 400, 16, 50, 10.0, 5, 5000
    kinds = ["raw", "signalr"]
    notes = {}
    for k, mod in (("socketio", "socketio"), ("aiosignalr", "aiosignalr")):
        if _have(mod):
            kinds.append(k)
        else:
            notes[k] = f"{mod} not installed"
    res: dict[str, list[dict]] = {k: [] for k in kinds}
    errors: dict[str, str] = {}
    for run_no in range(nruns):
        # raw and signalr every run, in alternating order; the peers in the first three runs
        pair = ["raw", "signalr"] if run_no % 2 == 0 else ["signalr", "raw"]
        peers = [k for k in kinds if k not in pair] if run_no < 3 else []
        for k in pair + peers:
            if k in errors:
                continue
            try:
                res[k].append(_one(k, conns, workers, m, window, c, rate, g if k == "signalr" else 0))
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

    def paired(other: str, field: str) -> float | None:
        runs = res.get(other) or []
        if not runs:
            return None
        ours = [r[field] for r in res["signalr"][: len(runs)]]
        return common.paired_ratio(ours, [r[field] for r in runs])

    rows = [
        row(
            SCENARIO,
            v,
            "deliveries/s vs raw",
            s["dps"],
            "1/s",
            raw["dps"],
            target_ratio=0.87,
            ratio=paired("raw", "dps"),
            note=f"values: medians of {nruns} runs, ratio: median of the paired run ratios; {m} broadcasts, "
            f"window {window}; raw aiohttp send_str ceiling",
        ),
    ]
    rows.append(
        row(
            SCENARIO,
            f"json c={conns} in {GROUPS} groups",
            "group deliveries/s vs broadcast",
            s["group_dps"],
            "1/s",
            s["dps"],
            note=f"{g} SendGroup invocations to seeded-random groups, window {GROUP_WINDOW}; "
            "baseline: this run's SignalR broadcast figure",
        )
    )
    sio = med.get("socketio")
    if sio:
        rows.append(
            row(
                SCENARIO,
                v,
                "deliveries/s vs socketio",
                s["dps"],
                "1/s",
                sio["dps"],
                target_ratio=4.0,
                ratio=paired("socketio", "dps"),
                note=f"{len(res['socketio'])} paired runs",
            )
        )
    else:
        missing = errors.get("socketio", notes.get("socketio", "?"))
        rows.append(
            row(
                SCENARIO,
                v,
                "deliveries/s vs socketio",
                s["dps"],
                "1/s",
                target=">= 4x",
                met=False,
                note=f"python-socketio baseline unavailable: {missing}",
            )
        )
    asr = med.get("aiosignalr")
    if asr:
        rows.append(
            row(
                SCENARIO,
                v,
                "deliveries/s vs aiosignalr",
                s["dps"],
                "1/s",
                asr["dps"],
                ratio=paired("aiosignalr", "dps"),
            )
        )
    else:
        missing = errors.get("aiosignalr", notes.get("aiosignalr", "?"))
        rows.append(
            row(
                SCENARIO,
                v,
                "deliveries/s vs aiosignalr",
                s["dps"],
                "1/s",
                note=f"aiosignalr baseline unavailable: {missing}",
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
            ratio=paired("raw", "p99"),
            note=f"{c} paced broadcasts x {conns} receivers; ratio: median of the paired run ratios",
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
        row(
            SCENARIO,
            v,
            "delivery",
            0,
            "lost+dup",
            0,
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
    ap.add_argument("--grp", type=int, default=0)
    ap.add_argument("--offset", type=int, default=0)
    args = ap.parse_args()
    common.worker_main(lambda: (recv_worker if args.mode == "recv" else send_worker)(args))
