"""Real processes for the backplane end-to-end tests: conformance server nodes
sharing one Postgres, a Node driver of official JavaScript clients, SQL
helpers and a throwaway Postgres cluster.

Every wait has a deadline. Every process started here is stopped by its PID
(SIGTERM, then SIGKILL after a deadline) in a ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NODE_DIR = ROOT / "tests" / "node"
REQUIRED_NODE_PACKAGES = ("@microsoft/signalr", "@microsoft/signalr-protocol-msgpack")

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end


def poll_until(
    check: Callable[[], Any], timeout: float, what: str, interval: float = 0.02
) -> tuple[Any, float]:
    """Call ``check`` until it returns something truthy; return it and the
    seconds it took. ONLY for state that announces no event (the backplane
    health a server reports over HTTP): everything else waits on an event."""
    start = time.monotonic()
    deadline = Deadline(timeout)
    stop = threading.Event()
    last: Any = None
    while True:
        last = check()
        if last:
            return last, time.monotonic() - start
        if deadline.expired():
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value: {last!r}")
        stop.wait(min(interval, deadline.remaining()))  # a polling interval, not synchronization


# ------------------------------------------------------------------ postgres


def with_params(dsn: str, **params: str) -> str:
    """``dsn`` with query parameters set (asyncpg passes unknown ones, like
    ``application_name``, as server settings) and optionally another user."""
    parts = urllib.parse.urlsplit(dsn)
    user = params.pop("user", None)
    netloc = parts.netloc
    if user is not None:
        host = netloc.rsplit("@", 1)[-1]
        netloc = f"{urllib.parse.quote(user)}@{host}"
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(params)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=urllib.parse.urlencode(query)))


def sql(dsn: str, query: str, *args: Any, timeout: float = 10.0) -> list[asyncpg.Record]:
    """Run one statement on a fresh connection; return its rows."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, timeout=timeout)
        try:
            rows: list[asyncpg.Record] = await conn.fetch(query, *args, timeout=timeout)
            return rows
        finally:
            await asyncio.wait_for(conn.close(), timeout)

    return asyncio.run(run())


