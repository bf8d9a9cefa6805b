"""Fixtures for the real-browser test: Node, the npm packages of
``tests/node`` (the official client's browser bundle and ``playwright-core``)
and the system Chromium.

Missing prerequisites FAIL the test (never skip). Nothing here downloads a
browser: ``playwright-core`` drives the installed Chromium
(``CHROMIUM_PATH``, default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
REQUIRED_PACKAGES = ("@microsoft/signalr", "playwright-core")
DEFAULT_CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("The browser test needs Node.js: 'node' was not found on PATH.", pytrace=False)
    return node


@pytest.fixture(scope="session")
def node_modules(node_executable: str) -> Path:
    """``tests/node/node_modules`` with the official client and ``playwright-core``."""
    modules = NODE_DIR / "node_modules"
    if not all((modules / name / "package.json").is_file() for name in REQUIRED_PACKAGES):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"{modules} is missing and 'npm' was not found on PATH to install it.", pytrace=False)
        command = [npm, "ci", "--no-audit", "--no-fund"]
        proc = subprocess.run(
            command,
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        )
        if proc.returncode != 0:
            pytest.fail(
                f"{' '.join(command)} failed in {NODE_DIR} (exit {proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}",
                pytrace=False,
            )
    return modules


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = os.environ.get("CHROMIUM_PATH", DEFAULT_CHROMIUM)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"The browser test needs Chromium at {path} (set CHROMIUM_PATH); "
            "it is never downloaded (Debian: apt-get install chromium).",
            pytrace=False,
        )
    return path
