"""Streaming pieces of the hub layer.

``UploadStream`` is what a hub method receives for an ``AsyncIterator[T]``
parameter: items the client streams up, converted to ``T``, through a
bounded queue (``stream_buffer_capacity``) so a fast client cannot flood a
slow method. ``CancellationToken`` is injected into parameters annotated
with it, so a method can notice a client's CancelInvocation (streams) or the
connection closing without relying on task cancellation alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..errors import HubException

__all__ = ["CancellationToken", "UploadStream"]


class CancellationToken:
    """Signals that the work a hub method does is no longer wanted."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    @property
    def is_cancelled(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        """Return once cancelled."""
        await self._event.wait()

    def cancel(self) -> None:
        self._event.set()


_END: Any = object()


class UploadStream:
    """An async iterator over one client-to-server stream."""

    __slots__ = ("_done", "_error", "_queue", "item_type", "stream_id")

    def __init__(self, stream_id: str, item_type: Any, capacity: int) -> None:
        self.stream_id = stream_id
        self.item_type = item_type
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max(1, capacity))
        self._done = False
        self._error: BaseException | None = None

    def __aiter__(self) -> UploadStream:
        return self

    async def __anext__(self) -> Any:
        if self._done and self._queue.empty():
            raise self._stop()
        item = await self._queue.get()
        if item is _END:
            self._done = True
            raise self._stop()
        return item

    def _stop(self) -> BaseException:
        if self._error is not None:
            return self._error
        return StopAsyncIteration()

    async def put(self, item: Any) -> None:
        """Queue an item; waits while the method is behind (backpressure)."""
        if not self._done:
            await self._queue.put(item)

    def complete(self, error: str | None = None) -> None:
        """The client finished the stream (with an error text, if it failed)."""
        if error is not None:
            self._error = HubException(error)
        self._done = True
        try:
            self._queue.put_nowait(_END)
        except asyncio.QueueFull:
            # The reader will see _done once it drains the queue.
            pass

    def abandon(self) -> None:
        """The method that read this stream has ended: nobody reads it any
        more. Drop what is queued, so a ``put`` waiting for room (the
        connection's read loop) returns instead of waiting forever."""
        self._done = True
        while True:
            try:
                self._queue.get_nowait()  # frees room: wakes a waiting put
            except asyncio.QueueEmpty:
                break

    @property
    def completed(self) -> bool:
        return self._done
