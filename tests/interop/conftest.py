"""Fixtures for driving the official JavaScript SignalR clients (Node):
``@microsoft/signalr`` through ``tests/node/scenarios.mjs`` and the old
``@aspnet/signalr`` 1.1.4 through ``tests/node/aspnet_client.mjs``.

``node`` is required: when it is missing the tests FAIL (never skip), since
interop with the official client is the point of this directory. The npm
packages pinned in ``tests/node/package.json`` are installed once per
session when ``tests/node/node_modules`` is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol_tests.server_process import conformance_server

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
SCENARIOS = NODE_DIR / "scenarios.mjs"
ASPNET_CLIENT = NODE_DIR / "aspnet_client.mjs"
REQUIRED_PACKAGES = ("@microsoft/signalr", "@microsoft/signalr-protocol-msgpack", "@aspnet/signalr")
SCENARIO_TIMEOUT = 45.0  # seconds; each scenario also has its own, shorter deadline inside Node


ScenarioRunner = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "The interop tests need Node.js: 'node' was not found on PATH. Install Node.js 18+ "
            "(and npm) so the official @microsoft/signalr client can run.",
            pytrace=False,
        )
    return node


@pytest.fixture(scope="session")
def node_modules(node_executable: str) -> Path:
    """``tests/node/node_modules`` with the pinned official client packages."""
    modules = NODE_DIR / "node_modules"
    if not all((modules / name / "package.json").is_file() for name in REQUIRED_PACKAGES):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"{modules} is missing and 'npm' was not found on PATH to install it.", pytrace=False)
        command = [
            npm,
            "ci" if (NODE_DIR / "package-lock.json").is_file() else "install",
            "--no-audit",
            "--no-fund",
        ]
        proc = subprocess.run(command, cwd=NODE_DIR, capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            pytest.fail(
                f"{' '.join(command)} failed in {NODE_DIR} (exit {proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}",
                pytrace=False,
            )
    return modules


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """One conformance server (subprocess) per test module."""
    with conformance_server() as url:
        yield url


def _run_node(node: str, script: Path, args: list[str], label: str) -> dict[str, Any]:
    """Run ``node script *args``; return the ``result`` of its one JSON line.

    Fails the test with the script's error and Node's stderr when it does
    not print exactly one ``{"ok": true, ...}`` line and exit 0.
    """
    command = [node, str(script), *args]
    try:
        proc = subprocess.run(
            command,
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=SCENARIO_TIMEOUT,
            check=False,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{label} did not finish in {SCENARIO_TIMEOUT} s: {exc}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    details = f"exit code {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    if len(lines) != 1:
        pytest.fail(f"{label} must print exactly one JSON line; {details}")
    try:
        report = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        pytest.fail(f"{label} printed invalid JSON ({exc}); {details}")
    if proc.returncode != 0 or not report.get("ok"):
        pytest.fail(f"{label} failed: {report.get('error')}\n{details}")
    result: dict[str, Any] = report["result"]
    return result


@pytest.fixture
def run_scenario(node_executable: str, node_modules: Path, server_url: str) -> ScenarioRunner:
    """Run one scenario of ``tests/node/scenarios.mjs`` and return its ``result`` object.

    ``run(protocol, scenario, *, skip_negotiation=False, transport=None)``;
    ``transport`` (``"WebSockets"``, ``"ServerSentEvents"`` or
    ``"LongPolling"``) is passed as ``--transport=...``; the script's
    default is WebSockets.
    """

    def run(
        protocol: str, scenario: str, *, skip_negotiation: bool = False, transport: str | None = None
    ) -> dict[str, Any]:
        args = [server_url, protocol, scenario]
        if skip_negotiation:
            args.append("--skip-negotiation")
        if transport is not None:
            args.append(f"--transport={transport}")
        label = f"scenario {scenario!r} ({protocol}{'' if transport is None else ', ' + transport})"
        return _run_node(node_executable, SCENARIOS, args, label)

    return run


@pytest.fixture
def run_aspnet_client(
    node_executable: str, node_modules: Path, server_url: str
) -> Callable[[str], dict[str, Any]]:
    """Run ``tests/node/aspnet_client.mjs`` (@aspnet/signalr 1.1.4) over one transport."""

    def run(transport: str) -> dict[str, Any]:
        return _run_node(
            node_executable, ASPNET_CLIENT, [server_url, transport], f"@aspnet/signalr 1.1.4 ({transport})"
        )

    return run