def check_postgres(dsn: str, timeout: float = 5.0) -> str | None:
    """None if ``dsn`` answers ``SELECT 1``, else why not."""
    try:
        sql(dsn, "SELECT 1", timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        return f"{type(exc).__name__}: {exc}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def postgres_bindir() -> Path:
    configured = os.environ.get("PYSIGNALR_PG_BINDIR")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise AssertionError(
        "initdb and pg_ctl were not found (looked in $PYSIGNALR_PG_BINDIR and /usr/lib/postgresql/*/bin)"
    )


class ThrowawayPostgres:
    """A Postgres cluster of its own (initdb into a temp dir, trust auth, user
    postgres), so restarting it never disturbs the shared server."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="pysignalr-e2e-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        proc = subprocess.run(
            [*self._as_postgres, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise AssertionError(
                f"{' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}"
            )

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log),
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    cluster = ThrowawayPostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


# -------------------------------------------------------------- server nodes


def _read_lines(stream: Any, sink: queue.Queue[str | None]) -> None:
    for line in stream:
        sink.put(line)
    sink.put(None)


class ServerNode:
    """One ``python -m protocol_tests.conformance_server --postgres`` process."""

    def __init__(self, name: str, dsn: str, prefix: str, log_dir: Path) -> None:
        self.name = name
        self.dsn = dsn
        self.prefix = prefix
        self.log_path = log_dir / f"node-{name}.log"
        self.url = ""
        self.port = 0
        self._log = self.log_path.open("w")
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "protocol_tests.conformance_server", "--port", "0",
                "--postgres", dsn, "--prefix", prefix,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        threading.Thread(target=_read_lines, args=(self.proc.stdout, self._lines), daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_listening(self, timeout: float = START_TIMEOUT) -> None:
        deadline = Deadline(timeout)
        while not deadline.expired():
            try:
                line = self._lines.get(timeout=deadline.remaining())
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith("LISTENING "):
                self.port = int(line.split()[1])
                self.url = f"http://127.0.0.1:{self.port}"
                return
        raise AssertionError(
            f"node {self.name} did not start within {timeout} s "
            f"(exit code {self.proc.poll()}):\n{self.log_tail()}"
        )

    def log_tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL by PID, and reap it."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        self._log.close()

    # -- HTTP

    def request(self, method: str, path: str, body: Any = None, timeout: float = HTTP_TIMEOUT) -> HttpResult:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            return HttpResult(None, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
        text = raw.decode(errors="replace")
        try:
            parsed: Any = json.loads(text)
        except json.JSONDecodeError:
            parsed = text
        return HttpResult(status, parsed, time.monotonic() - started)

    def backplane(self) -> dict[str, Any]:
        result = self.request("GET", "/api/backplane")
        assert result.status == 200, f"GET /api/backplane on {self.name}: {result}"
        body: dict[str, Any] = result.body
        return body

    def send(self, message: str, timeout: float = HTTP_TIMEOUT) -> HttpResult:
        return self.request("POST", "/api/send", {"message": message}, timeout=timeout)


class HttpResult:
    __slots__ = ("body", "seconds", "status")

    def __init__(self, status: int | None, body: Any, seconds: float) -> None:
        self.status = status
        self.body = body
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"HttpResult(status={self.status}, body={str(self.body)[:300]!r}, seconds={self.seconds:.3f})"


@contextlib.contextmanager
def cluster(dsns: dict[str, str], prefix: str) -> Iterator[dict[str, ServerNode]]:
    """Start one node per entry of ``dsns`` (all at once), yield them by
    name, and stop every one of them (by PID) at the end."""
    log_dir = Path(tempfile.mkdtemp(prefix="pysignalr-e2e-logs-"))
    nodes: dict[str, ServerNode] = {}
    try:
        for name, dsn in dsns.items():
            nodes[name] = ServerNode(name, dsn, prefix, log_dir)
        for node in nodes.values():
            node.wait_listening()
        yield nodes
    except BaseException:
        print(logs(nodes))  # pytest shows it with the failure
        raise
    finally:
        for node in nodes.values():
            node.stop()
        shutil.rmtree(log_dir, ignore_errors=True)


def logs(nodes: dict[str, ServerNode]) -> str:
    return "\n".join(f"--- node {n.name} (pid {n.pid}) ---\n{n.log_tail()}" for n in nodes.values())


# ------------------------------------------------------------------ node.js


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise AssertionError("'node' was not found on PATH: the official JavaScript client needs Node.js 18+")
    modules = NODE_DIR / "node_modules"
    missing = [p for p in REQUIRED_NODE_PACKAGES if not (modules / p / "package.json").is_file()]
    if missing:
        raise AssertionError(f"{missing} missing in {modules}: run 'npm ci' in {NODE_DIR} (tests/run does)")
    return node


def run_node_script(script: Path, args: list[str], timeout: float) -> dict[str, Any]:
    """Run a one-shot node script that prints one JSON line; return its result."""
    command = [node_executable(), str(script), *args]
    try:
        proc = subprocess.run(
            command, cwd=HERE, capture_output=True, text=True, encoding="utf-8", timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{script.name} did not finish in {timeout} s: {exc}") from None
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    details = f"exit code {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-5000:]}"
    assert len(lines) == 1, f"{script.name} must print exactly one JSON line; {details}"
    report = json.loads(lines[0])
    assert proc.returncode == 0 and report.get("ok"), (
        f"{script.name} failed: {report.get('error')}\n{details}"
    )
    result: dict[str, Any] = report["result"]
    return result


class ClientDriver:
    """``driver.mjs``: official JavaScript clients driven over stdin/stdout
    JSON lines, so a test can act on processes and Postgres between steps.

    Events ({"event": "receive" | "closed" | "asked", "client": ...}) are
    collected in order; commands get a reply with their id."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [node_executable(), str(HERE / "driver.mjs")],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self._cond = threading.Condition()
        self.events: list[dict[str, Any]] = []
        self._replies: dict[int, dict[str, Any]] = {}
        self._ids = 0
        self._stderr: list[str] = []
        self._ended = False
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                message = {"event": "garbage", "line": line}
            with self._cond:
                if "id" in message:
                    self._replies[message["id"]] = message
                else:
                    message["t"] = time.monotonic()
                    self.events.append(message)
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr(self) -> str:
        return "".join(self._stderr[-60:])

    def command(self, cmd: str, timeout: float = 15.0, **fields: Any) -> dict[str, Any]:
        """Send a command; return its reply (``{"ok": true, ...}`` or
        ``{"ok": false, "error": ...}``)."""
        with self._cond:
            self._ids += 1
            ident = self._ids
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": ident, "cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()
        deadline = Deadline(timeout)
        with self._cond:
            while ident not in self._replies:
                if self._ended or deadline.expired():
                    raise AssertionError(
                        f"driver: no reply to {cmd} {fields} within {timeout} s\n{self.stderr()}"
                    )
                self._cond.wait(deadline.remaining())
            return self._replies.pop(ident)

    def ok(self, cmd: str, timeout: float = 15.0, **fields: Any) -> dict[str, Any]:
        reply = self.command(cmd, timeout, **fields)
        assert reply.get("ok"), f"driver: {cmd} {fields} failed: {reply.get('error')}\n{self.stderr()}"
        return reply

    def connect(self, client: str, url: str, protocol: str, user: str | None = None) -> str:
        reply = self.ok("connect", client=client, url=url, protocol=protocol, user=user)
        connection_id: str = reply["connectionId"]
        return connection_id

    def invoke(self, client: str, method: str, *args: Any, timeout: float = 15.0) -> Any:
        return self.ok("invoke", timeout, client=client, method=method, args=list(args)).get("result")

    def received(self, client: str) -> list[Any]:
        with self._cond:
            return [e["value"] for e in self.events if e["event"] == "receive" and e["client"] == client]

    def wait_event(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        """The first event (already seen or to come) that satisfies ``predicate``."""
        deadline = Deadline(timeout)
        with self._cond:
            seen = 0
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                if self._ended or deadline.expired():
                    raise AssertionError(
                        f"driver: timed out after {timeout} s waiting for {what}\n{self.stderr()}"
                    )
                self._cond.wait(deadline.remaining())

    def wait_received(self, client: str, value: Any, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait_event(
            lambda e: e["event"] == "receive" and e["client"] == client and e["value"] == value,
            timeout,
            f"{client} to receive {value!r}",
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.command("exit", timeout=10.0)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)


@contextlib.contextmanager
def client_driver() -> Iterator[ClientDriver]:
    driver = ClientDriver()
    try:
        yield driver
    finally:
        driver.close()
