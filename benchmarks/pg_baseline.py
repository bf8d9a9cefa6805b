"""Raw backplane baselines for the cross-node scenario (called from crossnode.run).

A listener process counts and times every message; sender processes push as fast as they can
(closed loop) for a fixed time:
  pg-1conn    one message per ``SELECT pg_notify`` on one asyncpg connection
  pg-8conn    the same on 8 connections (8 concurrent loops, one process)
  pg-packed50 50 messages packed into one notification payload, one connection
  redis-1conn / redis-8conn   raw redis-py asyncio PUBLISH, one message per publish
Message = "seq ts"; the listener detects loss/duplicates by seq.

Worker: python -m benchmarks.pg_baseline listen KIND CHANNEL | send KIND CHANNEL NCONN PACK SECS START_AT
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time

from .common import DeliveryError, emit_result, percentile, row, spawn

DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def _listen(kind: str, channel: str) -> None:
    seen = bytearray(8_000_000)
    lats: list[float] = []
    dups = [0]
    n = [0]
    last = [0.0]
    all_in = asyncio.Event()
    expect = [-1]

    def on_payload(payload: str) -> None:
        now = time.time()
        for item in payload.split(";"):
            s, ts = item.split()
            i = int(s)
            if seen[i]:
                dups[0] += 1
            seen[i] = 1
            n[0] += 1
            lats.append(now - float(ts))
        last[0] = now
        if n[0] >= expect[0] >= 0:
            all_in.set()

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    pump_task: asyncio.Task[None] | None = None
    if kind == "pg":
        import asyncpg

        conn = await asyncpg.connect(DSN)
        await conn.add_listener(channel, lambda c, pid, ch, payload: on_payload(payload))
    else:
        import redis.asyncio as aioredis

        r = aioredis.Redis(host="127.0.0.1", port=6379)
        ps = r.pubsub()
        await ps.subscribe(channel)

        async def pump() -> None:
            async for m in ps.listen():
                if m["type"] == "message":
                    on_payload(m["data"].decode())

        pump_task = asyncio.create_task(pump())
    print("READY", flush=True)
    line = (await reader.readline()).decode().split()  # "expect N"
    expect[0] = int(line[1])
    if n[0] < expect[0]:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 10)
    if pump_task is not None:
        pump_task.cancel()
    lats.sort()
    emit_result(
        {
            "n": n[0],
            "unique": sum(seen),
            "dups": dups[0],
            "p50": percentile(lats, 50) * 1000,
            "p99": percentile(lats, 99) * 1000,
            "last": last[0],
        }
    )


async def _send(kind: str, channel: str, nconn: int, pack: int, secs: float, start_at: float) -> None:
    seq = [0]
    if kind == "pg":
        import asyncpg

        conns = [await asyncpg.connect(DSN) for _ in range(nconn)]

        async def pub(c, payload):
            await c.execute("SELECT pg_notify($1, $2)", channel, payload)
    else:
        import redis.asyncio as aioredis

        conns = [
            aioredis.Redis(host="127.0.0.1", port=6379, single_connection_client=True) for _ in range(nconn)
        ]

        async def pub(c, payload):
            await c.publish(channel, payload)

    await asyncio.sleep(max(0.0, start_at - time.time()))
    t0 = time.time()
    end = t0 + secs

    async def loop(c) -> None:
        while time.time() < end:
            s = seq[0]
            seq[0] += pack
            now = time.time()
            await pub(c, ";".join(f"{i} {now:.6f}" for i in range(s, s + pack)))

    await asyncio.gather(*(loop(c) for c in conns))
    emit_result({"sent": seq[0], "t0": t0})


def measure(name: str, kind: str, nconn: int, pack: int, secs: float) -> dict:
    channel = f"bench_bl_{name.replace('-', '_')}"
    lst = spawn(["-m", "benchmarks.pg_baseline", "listen", kind, channel], name=f"listen-{name}", role=None)
    try:
        lst.wait_for("READY", 20)
        snd = spawn(
            [
                "-m",
                "benchmarks.pg_baseline",
                "send",
                kind,
                channel,
                str(nconn),
                str(pack),
                str(secs),
                str(time.time() + 0.5),
            ],
            name=f"send-{name}",
            role=None,
        )
        with snd:
            s = snd.result(timeout=secs + 30)
        lst.send(f"expect {s['sent']}")
        r = lst.result(timeout=30)
    finally:
        lst.stop()
    if r["unique"] != s["sent"] or r["dups"]:
        raise DeliveryError(f"baseline {name}: sent {s['sent']} got unique {r['unique']} dups {r['dups']}")
    r["rate"] = s["sent"] / max(1e-9, (r["last"] - s["t0"]))
    r["sent"] = s["sent"]
    return r


BASELINES = [  # name, kind, nconn, pack
    ("pg-1conn", "pg", 1, 1),
    ("pg-8conn", "pg", 8, 1),
    ("pg-packed50", "pg", 1, 50),
    ("redis-1conn", "redis", 1, 1),
    ("redis-8conn", "redis", 8, 1),
]


def run_baselines(quick: bool) -> tuple[list[dict], dict]:
    secs = 0.6 if quick else 4.0
    rows, res = [], {}
    for name, kind, nconn, pack in BASELINES:
        try:
            r = measure(name, kind, nconn, pack, secs)
        except DeliveryError:
            raise
        except Exception as e:  # noqa: BLE001 - e.g. redis not installed/running
            rows.append(
                row(
                    "crossnode",
                    f"baseline {name}",
                    "msgs/s",
                    float("nan"),
                    "msg/s",
                    note=f"not measured: {e!r}",
                )
            )
            continue
        res[name] = r
        v = f"baseline {name}"
        rows.append(
            row(
                "crossnode",
                v,
                "msgs/s (closed loop, max)",
                r["rate"],
                "msg/s",
                note=f"{r['sent']} msgs, 0 lost/dup",
            )
        )
        rows.append(row("crossnode", v, "p50 latency", r["p50"], "ms"))
        rows.append(row("crossnode", v, "p99 latency", r["p99"], "ms"))
    return rows, res


if __name__ == "__main__":
    if sys.argv[1] == "listen":
        asyncio.run(_listen(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "send":
        asyncio.run(
            _send(
                sys.argv[2],
                sys.argv[3],
                int(sys.argv[4]),
                int(sys.argv[5]),
                float(sys.argv[6]),
                float(sys.argv[7]),
            )
        )
    else:
        from .common import print_table

        print_table(run_baselines("--quick" in sys.argv)[0])
