"""Helpers shared by the Postgres backplane tests (no fixtures here: see
conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pysignalr_server.hub.hub import Hub
from pysignalr_server.postgres import PostgresBus, PostgresHubLifetimeManager, PostgresOptions

DEADLINE = 5.0


class SpecHub(Hub):
    """The hub every manager in these tests serves (its key scopes messages)."""


class OtherHub(Hub):
    """A second hub sharing a bus with ``SpecHub``."""


def options(dsn: str, prefix: str, spill_table: str, **overrides: Any) -> PostgresOptions:
    """Test options: small timeouts so failures show quickly, a per-test
    prefix and spill table."""
    values: dict[str, Any] = {
        "dsn": dsn,
        "prefix": prefix,
        "spill_table": spill_table,
        "receipt_timeout": 0.5,
        "ack_timeout": 5.0,
        "publish_timeout": 5.0,
    }
    values.update(overrides)
    return PostgresOptions(**values)


def manager_on_new_bus(
    opts: PostgresOptions, hub: type[Hub] = SpecHub, **kwargs: Any
) -> PostgresHubLifetimeManager:
    """A manager on its own bus: one "server"."""
    return PostgresHubLifetimeManager(hub, PostgresBus(opts), **kwargs)


async def wait_until(
    condition: Callable[[], bool], within: float = DEADLINE, what: str = "condition"
) -> float:
    """Wait until ``condition()`` holds, checking after every turn of the
    event loop; fail after ``within`` seconds. Returns the time it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0)
    return time.monotonic() - start


def backplane_tasks() -> list[asyncio.Task[Any]]:
    """Tasks of the bus or a manager still alive on this loop."""
    found = []
    for task in asyncio.all_tasks():
        if task.done():
            continue
        qualname = getattr(task.get_coro(), "__qualname__", "")
        if task.get_name().startswith("signalr-pg") or qualname.startswith(
            ("PostgresBus.", "PostgresHubLifetimeManager.")
        ):
            found.append(task)
    return found


class Recorder:
    """A bus handler that records ``(sender, message)`` and lets a test wait
    for what it expects, with a deadline."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[Any]]] = []
        self._changed = asyncio.Event()

    def __call__(self, sender: str, message: list[Any]) -> None:
        self.messages.append((sender, message))
        self._changed.set()

    @property
    def bodies(self) -> list[list[Any]]:
        return [message for _, message in self.messages]

    async def wait_for(self, condition: Callable[[list[list[Any]]], bool], within: float = DEADLINE) -> None:
        async def wait() -> None:
            while not condition(self.bodies):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(wait(), within)
        except TimeoutError:
            raise AssertionError(
                f"not received within {within}s; got {len(self.messages)} message(s)"
            ) from None

    async def wait_for_message(self, message: list[Any], within: float = DEADLINE) -> None:
        await self.wait_for(lambda bodies: message in bodies, within)
