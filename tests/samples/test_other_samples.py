"""The stocks, upload, quiz and worker_notify samples, end to end.

Each sample runs as a real process (``python -m samples.<name>.app --port N``,
what ``samples/run`` starts) and is driven by the official JavaScript client
(``other_samples_client.mjs``, which prints one JSON line) and plain HTTP.
worker_notify runs as two processes sharing the real Postgres
(``$PYSIGNALR_PG_DSN``, default ``postgresql://postgres@127.0.0.1:5432/test``).

Every wait has a deadline; every process is stopped by its PID (SIGTERM,
then SIGKILL). A missing Node, npm package or Postgres FAILS the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
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
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLIENT = HERE / "other_samples_client.mjs"
NODE_DIR = ROOT / "tests" / "node"
SAMPLES_DIR = ROOT / "samples"
BROWSER_BUNDLE = SAMPLES_DIR / "node_modules/@microsoft/signalr/dist/browser/signalr.js"
SAMPLE_NAMES = ("stocks", "upload", "quiz", "worker_notify")
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
CLIENT_TIMEOUT = 45.0  # the script's own waits are 10 s each
HTTP_TIMEOUT = 10.0

pytestmark = pytest.mark.node


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def node() -> str:
    executable = shutil.which("node")
    if executable is None:
        pytest.fail(
            "'node' was not found on PATH: the samples are driven by the official client", pytrace=False
        )
    if not (NODE_DIR / "node_modules/@microsoft/signalr/package.json").is_file():
        pytest.fail(
            f"@microsoft/signalr is missing: run 'npm ci' in {NODE_DIR} (tests/run does)", pytrace=False
        )
    return executable


@pytest.fixture(scope="module")
def browser_bundle() -> Path:
    """The samples serve the official browser bundle from samples/node_modules
    (``samples/run`` installs it); install it here if it is missing."""
    if not BROWSER_BUNDLE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"{BROWSER_BUNDLE} is missing and 'npm' is not on PATH", pytrace=False)
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SAMPLES_DIR, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not BROWSER_BUNDLE.is_file():
            pytest.fail(f"npm ci in samples/ failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return BROWSER_BUNDLE


@pytest.fixture(scope="module")
def pg_dsn() -> str:
    dsn = os.environ.get("PYSIGNALR_PG_DSN") or DEFAULT_DSN

    async def probe() -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        await conn.close(timeout=5)

    try:
        asyncio.run(asyncio.wait_for(probe(), 10))
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        pytest.fail(
            f"Postgres is unreachable at {dsn} ({type(exc).__name__}: {exc}); "
            "start it (tests/run does) or set PYSIGNALR_PG_DSN",
            pytrace=False,
        )
    return dsn


# ----------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pump(stream: IO[str], log: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        log.write(line)
        log.flush()
        lines.put(line)
    lines.put(None)


class SampleProcess:
    """``python -m samples.<name>.app --port <free port> *args``, output in a log file."""

    def __init__(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._logfile = tempfile.NamedTemporaryFile(  # closed in close()
            "w+", prefix=f"sample-{name}-", suffix=".log", delete=False
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"samples.{name}.app", "--port", str(self.port), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        self._final_log: str | None = None
        self._reader = threading.Thread(
            target=_pump, args=(self.proc.stdout, self._logfile, self._lines), daemon=True
        )
        self._reader.start()

    def wait_serving(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith("Serving on "):
                return
        raise AssertionError(f"{self.name} did not start within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        """The output so far (all of it once stopped), last 6000 characters."""
        if self._final_log is not None:
            return self._final_log
        return Path(self._logfile.name).read_text(errors="replace")[-6000:]

    def stop(self) -> int:
        """SIGTERM by PID, SIGKILL after a deadline; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)  # the rest of the output, up to EOF
        return self.proc.returncode

    def close(self) -> None:
        self.stop()
        if self._final_log is None:
            self._final_log = self.log()
        self._logfile.close()
        Path(self._logfile.name).unlink(missing_ok=True)


