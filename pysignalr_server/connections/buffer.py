"""A bounded, coalescing outbound buffer: the one place a connection's
outgoing bytes wait.

Senders never block: ``write`` appends and returns. A transport task drains
it with ``take``, joining whatever queued up into one transport write, so a
burst costs one frame instead of many. A transport that can write without
waiting (a WebSocket whose socket is keeping up) installs a ``direct`` sink:
while nothing is queued, ``write`` hands data straight to it, which saves a
task wake-up per message per connection on broadcasts; as soon as the sink
refuses (the socket has a backlog) data queues here again, in order.

When more than ``limit`` bytes are waiting the client is not keeping up: the
buffer closes itself and calls ``on_overflow`` so the connection can be
dropped. Producers that prefer to wait (streams) use ``wait_writable``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["OutboundBuffer"]


class OutboundBuffer:
    __slots__ = (
        "_chunks",
        "_closed",
        "_direct",
        "_limit",
        "_on_overflow",
        "_on_queued",
        "_size",
        "_space_waiters",
        "_taken_waiters",
        "_waiter",
        "overflowed",
        "taken_count",
        "write_count",
    )

    def __init__(self, limit: int, on_overflow: Callable[[], None] | None = None) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._limit = limit
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._space_waiters: list[asyncio.Future[None]] = []
        self._on_overflow = on_overflow
        self.overflowed = False
        self.taken_count = 0
        """Chunks handed to the transport so far; chunk ``n`` (1-based, its
        ``write_count`` right after the write) is gone once this reaches ``n``."""
        self._taken_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.write_count = 0
        """Incremented per write; lets keep-alive see activity without timestamps."""
        self._direct: Callable[[bytes], bool] | None = None
        self._on_queued: Callable[[], None] | None = None

    def set_direct(self, sink: Callable[[bytes], bool] | None) -> None:
        """Install (or remove) a sink that takes data synchronously while the
        buffer is empty; it returns False to refuse, and the data queues."""
        self._direct = sink

    def set_on_queued(self, callback: Callable[[], None] | None) -> None:
        """Called when data queues (or the buffer closes) while nobody waits
        in ``take``: a transport that drains with ``take_nowait`` starts its
        writer only then, instead of keeping one parked per connection."""
        self._on_queued = callback

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> bool:
        """Queue ``data``; False if the buffer is closed or just overflowed."""
        if self._closed:
            return False
        direct = self._direct
        if direct is not None and not self._chunks and direct(data):
            # Straight to the transport: written and taken at once.
            self.write_count += 1
            self.taken_count += 1
            if self._taken_waiters:
                self._wake_taken_waiters()
            return True
        size = self._size + len(data)
        if size > self._limit and self._size:
            self.overflowed = True
            self.close(discard=True)
            if self._on_overflow is not None:
                self._on_overflow()
            return False
        self._chunks.append(data)
        self._size = size
        self.write_count += 1
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        elif self._on_queued is not None:
            self._on_queued()
        return True

    def close(self, *, discard: bool = False) -> None:
        """Stop accepting data; ``take`` still returns what is queued unless
        ``discard``."""
        self._closed = True
        self._direct = None
        if discard:
            self._chunks.clear()
            self._size = 0
        self._wake_taken_waiters(force=True)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        elif self._on_queued is not None:
            on_queued, self._on_queued = self._on_queued, None
            on_queued()
        self._wake_space_waiters()

    def take_nowait(self, max_bytes: int | None = None) -> bytes | None:
        """Everything queued (up to about ``max_bytes``) as one bytes object,
        or None when empty."""
        chunks = self._chunks
        if not chunks:
            return None
        if max_bytes is None or self._size <= max_bytes:
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            self.taken_count += len(chunks)
            chunks.clear()
            self._size = 0
        else:
            n = 0
            taken = 0
            for chunk in chunks:
                if n and taken + len(chunk) > max_bytes:
                    break
                taken += len(chunk)
                n += 1
            data = chunks[0] if n == 1 else b"".join(chunks[:n])
            del chunks[:n]
            self.taken_count += n
            self._size -= taken
        if self._space_waiters and self._size <= self._limit // 2:
            self._wake_space_waiters()
        if self._taken_waiters:
            self._wake_taken_waiters()
        return data

    async def take(self, max_bytes: int | None = None) -> bytes | None:
        """Wait for data; None once the buffer is closed and drained."""
        while True:
            data = self.take_nowait(max_bytes)
            if data is not None:
                return data
            if self._closed:
                return None
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None

    async def wait_writable(self) -> None:
        """Wait until at most half the limit is queued (backpressure)."""
        while not self._closed and self._size > self._limit // 2:
            fut = asyncio.get_running_loop().create_future()
            self._space_waiters.append(fut)
            try:
                await fut
            finally:
                if fut in self._space_waiters:
                    self._space_waiters.remove(fut)

    async def wait_taken(self, write_index: int) -> None:
        """Wait until the chunk written as ``write_index`` has been handed to
        the transport (or the buffer closed). Streams use this to keep at most
        ``stream_buffer_capacity`` of their items queued."""
        if self._closed or self.taken_count >= write_index:
            return
        fut = asyncio.get_running_loop().create_future()
        self._taken_waiters.append((write_index, fut))
        await fut

    def _wake_taken_waiters(self, force: bool = False) -> None:
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for index, fut in self._taken_waiters:
            if force or self.taken_count >= index:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((index, fut))
        self._taken_waiters = keep

    def _wake_space_waiters(self) -> None:
        waiters, self._space_waiters = self._space_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
