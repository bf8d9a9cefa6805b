"""The per-connection invocation limiter."""

from __future__ import annotations

import asyncio

import pytest

from pysignalr_server.hub.limiter import InvocationLimiter


async def test_limiter_takes_free_slots_synchronously_and_hands_over_in_order() -> None:
    limiter = InvocationLimiter(1)
    assert limiter.try_acquire() and not limiter.try_acquire()
    order: list[str] = []

    async def wait(name: str) -> None:
        await limiter.acquire()
        order.append(name)

    a = asyncio.create_task(wait("a"))
    b = asyncio.create_task(wait("b"))
    await asyncio.sleep(0)
    assert order == [] and not limiter.try_acquire()  # queued waiters go first
    limiter.release()
    await asyncio.sleep(0)
    assert order == ["a"] and limiter.free == 0
    limiter.release()
    await asyncio.wait_for(asyncio.gather(a, b), 5)
    assert order == ["a", "b"]
    limiter.release()
    assert limiter.free == 1


async def test_limiter_cancelled_waiters_never_lose_a_slot() -> None:
    limiter = InvocationLimiter(1)
    assert limiter.try_acquire()
    waiting = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiting.cancel()  # cancelled while queued
    with pytest.raises(asyncio.CancelledError):
        await waiting
    handed = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    limiter.release()  # the slot goes to `handed` ...
    handed.cancel()  # ... which is cancelled before it runs: it must give it back
    with pytest.raises(asyncio.CancelledError):
        await handed
    assert limiter.free == 1 and limiter.try_acquire()
