"""Start the conformance server in a real subprocess (or use an external one).

``SIGNALR_TEST_URL`` (for example ``http://127.0.0.1:5000``) points the suites
at an already running server instead; it must serve the hubs of
``protocol_tests/conformance_server.py`` at the same paths.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URL_ENV = "SIGNALR_TEST_URL"


@contextlib.contextmanager
def conformance_server(timeout: float = 20.0, extra_args: list[str] | None = None) -> Iterator[str]:
    """Yield the base URL (``http://host:port``) of a conformance server.

    ``extra_args`` (for example ``["--postgres", dsn]``) always start a local
    server, whatever ``SIGNALR_TEST_URL`` says."""
    external = os.environ.get(URL_ENV)
    if external and not extra_args:
        yield external.rstrip("/")
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "protocol_tests.conformance_server", "--port", "0", *(extra_args or [])],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        port = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("LISTENING "):
                port = int(line.split()[1])
                break
        if port is None:
            raise RuntimeError(f"conformance server did not start (exit code {proc.poll()})")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
