"""Shared benchmark machinery.

Scenario interface
------------------
Each scenario module ``benchmarks/<name>.py`` exposes ``run(quick: bool) -> list[dict]``
returning rows made with :func:`row` (keys: scenario, variant, metric, value, unit, baseline,
ratio, target, met, plus optional ``note``).  A scenario that detects loss or duplicates must
raise :class:`DeliveryError` (or return a row with ``met=False`` and metric ``delivery``); the
runner reports it as FAILED.

Helpers here:
* :class:`Proc` / :func:`spawn_server` / :func:`spawn` - child processes (servers print
  ``LISTENING <port>``; workers print one JSON line ``RESULT {...}`` at the end).
* :func:`proc_cpu` - user+sys CPU seconds of a child process (from /proc/<pid>/stat, so it can
  be sampled while the child runs; includes its reaped children).
* :func:`median`, :func:`percentile`, :func:`row`, :func:`print_table`, :func:`write_json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")


class DeliveryError(AssertionError):
    """Raised when a scenario observes a lost or duplicated message."""


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """User+system CPU seconds consumed so far by ``pid`` (and its waited-for children)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode()
    except FileNotFoundError:
        return float("nan")
    fields = data[data.rindex(")") + 2 :].split()
    # fields[0] is state (field 3); utime=14, stime=15, cutime=16, cstime=17 (1-based)
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / CLK_TCK


