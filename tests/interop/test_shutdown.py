"""Graceful shutdown with real clients on every transport.

SIGTERM to a real server process: every client is sent a Close with
``allowReconnect: true`` (the official client then starts reconnecting,
which is what lets a load balancer move it to another node), the process
exits cleanly within the grace period, and no task is left behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"


def test_sigterm_tells_every_client_to_reconnect_and_leaves_no_task() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "protocol_tests.conformance_server", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    client: subprocess.Popen[str] | None = None
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("LISTENING "), line
        base_url = f"http://127.0.0.1:{int(line.split()[1])}"
        client = subprocess.Popen(
            ["node", "shutdown.mjs", base_url], cwd=NODE_DIR, stdout=subprocess.PIPE, text=True
        )
        assert client.stdout is not None
        ready = client.stdout.readline()
        assert ready.strip() == "READY", ready
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server_out, _ = server.communicate(timeout=20)
        shutdown_seconds = time.monotonic() - started
        client_out, _ = client.communicate(timeout=30)
    finally:
        for proc in (server, client):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert server.returncode == 0
    assert "STOPPED leftover_tasks=0" in server_out
    assert shutdown_seconds < 10  # bounded by the 5 s grace period
    outcome = json.loads(client_out.strip().splitlines()[-1])
    assert outcome["ok"], outcome
    # The client reconnects without an error text: the server closed with
    # allowReconnect and no error. Nothing was closed for good.
    assert outcome["result"] == {
        name: {"reconnecting": "no error", "closedBeforeStop": None}
        for name in ("WebSockets/json", "ServerSentEvents/json", "LongPolling/messagepack")
    }
