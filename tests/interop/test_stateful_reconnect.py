"""Stateful reconnect with the official JS client (10.0.11).

The server cuts the client's TCP connection in the middle of a burst of
server-to-client messages. With ``withStatefulReconnect()`` the client opens
a new WebSocket to the same logical connection (no negotiate, no
handshake); the server replays what was not acknowledged and the client
drops duplicates, so every message arrives exactly once and in order, and
neither side sees a disconnect.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol_tests.server_process import conformance_server

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with conformance_server() as url:
        yield url


def run_stateful(base_url: str, protocol: str, count: int, drop_at: int) -> dict[str, object]:
    proc = subprocess.run(
        ["node", "stateful.mjs", base_url, protocol, str(count), str(drop_at)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one JSON line, got stdout={proc.stdout!r} stderr={proc.stderr!r}"
    outcome = json.loads(lines[0])
    assert outcome["ok"], f"{outcome.get('error')}\nstderr:\n{proc.stderr}"
    result: dict[str, object] = outcome["result"]
    return result


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
def test_socket_killed_mid_burst_loses_and_duplicates_nothing(base_url: str, protocol: str) -> None:
    result = run_stateful(base_url, protocol, count=1000, drop_at=500)
    assert result == {
        "received": 1000,
        "duplicates": 0,
        "inOrder": True,
        "sameConnection": True,
        "websocketConnects": 2,  # the first socket, then the stateful reconnect
        "closedDuringRun": None,
        "echo": "after reconnect",
        "serverSawDisconnect": False,
    }