@dataclass
class Proc:
    popen: subprocess.Popen
    name: str
    port: int | None = None
    _cpu_mark: float = 0.0
    profiler: subprocess.Popen | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu(self) -> float:
        return proc_cpu(self.pid)

    def mark_cpu(self) -> None:
        self._cpu_mark = self.cpu()

    def cpu_since_mark(self) -> float:
        return self.cpu() - self._cpu_mark

    def readline(self, timeout: float = 30.0) -> str:
        """Read one stdout line (blocking with a deadline)."""
        import select

        deadline = time.monotonic() + timeout
        out = self.popen.stdout
        assert out is not None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no output within {timeout}s")
            r, _, _ = select.select([out], [], [], left)
            if r:
                line = out.readline()
                if not line:
                    err = self.popen.stderr.read() if self.popen.stderr else ""
                    raise RuntimeError(f"{self.name} exited rc={self.popen.poll()}: {err[-2000:]}")
                line = line.rstrip("\n")
                self.lines.append(line)
                return line

    def wait_for(self, prefix: str, timeout: float = 30.0) -> str:
        while True:
            line = self.readline(timeout)
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def result(self, timeout: float = 120.0) -> dict:
        """Wait for the worker's ``RESULT {json}`` line."""
        return json.loads(self.wait_for("RESULT ", timeout))

    def send(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def stop(self, timeout: float = 5.0) -> None:
        if self.profiler is not None and self.profiler.poll() is None:
            self.profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                self.profiler.wait(30)
            except subprocess.TimeoutExpired:
                self.profiler.kill()
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        for s in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if s:
                with contextlib.suppress(OSError):
                    s.close()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the harness process dies (Linux)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


# Core pinning. On a 2-core machine a server and its load generators otherwise share both cores
# and the generators' share decides the figure as much as the server's cost does. By default
# the server under test gets the first core and the load generators the others, so a server
# that is the bottleneck shows ~1.0 cores. ``--no-pin`` (BENCH_PIN=0) turns it off.
_CPUS = sorted(os.sched_getaffinity(0))


def pinning() -> bool:
    return os.environ.get("BENCH_PIN", "1") != "0" and len(_CPUS) >= 2


def pin(pid: int, role: str | None) -> None:
    """Pin ``pid`` to the server core (role ``server``) or the load cores (``load``)."""
    if role is None or not pinning():
        return
    try:
        os.sched_setaffinity(pid, {_CPUS[0]} if role == "server" else set(_CPUS[1:]))
    except OSError:
        pass


def spawn(
    args: Sequence[str], name: str | None = None, env: dict | None = None, role: str | None = "load"
) -> Proc:
    """Start ``python <args>`` in the repo root with pipes for stdin/stdout/stderr.

    ``role`` pins the process (see :func:`pin`); None leaves it to the scheduler."""
    e = dict(os.environ)
    e["PYTHONUNBUFFERED"] = "1"
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    if env:
        e.update(env)
    p = subprocess.Popen(
        [PYTHON, *args],
        cwd=ROOT,
        env=e,
        text=True,
        preexec_fn=_die_with_parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    pin(p.pid, role)
    return Proc(p, name or " ".join(args))


def spawn_server(
    kind: str, port: int | None = None, extra: Sequence[str] = (), timeout: float = 30.0
) -> Proc:
    """Start ``python -m benchmarks.servers <kind> --port N`` and wait for ``LISTENING``."""
    port = port or free_port()
    p = spawn(
        ["-m", "benchmarks.servers", kind, "--port", str(port), *extra], name=f"server:{kind}", role="server"
    )
    try:
        p.port = int(p.wait_for("LISTENING", timeout))
    except Exception:
        p.stop()
        raise
    _maybe_profile(p, kind)
    return p


def _maybe_profile(p: Proc, kind: str) -> None:
    """With ``BENCH_PYSPY=<dir>``, attach ``py-spy record`` to a server until it stops.

    The profile is written as collapsed stacks (``<dir>/<kind>-<pid>.txt``), which
    ``python -m benchmarks.profile_summary`` turns into a table of own and total time.
    """
    out_dir = os.environ.get("BENCH_PYSPY")
    if not out_dir:
        return
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    pyspy = Path(PYTHON).with_name("py-spy")
    exe = str(pyspy) if pyspy.exists() else "py-spy"
    out = Path(out_dir) / f"{kind}-{p.pid}.txt"
    p.profiler = subprocess.Popen(
        [exe, "record", "--pid", str(p.pid), "--format", "raw", "--rate", "250", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_all(procs: Iterable[Proc]) -> None:
    for p in procs:
        p.stop()


# --------------------------------------------------------------------------- statistics


def median(xs: Sequence[float]) -> float:
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def percentile(sorted_xs: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100)."""
    if not sorted_xs:
        return float("nan")
    k = max(0, min(len(sorted_xs) - 1, round(q / 100.0 * len(sorted_xs) + 0.5) - 1))
    return sorted_xs[k]


def runs_count(quick: bool, full: int = 3) -> int:
    return 1 if quick else full


def paired_ratio(values: Sequence[float], baselines: Sequence[float]) -> float:
    """The median of per-run ratios: each run's figure over the baseline measured right next
    to it, which cancels the machine's slow drifts better than a ratio of two medians."""
    return median([v / b for v, b in zip(values, baselines, strict=True) if b])


# --------------------------------------------------------------------------- rows


def row(
    scenario: str,
    variant: str,
    metric: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    target: str | None = None,
    target_ratio: float | None = None,
    higher_is_better: bool = True,
    note: str = "",
    ratio: float | None = None,
    **extra: Any,
) -> dict:
    """Build a result row.

    ``target_ratio`` with ``baseline``: met when value/baseline >= target_ratio (higher is
    better) or <= target_ratio (lower is better).  Rows without a target have ``met=None``.
    """
    if ratio is None and baseline not in (None, 0) and value == value and baseline == baseline:
        ratio = value / baseline
    met = None
    if target_ratio is not None:
        if ratio is None:
            met = False
        else:
            met = ratio >= target_ratio if higher_is_better else ratio <= target_ratio
        if target is None:
            target = (">=" if higher_is_better else "<=") + f" {target_ratio:g}x"
    r = dict(
        scenario=scenario,
        variant=variant,
        metric=metric,
        value=value,
        unit=unit,
        baseline=baseline,
        ratio=ratio,
        target=target,
        met=met,
    )
    if note:
        r["note"] = note
    r.update(extra)
    return r


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if v != v:
            return "nan"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}"
    return str(v)


COLUMNS = ("scenario", "variant", "metric", "value", "unit", "baseline", "ratio", "target", "met")


def print_table(rows: list[dict], file=None) -> None:
    file = file or sys.stdout
    table = [list(COLUMNS)] + [[_fmt(r.get(c)) for c in COLUMNS] for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(COLUMNS))]
    for n, t in enumerate(table):
        print("  ".join(s.ljust(w) for s, w in zip(t, widths, strict=False)), file=file)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=file)
    notes = [r for r in rows if r.get("note")]
    if notes:
        print(file=file)
        for r in notes:
            print(f"  * {r['scenario']}/{r['variant']}/{r['metric']}: {r['note']}", file=file)
    file.flush()


def write_json(rows: list[dict], quick: bool, statuses: dict[str, str], path: Path | None = None) -> Path:
    path = path or RESULTS_DIR / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "scenarios": statuses,
        "rows": rows,
    }
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path


