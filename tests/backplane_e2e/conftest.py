"""Fixtures of the backplane end-to-end tests: real server processes sharing
a real Postgres (``PYSIGNALR_PG_DSN``), driven by the official JavaScript
client. An unreachable Postgres or a missing Node FAILS the tests (never skips):
the backplane across processes is the point of this directory."""

from __future__ import annotations

import os

import pytest
from backplane_e2e_support import check_postgres, node_executable

DSN_ENV = "PYSIGNALR_PG_DSN"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The shared Postgres (``$PYSIGNALR_PG_DSN``, default ``postgresql://postgres@127.0.0.1:5432/test``)."""
    dsn = os.environ.get(DSN_ENV) or DEFAULT_DSN
    problem = check_postgres(dsn)
    if problem is not None:
        pytest.fail(
            f"Postgres is unreachable at {dsn} ({problem}). The backplane end-to-end tests need a real "
            f"Postgres: start one (tests/run does) or point {DSN_ENV} at one.",
            pytrace=False,
        )
    return dsn


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with the official client packages installed in tests/node."""
    try:
        return node_executable()
    except AssertionError as exc:
        pytest.fail(str(exc), pytrace=False)
