"""The chat sample (``samples/chat``) end to end, in real processes.

1. In memory: ``python -m samples.chat.app`` and the official Node client
   (``chat_driver.mjs``): login and tokens, rooms, typing, direct messages,
   the online count; and ``--check`` exits 0.
2. Scale-out in a real browser: two nodes sharing Postgres, one Chromium page
   per user (ann and carol on node A, bob on node B). Room messages and typing
   cross nodes, a direct message reaches only its target, and after node A's
   backplane listener is killed with ``pg_terminate_backend`` messages flow
   both ways again. Then node A is restarted: its pages show "reconnecting",
   reconnect by themselves and rejoin their room. Screenshots:
   ``test-artifacts/chat-scaleout-{a,b}.png``.

"Never received" is proven without sleeping: after the message that must not
arrive, the same sender sends one that must, to the same connection; a
connection gets one sender's messages in order (through the backplane too:
one node's batches are delivered in order), so once the later one is there
the earlier one is not coming. Every wait has a deadline; every process is
stopped by its PID. Missing Node, Chromium or Postgres fail the tests.
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
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DRIVER = HERE / "chat_driver.mjs"
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
ARTIFACTS = ROOT / "test-artifacts"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

pytestmark = [pytest.mark.node, pytest.mark.timeout(120)]


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def node_exe() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("the chat tests need Node.js ('node' on PATH)", pytrace=False)
    missing = [p for p in ("@microsoft/signalr", "playwright-core") if not (NODE_MODULES / p).is_dir()]
    if missing:
        pytest.fail(f"{missing} missing in {NODE_MODULES}: run 'npm ci' in tests/node", pytrace=False)
    return node


@pytest.fixture(scope="module")
def chromium() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.fail(f"the browser test needs Chromium at {path} (never downloaded)", pytrace=False)
    return path


@pytest.fixture(scope="module")
def pg_dsn() -> str:
    dsn = os.environ.get("PYSIGNALR_PG_DSN") or DEFAULT_DSN
    try:
        sql(dsn, "SELECT 1", timeout=5.0)
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        pytest.fail(f"Postgres is unreachable at {dsn}: {exc}", pytrace=False)
    return dsn


@pytest.fixture(scope="module")
def sample_bundle() -> None:
    bundle = ROOT / "samples/node_modules/@microsoft/signalr/dist/browser/signalr.js"
    if not bundle.is_file():
        pytest.fail(f"{bundle} is missing: run 'npm ci' in samples/ (samples/run does)", pytrace=False)


# ------------------------------------------------------------- Postgres


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


def with_application_name(dsn: str, name: str) -> str:
    parts = urllib.parse.urlsplit(dsn)
    query = dict(urllib.parse.parse_qsl(parts.query), application_name=name)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


# A node's backplane connections carry the application_name of its DSN; the
# listener is the one whose last statement was its LISTEN or its keepalive
# probe (pool connections run pg_notify and the spill-table statements).
LISTENER_SQL = """
    SELECT pid FROM pg_stat_activity
    WHERE application_name = $1 AND state = 'idle' AND (query ILIKE 'LISTEN%' OR query = 'SELECT 1')