# --------------------------------------------------------------------------- worker side


def emit_result(obj: dict) -> None:
    """Called inside a worker process: print the single ``RESULT`` line."""
    sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def cpu_self() -> float:
    t = os.times()
    return t.user + t.system


# --------------------------------------------------------------------------- SignalR wire (clients)

RS = "\x1e"
JSON_HANDSHAKE = '{"protocol":"json","version":1}\x1e'
MSGPACK_HANDSHAKE = '{"protocol":"messagepack","version":1}\x1e'


def split_json(data: str) -> list[str]:
    """Split a text WebSocket message into its record-separated JSON messages."""
    parts = data.split(RS)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


async def signalr_connect(session: Any, url: str, protocol: str = "json", negotiate: bool = False) -> Any:
    """Open a WebSocket to a SignalR hub and complete the handshake.

    ``url`` is ``ws://host:port/path``. Without ``negotiate`` this is ``skipNegotiation``;
    with it, ``POST {path}/negotiate?negotiateVersion=1`` first and connect with ``?id=``.
    Returns the aiohttp ``ClientWebSocketResponse``. Raises on a handshake error.
    """
    import aiohttp

    if negotiate:
        http = "http" + url[2:]
        async with session.post(http + "/negotiate?negotiateVersion=1") as r:
            r.raise_for_status()
            neg = await r.json(content_type=None)
        token = neg.get("connectionToken") or neg.get("connectionId")
        url = f"{url}?id={token}"
    ws = await session.ws_connect(url, max_msg_size=0, autoping=True, compress=0)
    await ws.send_str(JSON_HANDSHAKE if protocol == "json" else MSGPACK_HANDSHAKE)
    msg = await ws.receive()
    data = msg.data
    if msg.type == aiohttp.WSMsgType.BINARY:
        data = data.decode()
    elif msg.type != aiohttp.WSMsgType.TEXT:
        raise RuntimeError(f"handshake failed: {msg.type} {msg.data!r}")
    if not data.startswith("{}"):
        raise RuntimeError(f"handshake failed: {data!r}")
    rest = data[3:]
    if rest:  # messages coalesced behind the handshake response are not expected here
        raise RuntimeError(f"unexpected data after handshake: {rest!r}")
    return ws


def worker_main(coro_factory) -> None:
    """Entry for worker processes: run ``coro_factory()`` on a fresh default asyncio loop."""
    import asyncio
    import logging

    logging.basicConfig(level=logging.CRITICAL)
    try:  # load generators run on uvloop when it is installed (the servers never do)
        import uvloop
    except ImportError:
        asyncio.run(coro_factory())
    else:
        uvloop.run(coro_factory())


async def read_stdin_line() -> str:
    import asyncio

    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()