def start_sample(name: str, args: list[str], env: dict[str, str]) -> SampleProcess:
    """Start a sample and wait until it serves. The free port is chosen before
    the process binds it, so another process may take it meanwhile: then try
    another one."""
    for attempt in range(3):
        proc = SampleProcess(name, *args, env=env)
        try:
            proc.wait_serving()
            return proc
        except AssertionError:
            proc.close()
            if attempt == 2 or "address already in use" not in proc.log():
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running(*samples: tuple[str, list[str], dict[str, str]]) -> Iterator[list[SampleProcess]]:
    """Start the samples one after the other, yield them, stop them all by PID."""
    procs: list[SampleProcess] = []
    try:
        for name, args, env in samples:
            procs.append(start_sample(name, args, env))
        yield procs
        for proc in procs:
            code = proc.stop()
            assert code == 0, f"{proc.name} exited with {code} on SIGTERM:\n{proc.log()}"
    except BaseException:
        for proc in procs:
            proc.stop()
            print(f"--- {proc.name} (pid {proc.proc.pid}) ---\n{proc.log()}")  # shown with the failure
        raise
    finally:
        for proc in procs:
            proc.close()


def run_client(node: str, *args: str) -> dict[str, Any]:
    """Run other_samples_client.mjs; return the ``result`` of its one JSON line."""
    try:
        proc = subprocess.run(
            [node, str(CLIENT), *args],
            cwd=HERE, capture_output=True, text=True, encoding="utf-8", timeout=CLIENT_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the client did not finish in {CLIENT_TIMEOUT} s: {exc}") from None
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    details = f"exit code {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    assert len(lines) == 1, f"the client must print exactly one JSON line; {details}"
    report = json.loads(lines[0])
    assert proc.returncode == 0 and report["ok"], f"the client failed: {report.get('error')}\n{details}"
    result: dict[str, Any] = report["result"]
    return result


def http_json(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def parse_time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value
    return parsed


# --------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_check_mode_exits_0(name: str, browser_bundle: Path) -> None:
    """``--check`` (what CI and .ci/clone_check run): serve the page and the
    bundle, answer a negotiate, exit 0."""
    proc = subprocess.run(
        [sys.executable, "-m", f"samples.{name}.app", "--check", "--port", str(free_port())],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "check ok: page, client bundle and negotiate answered" in proc.stdout, proc.stdout


def test_check_mode_on_postgres(browser_bundle: Path, pg_dsn: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "samples.worker_notify.app", "--check", "--port", str(free_port()),
         "--postgres", pg_dsn],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
        env={**os.environ, "WORKER_NOTIFY_PREFIX": f"wn{uuid.uuid4().hex[:12]}"},
    )  # fmt: skip
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "check ok" in proc.stdout


def test_stocks_streams_ticks_and_stops_on_cancel(node: str, browser_bundle: Path) -> None:
    with running(("stocks", [], {})) as [server]:
        result = run_client(node, "stocks", server.url)
    assert result["noSymbols"] == (
        "An error occurred on the server while streaming results. HubException: choose 1 to 20 symbols"
    )
    ticks = result["ticks"]
    assert [t["symbol"] for t in ticks] == ["MSFT", "AAPL"] * 3  # normalized, one per symbol per round
    assert [t["seq"] for t in ticks] == [0, 1, 2, 3, 4, 5]
    assert (ticks[0]["price"], ticks[1]["price"]) == (420.0, 190.0)  # the opening prices
    for tick in ticks:
        assert sorted(tick) == ["price", "seq", "symbol", "time"]
        assert tick["price"] > 0 and round(tick["price"], 2) == tick["price"]
    times = [parse_time(t["time"]) for t in ticks]
    assert times == sorted(times)
    assert abs(times[0] - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(minutes=1)

    # Disposing the subscription cancelled the generator: its finally block ran
    # (FeedStopped came from there) and the feed no longer counts as active.
    stopped = result["stopped"]
    assert stopped["symbols"] == ["MSFT", "AAPL"]
    produced = stopped["produced"]
    assert 6 <= produced <= 6 + 10 + 2  # at most a buffer's worth beyond what the client took
    assert result["feeds"] == {"active": 0, "started": 1, "ticks": produced}
    assert f"feed ['MSFT', 'AAPL'] stopped after {produced} ticks" in server.log()


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
def test_upload_returns_size_and_sha256(
    node: str, browser_bundle: Path, protocol: str, tmp_path: Path
) -> None:
    data = os.urandom(4 * 1024 + 321)  # a few KB: five chunks of 1000 bytes and a short one
    file = tmp_path / "upload.bin"
    file.write_bytes(data)
    with running(("upload", [], {})) as [server]:
        result = run_client(node, "upload", server.url, protocol, str(file))
    assert result["uploaded"] == {
        "name": "report.bin",  # the client's path was stripped
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "chunks": 5,
    }
    assert result["empty"] == {
        "name": "empty.txt",
        "size": 0,
        "sha256": hashlib.sha256().hexdigest(),
        "chunks": 0,
    }
    assert result["clientError"] == (
        "An unexpected error occurred invoking 'Upload' on the server. HubException: disk on fire"
    )


def test_quiz_scores_client_results(node: str, browser_bundle: Path) -> None:
    with running(("quiz", [], {})) as [server]:
        result = run_client(node, "quiz", server.url)
        assert http_json("GET", f"{server.url}/api/scores") == (200, [])  # everyone left
    assert result["joined"][-1] == [
        {"name": "alice", "score": 0},
        {"name": "bob", "score": 0},
        {"name": "carol", "score": 0},
    ]
    assert result["strangerError"] == (
        "An unexpected error occurred invoking 'QuizMe' on the server. HubException: join first"
    )
    # From the hub: self.clients.caller.invoke("Ask", ...).
    assert result["aliceQuizzed"] == {
        "player": "alice", "question": "What is 6 x 7?", "answer": "42", "correct": True, "error": None,
    }  # fmt: skip
    assert result["bobQuizzed"] == {
        "player": "bob", "question": "What is the capital of France?", "answer": None, "correct": False,
        "error": "Error: I don't know",  # the JavaScript handler threw: scored as wrong
    }  # fmt: skip
    # From HTTP, through the hub context: every player at once.
    question = "Which planet is known as the Red Planet?"
    assert result["round"] == {
        "status": 200,
        "body": {
            "question": question,
            "answers": [
                {"player": "alice", "question": question, "answer": " mars ", "correct": True, "error": None},
                {"player": "bob", "question": question, "answer": None, "correct": False,
                 "error": "Error: I don't know"},
                {"player": "carol", "question": question, "answer": "Venus", "correct": False, "error": None},
            ],
            "scores": [
                {"name": "alice", "score": 2}, {"name": "bob", "score": 0}, {"name": "carol", "score": 0},
            ],
        },
    }  # fmt: skip
    assert result["pushed"] == result["round"]["body"]["scores"]  # the Scores broadcast
    assert result["badRoundStatus"] == 400
    assert result["afterBob"] == [{"name": "alice", "score": 2}, {"name": "carol", "score": 0}]


def test_worker_notify_reaches_a_user_on_another_node(node: str, browser_bundle: Path, pg_dsn: str) -> None:
    """Two nodes on the Postgres backplane: a POST to node A, node A's
    background job and a hub call on node A all reach bob on node B."""
    prefix = f"wn{uuid.uuid4().hex[:12]}"  # this test's own channel
    common = {"WORKER_NOTIFY_PREFIX": prefix}
    with running(
        (
            "worker_notify",
            ["--postgres", pg_dsn],
            {**common, "WORKER_NOTIFY_NODE": "A", "WORKER_NOTIFY_INTERVAL": "0.2"},
        ),
        (
            "worker_notify",
            ["--postgres", pg_dsn],
            {**common, "WORKER_NOTIFY_NODE": "B", "WORKER_NOTIFY_INTERVAL": "0"},
        ),
    ) as [a, b]:
        assert http_json("GET", f"{a.url}/healthz") == (200, {"node": "A", "healthy": True})
        assert http_json("GET", f"{b.url}/healthz") == (200, {"node": "B", "healthy": True})
        result = run_client(node, "worker_notify", a.url, b.url)

    assert result["anonymous"] == (
        "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'"
    )
    assert result["badToken"].endswith("Status code '401'")
    assert result["bobIs"] == {"user": "bob", "node": "B"}
    assert result["aliceIs"] == {"user": "alice", "node": "A"}
    assert result["posted"] == {
        "status": 202,
        "body": {"user": "bob", "node": "A", "text": "build 42 finished"},
    }

    def without_time(message: dict[str, Any]) -> dict[str, Any]:
        parse_time(message["time"])
        return {k: v for k, v in message.items() if k != "time"}

    assert without_time(result["forBob"]) == {"text": "build 42 finished", "sender": "api", "node": "A"}
    assert without_time(result["firstForAlice"]) == {"text": "for alice only", "sender": "api", "node": "A"}
    assert without_time(result["heartbeat"]) == {"node": "A"}  # node B's job is off: it came over Postgres
    assert without_time(result["fromAlice"]) == {"text": "hi bob", "sender": "alice", "node": "A"}
    assert result["badPostStatus"] == 400
    assert (result["bobNotes"], result["aliceNotes"]) == (2, 1)