"""


def listener_pids(dsn: str, application_name: str) -> list[int]:
    return [r["pid"] for r in sql(dsn, LISTENER_SQL, application_name)]


def poll(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """ONLY for state that announces no event (pg_stat_activity)."""
    deadline = Deadline(timeout)
    pause = threading.Event()
    while True:
        value = check()
        if value:
            return value
        if deadline.expired():
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value {value!r}")
        pause.wait(min(interval, deadline.remaining()))  # a polling interval, not synchronization


# ------------------------------------------------------------- processes


class ChatNode:
    """One ``python -m samples.chat.app`` process, stopped by its PID."""

    def __init__(
        self, name: str, log_dir: Path, postgres: str | None, prefix: str, port: int | None = None
    ) -> None:
        self.name = name
        self.postgres = postgres
        self.prefix = prefix
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"chat-node-{name}.log"
        self._log = self.log_path.open("w")
        command = [sys.executable, "-m", "samples.chat.app", "--port", str(self.port)]
        if postgres:
            command += ["--postgres", postgres]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "CHAT_BACKPLANE_PREFIX": prefix},
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_serving(self) -> None:
        deadline = Deadline(START_TIMEOUT)
        while not deadline.expired():
            try:
                line = self._lines.get(timeout=deadline.remaining())
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith("Serving on "):
                return
        raise AssertionError(f"chat node {self.name} did not start (exit {self.proc.poll()}):\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        self._log.close()


@contextlib.contextmanager
def chat_nodes(tmp_path: Path, **postgres: str | None) -> Iterator[dict[str, ChatNode]]:
    """Start one node per keyword (``a=None`` in memory, ``a=dsn`` on Postgres)."""
    prefix = f"chat-test-{uuid.uuid4().hex[:8]}"  # isolates this run on a shared database
    nodes: dict[str, ChatNode] = {}
    try:
        for name, dsn in postgres.items():
            nodes[name] = ChatNode(name, tmp_path, dsn, prefix)
        for node in nodes.values():
            node.wait_serving()
        yield nodes
    except BaseException:
        for node in nodes.values():
            print(f"--- chat node {node.name} (pid {node.proc.pid}) ---\n{node.log()}")
        raise
    finally:
        for node in nodes.values():
            node.stop()


class Driver:
    """``chat_driver.mjs``: Node clients and browser pages, one JSON line per
    command; hub messages to Node clients are collected as events, in order."""

    def __init__(self, node: str, chromium: str) -> None:
        self.proc = subprocess.Popen(
            [node, str(DRIVER), chromium],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env={**os.environ, "NODE_NO_WARNINGS": "1", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
            start_new_session=True,  # its own process group: Chromium goes with it if killed
        )
        self._cond = threading.Condition()
        self.events: list[dict[str, Any]] = []
        self._replies: dict[int, dict[str, Any]] = {}
        self._ids = 0
        self._ended = False
        self._stderr: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                message = json.loads(line)
                with self._cond:
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
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

    def ok(self, cmd: str, timeout: float = 20.0, **fields: Any) -> dict[str, Any]:
        reply = self.command(cmd, timeout, **fields)
        assert reply["ok"], f"{cmd} {fields} failed: {reply['error']}\n{self.stderr()}"
        return reply

    def command(self, cmd: str, timeout: float = 20.0, **fields: Any) -> dict[str, Any]:
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
                    raise AssertionError(f"no reply to {cmd} {fields} within {timeout} s\n{self.stderr()}")
                self._cond.wait(deadline.remaining())
            return self._replies.pop(ident)

    # -- Node clients

    def invoke(self, client: str, method: str, *args: Any) -> Any:
        return self.ok("invoke", client=client, method=method, args=list(args))["result"]

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def received(self, client: str, method: str | None = None) -> list[list[Any]]:
        with self._cond:
            return [
                e["args"]
                for e in self.events
                if e["event"] == "receive" and e["client"] == client and method in (None, e["method"])
            ]

    def wait_for(
        self,
        client: str,
        method: str,
        match: Callable[[list[Any]], bool],
        since: int = 0,
        timeout: float = 10.0,
    ) -> list[Any]:
        """The args of the first ``method`` message to ``client`` (from event ``since`` on) that match."""
        deadline = Deadline(timeout)
        with self._cond:
            while True:
                for e in self.events[since:]:
                    if e["event"] == "receive" and e["client"] == client and e["method"] == method:
                        if match(e["args"]):
                            args: list[Any] = e["args"]
                            return args
                if self._ended or deadline.expired():
                    seen = [e for e in self.events[since:] if e.get("client") == client]
                    raise AssertionError(f"{client} did not get a matching {method} in {timeout} s: {seen}")
                self._cond.wait(deadline.remaining())

    def wait_args(self, client: str, method: str, *args: Any, timeout: float = 10.0) -> None:
        self.wait_for(client, method, lambda got: got == list(args), timeout=timeout)

    # -- browser pages

    def wait_text(self, page: str, selector: str, text: str = "", timeout: float = 10.0) -> None:
        self.ok("waitFor", timeout + 5, page=page, selector=selector, text=text, ms=int(timeout * 1000))

    def texts(self, page: str, selector: str) -> list[str]:
        texts: list[str] = self.ok("texts", page=page, selector=selector)["texts"]
        return texts

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError, OSError):
                self.command("exit", timeout=15.0)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)


@pytest.fixture
def driver(node_exe: str, chromium: str) -> Iterator[Driver]:
    d = Driver(node_exe, chromium)
    try:
        yield d
    finally:
        d.close()


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# ------------------------------------------------------------- 1. in memory


def test_check_mode_exits_0(sample_bundle: None) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "samples.chat.app", "--port", str(free_port()), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "check ok" in proc.stdout


def test_in_memory_chat_with_the_official_client(tmp_path: Path, driver: Driver, sample_bundle: None) -> None:
    with chat_nodes(tmp_path, a=None) as nodes:
        url = nodes["a"].url

        # Login: a name for a signed token; the hub refuses requests without a valid one.
        status, body = http("POST", f"{url}/login", {"name": "ann"})
        assert status == 200, body
        token = json.loads(body)["token"]
        assert json.loads(body)["name"] == "ann" and token.count(".") == 1
        assert http("POST", f"{url}/login", {"name": "no spaces!"})[0] == 400
        negotiate = f"{url}/hubs/chat/negotiate?negotiateVersion=1"
        assert http("POST", negotiate)[0] == 401
        assert http("POST", negotiate, token=token[:-4] + "AAAA")[0] == 401
        status, body = http("POST", negotiate + "&useStatefulReconnect=true", token=token)
        assert status == 200 and json.loads(body)["useStatefulReconnect"] is True, body

        d = driver
        for name in ("ann", "bob", "carol"):
            d.ok("connect", client=name, url=url, name=name)
        d.wait_for("ann", "Welcome", lambda args: args[0] == "ann")
        # The online count: this node's connections, reported on every change.
        d.wait_for("ann", "Online", lambda args: args[1] == 3)

        assert d.invoke("ann", "JoinRoom", " lobby ") == "lobby"
        assert d.invoke("bob", "JoinRoom", "lobby") == "lobby"
        assert d.invoke("carol", "JoinRoom", "garden") == "garden"
        d.wait_args("ann", "Notice", "lobby", "bob joined")

        # A room message reaches the members (the sender too), not carol.
        d.invoke("ann", "SendToRoom", "lobby", "hello lobby")
        d.wait_args("bob", "RoomMessage", "lobby", "ann", "hello lobby")
        d.wait_args("ann", "RoomMessage", "lobby", "ann", "hello lobby")
        d.invoke("ann", "SendDirect", "carol", "barrier 1")
        d.wait_args("carol", "DirectMessage", "ann", "carol", "barrier 1")
        assert d.received("carol", "RoomMessage") == []
        reply = d.command("invoke", client="carol", method="SendToRoom", args=["lobby", "let me in"])
        assert not reply["ok"] and "join 'lobby' first" in reply["error"], reply

        # Typing reaches the others in the room: bob, not ann herself, not carol.
        d.invoke("ann", "Typing", "lobby")
        d.wait_args("bob", "Typing", "lobby", "ann")
        d.invoke("ann", "SendToRoom", "lobby", "after typing")
        d.wait_args("ann", "RoomMessage", "lobby", "ann", "after typing")
        d.invoke("ann", "SendDirect", "carol", "barrier 2")
        d.wait_args("carol", "DirectMessage", "ann", "carol", "barrier 2")
        assert d.received("ann", "Typing") == [] and d.received("carol", "Typing") == []

        # A direct message reaches the target user and the sender's own tabs, nobody else.
        d.invoke("bob", "SendDirect", "ann", "psst")
        d.wait_args("ann", "DirectMessage", "bob", "ann", "psst")
        d.wait_args("bob", "DirectMessage", "bob", "ann", "psst")
        d.invoke("bob", "SendDirect", "carol", "barrier 3")
        d.wait_args("carol", "DirectMessage", "bob", "carol", "barrier 3")
        assert ["bob", "ann", "psst"] not in d.received("carol", "DirectMessage")

        # Leaving a room: the others are told, and its messages stop.
        d.invoke("bob", "LeaveRoom", "lobby")
        d.wait_args("ann", "Notice", "lobby", "bob left")
        d.invoke("ann", "SendToRoom", "lobby", "bob is gone")
        d.invoke("ann", "SendDirect", "bob", "barrier 4")
        d.wait_args("bob", "DirectMessage", "ann", "bob", "barrier 4")
        assert ["lobby", "ann", "bob is gone"] not in d.received("bob", "RoomMessage")

        # The count follows disconnections.
        since = d.mark()
        d.ok("stop", client="carol")
        d.wait_for("ann", "Online", lambda args: args[1] == 2, since=since)


# ------------------------------------------------------------- 2. scale-out


def test_scale_out_in_the_browser_on_postgres(
    tmp_path: Path, driver: Driver, pg_dsn: str, sample_bundle: None
) -> None:
    app_a = f"chat-node-a-{uuid.uuid4().hex[:8]}"  # finds node A's listener, and only it
    dsn_a = with_application_name(pg_dsn, app_a)
    dsn_b = with_application_name(pg_dsn, f"chat-node-b-{uuid.uuid4().hex[:8]}")
    with chat_nodes(tmp_path, a=dsn_a, b=dsn_b) as nodes:
        d = driver
        users = {"ann": nodes["a"], "bob": nodes["b"], "carol": nodes["a"]}
        for user, node in users.items():
            d.ok("open", page=user, url=node.url + "/")
            d.ok("fill", page=user, selector="#name", value=user)
            d.ok("click", page=user, selector="#login")
            d.wait_text(user, '#state[data-state="connected"]', "connected")
            d.wait_text(user, "#me", f"{user} @ ")
            d.ok("fill", page=user, selector="#room", value="lobby")
            d.ok("click", page=user, selector="#join")
            d.wait_text(user, "#rooms li.current", "#lobby")
        # Everyone is in the room before anyone speaks: bob (B) saw carol (A) join.
        d.wait_text("bob", "#messages li.notice", "carol joined")

        # Typing and a room message from page A reach page B (and carol, on A).
        d.ok("fill", page="ann", selector="#message", value="hello from node A")  # fires "input"
        d.wait_text("bob", "#typing", "ann (#lobby) typing")
        d.ok("click", page="ann", selector="#send")
        d.wait_text("bob", "#messages li.room", "ann: hello from node A")
        d.wait_text("carol", "#messages li.room", "ann: hello from node A")

        # A direct message from bob (B) reaches ann (A), and not carol (A).
        d.ok("fill", page="bob", selector="#dm-to", value="ann")
        d.ok("fill", page="bob", selector="#dm-text", value="secret for ann")
        d.ok("click", page="bob", selector="#dm-send")
        d.wait_text("ann", "#messages li.dm", "bob → ann: secret for ann")
        d.ok("fill", page="bob", selector="#message", value="after the DM")
        d.ok("click", page="bob", selector="#send")
        d.wait_text("carol", "#messages li.room", "bob: after the DM")
        assert not [t for t in d.texts("carol", "#messages li") if "secret" in t]

        # The online count adds up both nodes: 2 connections on A, 1 on B.
        d.wait_text("ann", "#online", "3")
        d.wait_text("bob", "#online", "3")

        # Kill node A's backplane listener; it reconnects by itself.
        pids = poll(lambda: listener_pids(pg_dsn, app_a), 5.0, "node A's listener to be idle")
        assert len(pids) == 1, f"expected one listener for {app_a}: {pids}"
        assert sql(pg_dsn, "SELECT pg_terminate_backend($1) AS done", pids[0])[0]["done"] is True
        poll(
            lambda: [p for p in listener_pids(pg_dsn, app_a) if p != pids[0]],
            15.0,
            "node A's listener to reconnect",
        )
        d.ok("fill", page="bob", selector="#message", value="B to A after the cut")
        d.ok("click", page="bob", selector="#send")
        d.wait_text("ann", "#messages li.room", "bob: B to A after the cut")
        d.ok("fill", page="ann", selector="#message", value="A to B after the cut")
        d.ok("click", page="ann", selector="#send")
        d.wait_text("bob", "#messages li.room", "ann: A to B after the cut")
        for user in users:
            d.wait_text(user, '#state[data-state="connected"]')

        # Stop node A: its pages show "reconnecting"; once a node answers at
        # that address again they reconnect by themselves (a new connection)
        # and join their room again.
        a = nodes["a"]
        a.stop()
        d.wait_text("ann", '#state[data-state="reconnecting"]')
        nodes["a2"] = restarted = ChatNode("a2", tmp_path, a.postgres, a.prefix, port=a.port)
        restarted.wait_serving()
        d.wait_text("ann", '#state[data-state="connected"]', timeout=20.0)
        d.wait_text("bob", "#messages li.notice", "ann joined")  # ann's page rejoined #lobby
        d.ok("fill", page="bob", selector="#message", value="welcome back")
        d.ok("click", page="bob", selector="#send")
        d.wait_text("ann", "#messages li.room", "bob: welcome back")

        ARTIFACTS.mkdir(exist_ok=True)
        for user, suffix in (("ann", "a"), ("bob", "b")):
            path = ARTIFACTS / f"chat-scaleout-{suffix}.png"
            path.unlink(missing_ok=True)
            d.ok("screenshot", page=user, path=str(path))
            assert path.stat().st_size > 0
