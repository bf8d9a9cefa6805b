"""Fixtures of the Postgres backplane tests: a real Postgres, never mocked.

``pg_dsn`` comes from ``PYSIGNALR_PG_DSN`` (default: the local ``test``
database) and fails the test with a clear message when Postgres cannot be
reached: these tests are never skipped. Every test gets its own ``prefix``
(so it never sees another test's notifications, whatever the order or the
other processes using the database) and its own ``spill_table``, dropped at
the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def _probe(dsn: str) -> str:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    dsn = os.environ.get("PYSIGNALR_PG_DSN", DEFAULT_DSN)
    try:
        asyncio.run(asyncio.wait_for(_probe(dsn), 10))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        pytest.fail(
            f"Postgres is not reachable at {dsn!r} ({type(exc).__name__}: {exc}). "
            "Start Postgres or point PYSIGNALR_PG_DSN at one; these tests are never skipped.",
            pytrace=False,
        )
    return dsn


@pytest.fixture
def prefix() -> str:
    """Unique per test: names the NOTIFY channel, so tests never see each other."""
    return f"t{uuid.uuid4().hex[:16]}"


@pytest.fixture
async def pg_admin(pg_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection for the test itself (inspecting, terminating backends)."""
    conn = await asyncpg.connect(pg_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def spill_table(pg_dsn: str, prefix: str) -> AsyncIterator[str]:
    """A spill table of this test only; dropped when the test ends."""
    name = f"spill_{prefix}"
    yield name
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    finally:
        await conn.close()
