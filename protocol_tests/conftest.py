"""Fixtures of the black-box conformance suite.

The server runs in a subprocess (``server_process.conformance_server``), or
``SIGNALR_TEST_URL`` points at one that is already running. Nothing here
imports the server package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from .client import Client
from .server_process import conformance_server


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with conformance_server() as url:
        yield url


@pytest.fixture
async def client(server_url: str) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        c = Client(session, server_url)
        try:
            yield c
        finally:
            await c.aclose()
