"""The official SignalR browser bundle in headless Chromium.

An in-process aiohttp server serves ``page.html``, the bundle
(``@microsoft/signalr/dist/browser/signalr.js``) and the conformance hubs
from one origin. ``run_browser.mjs`` (playwright-core, system Chromium) opens
the page, which connects to ``/hubs/auth`` with each transport in turn
(token ``user:alice`` from ``accessTokenFactory``), calls ``Whoami``,
``Echo`` and ``Broadcast``, and writes what it got into the DOM; the driver
reads the DOM back, saves ``test-artifacts/browser.png`` and prints one JSON
line.

A middleware records every ``/hubs/auth`` request, to check how the browser
client sent the token: in the ``access_token`` query for WebSockets and the
SSE ``EventSource`` (browsers cannot add headers to those) and as
``Authorization: Bearer`` on negotiate, POSTs and long polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import hdrs, web

from protocol_tests.conformance_server import create_app

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PAGE = HERE / "page.html"
DRIVER = HERE / "run_browser.mjs"
SCREENSHOT = ROOT / "test-artifacts" / "browser.png"
DRIVER_TIMEOUT = 45.0  # seconds; the driver has its own 30 s deadline
TOKEN = "user:alice"
TEXT = "héllo wörld ✓ — 日本語 🚀"  # must match page.html
TRANSPORTS = {"ws": "WebSockets", "sse": "ServerSentEvents", "lp": "LongPolling"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _kind(request: web.Request) -> str:
    if request.path.lower().endswith("/negotiate"):
        return "negotiate"
    if request.method == hdrs.METH_GET:
        if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
            return "websocket"
        if "text/event-stream" in request.headers.get(hdrs.ACCEPT, ""):
            return "sse"
        return "poll"
    return request.method.lower()


@pytest.fixture
async def page_server(node_modules: Path) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """The conformance app plus the page and the bundle; yields (base URL, recorded requests)."""
    bundle = node_modules / "@microsoft" / "signalr" / "dist" / "browser" / "signalr.js"
    assert bundle.is_file(), f"missing browser bundle {bundle}"
    requests: list[dict[str, Any]] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.lower().startswith("/hubs/auth"):
            return await handler(request)
        entry: dict[str, Any] = {
            "kind": _kind(request),
            "method": request.method,
            "query_token": request.query.get("access_token"),
            "authorization": request.headers.get(hdrs.AUTHORIZATION),
        }
        requests.append(entry)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            entry["status"] = exc.status
            raise
        entry["status"] = response.status
        return response

    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(PAGE, headers={hdrs.CONTENT_TYPE: "text/html; charset=utf-8"})

    async def script(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(bundle, headers={hdrs.CONTENT_TYPE: "text/javascript; charset=utf-8"})

    app = create_app()
    app.middlewares.append(record)
    app.router.add_get("/", page)
    app.router.add_get("/signalr.js", script)
    runner = web.AppRunner(app, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", requests
    finally:
        await runner.cleanup()


async def run_driver(node: str, chromium: str, url: str) -> dict[str, Any]:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    proc = await asyncio.create_subprocess_exec(
        node,
        str(DRIVER),
        url,
        str(SCREENSHOT),
        chromium,
        cwd=HERE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_NO_WARNINGS": "1", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        start_new_session=True,  # its own process group: Chromium goes with it on timeout
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), DRIVER_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
        pytest.fail(f"run_browser.mjs did not finish within {DRIVER_TIMEOUT} s")
    stdout, stderr = out.decode(), err.decode()
    details = f"exit code {proc.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    lines = [line for line in stdout.splitlines() if line.strip()]
    if len(lines) != 1:
        pytest.fail(f"run_browser.mjs must print exactly one JSON line; {details}")
    report: dict[str, Any] = json.loads(lines[0])
    if proc.returncode != 0 or not report.get("ok"):
        pytest.fail(f"run_browser.mjs failed: {report.get('error')}\n{details}")
    return report


@pytest.mark.node
async def test_official_browser_client(
    page_server: tuple[str, list[dict[str, Any]]], node_executable: str, chromium_executable: str
) -> None:
    url, requests = page_server
    report = await run_driver(node_executable, chromium_executable, url + "/")
    result = report["result"]
    console = "\n".join(result["console"])

    assert result["done"] == "done", f"{result}\nconsole:\n{console}"
    assert result["clientVersion"].startswith("@microsoft/signalr 10.0.11, "), result["clientVersion"]
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 0
    for li_id, transport in TRANSPORTS.items():
        shown = result["transports"][li_id]
        assert shown["state"] == "ok", f"{shown['text']}\nconsole:\n{console}"
        broadcast = f"broadcast over {transport} ✓"
        assert shown["fields"] == {
            "identifier": "alice",
            "name": "Alice",
            "userIdentifier": "alice",
            "transport": transport,
            "echo": TEXT,
            "received": json.dumps([broadcast], ensure_ascii=False),
        }
        assert shown["text"] == (
            f"{transport}: identifier alice, name Alice, userIdentifier alice, "
            f'transport {transport}, echo {TEXT}, received ["{broadcast}"]'
        )
    problems = [line for line in result["console"] if line.startswith(("error", "pageerror", "http "))]
    assert not problems, console

    # How the token travelled, per request kind.
    assert requests, "no /hubs/auth request was recorded"
    refused = [r for r in requests if r["status"] >= 400]
    assert not refused, refused
    kinds = [r["kind"] for r in requests]
    assert kinds.count("negotiate") == 3, kinds
    assert kinds.count("websocket") == 1, kinds
    assert kinds.count("sse") == 1, kinds
    assert kinds.count("poll") >= 2, kinds  # the first poll, then at least one more
    assert kinds.count("delete") == 1, kinds  # LongPolling stop()
    for r in requests:
        if r["kind"] in ("websocket", "sse"):
            # Browsers cannot set headers on WebSocket or EventSource: the query carries the token.
            assert r["query_token"] == TOKEN, r
            assert r["authorization"] is None, r
        else:
            # negotiate, SSE/long-polling POSTs, polls and DELETE use the header.
            assert r["authorization"] == f"Bearer {TOKEN}", r
            assert r["query_token"] is None, r
