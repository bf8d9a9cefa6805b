"""Streaming building blocks: ``UploadStream`` (client-to-server items),
``CancellationToken`` and ``OutboundBuffer.wait_taken`` (the per-stream
backpressure of server-to-client streams).

"Still blocked" is proved without timing: a helper task sets an event and
then goes straight into the call under test, so when the test resumes from
the event the task is suspended inside that call (or already finished).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest

from pysignalr_server.connections.buffer import OutboundBuffer
from pysignalr_server.errors import HubException
from pysignalr_server.hub.streams import CancellationToken, UploadStream

DEADLINE = 2.0


async def start_blocked(awaitable: Awaitable[Any]) -> tuple[asyncio.Task[Any], asyncio.Event]:
    """Run ``awaitable`` in a task; return once the task is suspended inside it
    (or done), with an event set when it has returned."""
    entered = asyncio.Event()
    finished = asyncio.Event()

    async def run() -> Any:
        entered.set()
        # No suspension between set() and the call: the waiter of `entered`
        # resumes only after this task suspends inside the call (or ends).
        result = await awaitable
        finished.set()
        return result

    task = asyncio.ensure_future(run())
    await asyncio.wait_for(entered.wait(), DEADLINE)
    return task, finished


async def drain(stream: UploadStream) -> list[Any]:
    async def collect() -> list[Any]:
        return [item async for item in stream]

    return await asyncio.wait_for(collect(), DEADLINE)


# ---------------------------------------------------------- UploadStream


async def test_upload_items_arrive_in_order_then_stop() -> None:
    stream = UploadStream("s1", str, capacity=10)
    for item in ("a", "b", "c"):
        await stream.put(item)
    assert not stream.completed
    stream.complete()
    assert stream.completed
    assert await drain(stream) == ["a", "b", "c"]
    # Exhausted for good.
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(stream.__anext__(), DEADLINE)


async def test_upload_completed_without_items_is_empty() -> None:
    stream = UploadStream("s1", int, capacity=10)
    stream.complete()
    assert await drain(stream) == []


async def test_upload_keeps_its_id_and_item_type() -> None:
    stream = UploadStream("abc", int, capacity=3)
    assert stream.stream_id == "abc"
    assert stream.item_type is int
    assert stream.__aiter__() is stream


async def test_reader_waits_for_items_and_completion() -> None:
    stream = UploadStream("s1", int, capacity=10)
    reader, finished = await start_blocked(drain(stream))
    assert not finished.is_set()
    await stream.put(1)
    await stream.put(2)
    stream.complete()
    assert await asyncio.wait_for(reader, DEADLINE) == [1, 2]


async def test_error_completion_raises_hub_exception_after_queued_items() -> None:
    stream = UploadStream("s1", str, capacity=10)
    await stream.put("a")
    await stream.put("b")
    stream.complete("Something bad")
    received: list[str] = []
    with pytest.raises(HubException) as excinfo:
        async for item in stream:
            received.append(item)
    assert received == ["a", "b"]
    assert type(excinfo.value) is HubException
    assert str(excinfo.value) == "Something bad"
    # Reading again raises the same error, not StopAsyncIteration.
    with pytest.raises(HubException, match=r"^Something bad$"):
        await asyncio.wait_for(stream.__anext__(), DEADLINE)


async def test_error_completion_of_a_full_queue_keeps_items_then_raises() -> None:
    """complete() on a full queue cannot enqueue its end marker; the reader
    must still get every item first, then the error."""
    stream = UploadStream("s1", int, capacity=2)
    await stream.put(1)
    await stream.put(2)
    stream.complete("late failure")
    received: list[int] = []
    with pytest.raises(HubException, match=r"^late failure$"):
        async for item in stream:
            received.append(item)
    assert received == [1, 2]


async def test_completion_of_a_full_queue_keeps_items() -> None:
    stream = UploadStream("s1", int, capacity=2)
    await stream.put(1)
    await stream.put(2)
    stream.complete()
    assert await drain(stream) == [1, 2]


async def test_items_after_completion_are_dropped() -> None:
    stream = UploadStream("s1", int, capacity=10)
    await stream.put(1)
    stream.complete()
    await asyncio.wait_for(stream.put(2), DEADLINE)  # never blocks, never queues
    assert await drain(stream) == [1]


async def test_bounded_capacity_blocks_put_until_an_item_is_read() -> None:
    stream = UploadStream("s1", str, capacity=2)
    await asyncio.wait_for(stream.put("a"), DEADLINE)
    await asyncio.wait_for(stream.put("b"), DEADLINE)
    putter, put_done = await start_blocked(stream.put("c"))
    assert not put_done.is_set() and not putter.done(), "put must wait while the queue is full"
    assert await asyncio.wait_for(stream.__anext__(), DEADLINE) == "a"
    await asyncio.wait_for(put_done.wait(), DEADLINE)
    await asyncio.wait_for(putter, DEADLINE)
    stream.complete()
    assert await drain(stream) == ["b", "c"]


async def test_capacity_below_one_is_treated_as_one() -> None:
    stream = UploadStream("s1", int, capacity=0)
    await asyncio.wait_for(stream.put(1), DEADLINE)
    putter, put_done = await start_blocked(stream.put(2))
    assert not put_done.is_set()
    assert await asyncio.wait_for(stream.__anext__(), DEADLINE) == 1
    await asyncio.wait_for(putter, DEADLINE)
    assert await asyncio.wait_for(stream.__anext__(), DEADLINE) == 2


async def test_abandon_releases_a_waiting_put() -> None:
    """The method that owned the stream ended without reading it while the
    connection's read loop waits in ``put`` for room: abandoning the stream
    must let that ``put`` return (otherwise the connection stops reading)."""
    stream = UploadStream("s1", int, capacity=1)
    await asyncio.wait_for(stream.put(1), DEADLINE)
    putter, put_done = await start_blocked(stream.put(2))
    assert not put_done.is_set()
    stream.abandon()
    assert stream.completed
    await asyncio.wait_for(putter, DEADLINE)
    # Later items are dropped without waiting.
    for n in range(5):
        await asyncio.wait_for(stream.put(n), DEADLINE)


# ------------------------------------------------------ CancellationToken


async def test_token_starts_uncancelled_and_wait_blocks_until_cancel() -> None:
    token = CancellationToken()
    assert not token.is_cancelled
    waiter, finished = await start_blocked(token.wait())
    assert not finished.is_set() and not waiter.done()
    token.cancel()
    assert token.is_cancelled
    await asyncio.wait_for(waiter, DEADLINE)


async def test_token_cancel_is_idempotent_and_wait_returns_at_once_after() -> None:
    token = CancellationToken()
    token.cancel()
    token.cancel()
    assert token.is_cancelled
    await asyncio.wait_for(token.wait(), DEADLINE)
    await asyncio.wait_for(token.wait(), DEADLINE)


async def test_token_wakes_every_waiter() -> None:
    token = CancellationToken()
    waiters = [await start_blocked(token.wait()) for _ in range(3)]
    assert not any(finished.is_set() for _, finished in waiters)
    token.cancel()
    await asyncio.wait_for(asyncio.gather(*(task for task, _ in waiters)), DEADLINE)


# ------------------------------------------------ OutboundBuffer.wait_taken


async def test_wait_taken_returns_at_once_when_already_taken() -> None:
    buf = OutboundBuffer(1024)
    buf.write(b"a")
    buf.write(b"b")
    assert buf.take_nowait() == b"ab"
    assert buf.taken_count == 2
    await asyncio.wait_for(buf.wait_taken(1), DEADLINE)
    await asyncio.wait_for(buf.wait_taken(2), DEADLINE)
    await asyncio.wait_for(buf.wait_taken(0), DEADLINE)


async def test_wait_taken_waits_for_exactly_that_write() -> None:
    """Chunk n (its write_count right after the write) counts as taken only
    once the transport took it, even if earlier chunks went out."""
    buf = OutboundBuffer(1024)
    for chunk in (b"1111", b"2222", b"3333"):
        buf.write(chunk)
    assert buf.write_count == 3
    waiter, released = await start_blocked(buf.wait_taken(2))
    assert not released.is_set()
    assert buf.take_nowait(4) == b"1111"  # chunk 1 only
    assert buf.taken_count == 1
    # The release, if any, would be delivered before this second waiter's
    # start-up (callbacks run in order), so checking after it is exact.
    probe, _ = await start_blocked(buf.wait_taken(1))
    await asyncio.wait_for(probe, DEADLINE)
    assert not released.is_set() and not waiter.done()
    assert buf.take_nowait(4) == b"2222"
    await asyncio.wait_for(released.wait(), DEADLINE)
    assert buf.size == 4


async def test_one_take_releases_every_waiter_it_covers_and_no_other() -> None:
    buf = OutboundBuffer(1024)
    for i in range(4):
        buf.write(bytes([48 + i]) * 4)
    low, low_released = await start_blocked(buf.wait_taken(2))
    high, high_released = await start_blocked(buf.wait_taken(4))
    assert buf.take_nowait(8) == b"00001111"  # chunks 1 and 2 in one take
    await asyncio.wait_for(low_released.wait(), DEADLINE)
    assert not high_released.is_set() and not high.done()
    assert buf.take_nowait() == b"22223333"
    await asyncio.wait_for(high_released.wait(), DEADLINE)
    assert low.done()


async def test_async_take_releases_waiters_too() -> None:
    buf = OutboundBuffer(1024)
    buf.write(b"x")
    waiter, released = await start_blocked(buf.wait_taken(1))
    assert not released.is_set()
    assert await asyncio.wait_for(buf.take(), DEADLINE) == b"x"
    await asyncio.wait_for(waiter, DEADLINE)


async def test_wait_taken_on_a_closed_buffer_returns_at_once() -> None:
    buf = OutboundBuffer(1024)
    buf.write(b"queued")
    buf.close()
    await asyncio.wait_for(buf.wait_taken(1), DEADLINE)  # nothing taken, but closed
    await asyncio.wait_for(buf.wait_taken(100), DEADLINE)


async def test_close_releases_every_waiter() -> None:
    buf = OutboundBuffer(1024)
    buf.write(b"a")
    buf.write(b"b")
    waiters = [await start_blocked(buf.wait_taken(i)) for i in (1, 2, 5)]
    assert not any(released.is_set() for _, released in waiters)
    buf.close()
    await asyncio.wait_for(asyncio.gather(*(task for task, _ in waiters)), DEADLINE)
    assert buf.taken_count == 0  # released by the close, not by a take


async def test_overflow_releases_waiters() -> None:
    buf = OutboundBuffer(8)
    buf.write(b"12345678")
    waiter, _ = await start_blocked(buf.wait_taken(1))
    assert buf.write(b"9") is False  # overflow: closes and discards
    assert buf.overflowed
    await asyncio.wait_for(waiter, DEADLINE)


async def test_cancelled_wait_taken_does_not_break_later_takes() -> None:
    buf = OutboundBuffer(1024)
    buf.write(b"a")
    buf.write(b"b")
    cancelled, _ = await start_blocked(buf.wait_taken(1))
    kept, kept_released = await start_blocked(buf.wait_taken(2))
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(cancelled, DEADLINE)
    assert buf.take_nowait() == b"ab"
    await asyncio.wait_for(kept_released.wait(), DEADLINE)
    assert kept.done()
