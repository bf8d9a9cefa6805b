"""The per-connection limit on hub methods running at once.

ASP.NET Core's ``MaximumParallelInvocationsPerClient``: when every slot is
taken, the connection's receive loop waits for one, so a client cannot pile
up work. ``asyncio.Semaphore`` would do, but its ``acquire`` is a coroutine
even when a slot is free, and that is the case on almost every invocation;
``try_acquire`` takes a free slot without one. Slots are handed to waiters
in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["InvocationLimiter"]


class InvocationLimiter:
    __slots__ = ("_free", "_waiters")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the invocation limit must be at least 1")
        self._free = limit
        # Made on the first wait: an empty deque costs about 0.7 KB, on
        # every connection, and most connections never wait.
        self._waiters: deque[asyncio.Future[None]] | None = None

    @property
    def free(self) -> int:
        return self._free

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody is queued for it."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = deque()
        waiters = self._waiters
        waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            elif fut in waiters:  # (membership, not remove(): its error message reprs the future)
                waiters.remove(fut)
            raise

    def release(self) -> None:
        """Give a slot back, straight to the first live waiter if any."""
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._free += 1
