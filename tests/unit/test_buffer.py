"""``OutboundBuffer``: the bounded, coalescing queue a transport drains."""

from __future__ import annotations

import asyncio

import pytest

from pysignalr_server.connections.buffer import OutboundBuffer

DEADLINE = 2.0


class OverflowSpy:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_writes_coalesce_into_one_take() -> None:
    buf = OutboundBuffer(1024)
    assert buf.write(b"one") and buf.write(b"two") and buf.write(b"three")
    assert buf.size == 11
    assert buf.write_count == 3
    assert buf.take_nowait() == b"onetwothree"
    assert buf.size == 0
    assert buf.take_nowait() is None


def test_single_chunk_is_returned_as_is() -> None:
    buf = OutboundBuffer(1024)
    data = b"x" * 100
    buf.write(data)
    assert buf.take_nowait() is data  # no copy for a lone chunk


def test_max_bytes_splits_on_chunk_boundaries() -> None:
    buf = OutboundBuffer(1024)
    for chunk in (b"aaaa", b"bbbb", b"cccc", b"dd"):
        buf.write(chunk)
    assert buf.take_nowait(9) == b"aaaabbbb"  # the next chunk would exceed 9
    assert buf.size == 6
    assert buf.take_nowait(4) == b"cccc"
    assert buf.take_nowait(4) == b"dd"
    assert buf.take_nowait(4) is None


def test_max_bytes_never_splits_a_message() -> None:
    """A chunk larger than ``max_bytes`` still goes out whole, alone."""
    buf = OutboundBuffer(1024)
    buf.write(b"x" * 100)
    buf.write(b"y")
    assert buf.take_nowait(10) == b"x" * 100
    assert buf.take_nowait(10) == b"y"


def test_max_bytes_larger_than_everything_takes_everything() -> None:
    buf = OutboundBuffer(1024)
    buf.write(b"ab")
    buf.write(b"cd")
    assert buf.take_nowait(4) == b"abcd"


def test_overflow_closes_discards_and_calls_on_overflow() -> None:
    spy = OverflowSpy()
    buf = OutboundBuffer(10, spy)
    assert buf.write(b"123456")
    assert buf.write(b"7890")  # exactly the limit is fine
    assert spy.calls == 0 and not buf.overflowed
    assert buf.write(b"!") is False  # one byte over
    assert spy.calls == 1
    assert buf.overflowed and buf.closed
    assert buf.size == 0
    assert buf.take_nowait() is None  # what was queued is dropped
    assert buf.write(b"more") is False
    assert spy.calls == 1  # only once
    assert buf.write_count == 2


def test_single_oversize_write_into_an_empty_buffer_is_accepted() -> None:
    spy = OverflowSpy()
    buf = OutboundBuffer(10, spy)
    big = b"z" * 100
    assert buf.write(big)
    assert not buf.overflowed and spy.calls == 0
    assert buf.take_nowait() == big
    # Once drained, another oversize message is accepted again ...
    assert buf.write(big)
    # ... but not on top of queued data.
    assert buf.write(b"a") is False
    assert spy.calls == 1 and buf.overflowed


def test_overflow_without_callback() -> None:
    buf = OutboundBuffer(4)
    buf.write(b"1234")
    assert buf.write(b"5") is False
    assert buf.overflowed and buf.closed


def test_close_keeps_queued_data_until_drained() -> None:
    buf = OutboundBuffer(100)
    buf.write(b"last words")
    buf.close()
    assert buf.closed and not buf.overflowed
    assert buf.write(b"too late") is False
    assert buf.take_nowait() == b"last words"
    assert buf.take_nowait() is None


def test_close_with_discard_drops_queued_data() -> None:
    buf = OutboundBuffer(100)
    buf.write(b"dropped")
    buf.close(discard=True)
    assert buf.size == 0
    assert buf.take_nowait() is None


async def test_take_returns_data_then_none_after_close() -> None:
    buf = OutboundBuffer(100)
    buf.write(b"a")
    buf.write(b"b")
    buf.close()
    assert await asyncio.wait_for(buf.take(), DEADLINE) == b"ab"
    assert await asyncio.wait_for(buf.take(), DEADLINE) is None
    assert await asyncio.wait_for(buf.take(), DEADLINE) is None


async def test_take_waits_for_a_write() -> None:
    buf = OutboundBuffer(100)
    taker = asyncio.ensure_future(buf.take())
    await asyncio.sleep(0)  # let it start waiting (a scheduling step, not a timing wait)
    assert not taker.done()
    buf.write(b"hello")
    assert await asyncio.wait_for(taker, DEADLINE) == b"hello"


async def test_take_is_woken_by_close() -> None:
    buf = OutboundBuffer(100)
    taker = asyncio.ensure_future(buf.take())
    await asyncio.sleep(0)
    assert not taker.done()
    buf.close()
    assert await asyncio.wait_for(taker, DEADLINE) is None


async def test_take_is_woken_by_overflow() -> None:
    buf = OutboundBuffer(4)
    buf.write(b"1234")
    assert await buf.take() == b"1234"
    taker = asyncio.ensure_future(buf.take())
    await asyncio.sleep(0)
    buf.write(b"12")
    buf.write(b"345")  # overflow: closes and discards, before the taker ran
    # Nothing queued before the overflow goes out any more.
    assert await asyncio.wait_for(taker, DEADLINE) is None


async def test_take_respects_max_bytes() -> None:
    buf = OutboundBuffer(100)
    buf.write(b"aa")
    buf.write(b"bb")
    assert await buf.take(2) == b"aa"
    assert await buf.take(2) == b"bb"


async def test_wait_writable_returns_at_once_below_half() -> None:
    buf = OutboundBuffer(100)
    buf.write(b"x" * 50)  # exactly half
    await asyncio.wait_for(buf.wait_writable(), DEADLINE)


async def test_wait_writable_waits_until_drained_to_half() -> None:
    buf = OutboundBuffer(100)
    for _ in range(8):
        buf.write(b"x" * 10)  # 80 bytes queued
    waiter = asyncio.ensure_future(buf.wait_writable())
    await asyncio.sleep(0)
    assert not waiter.done()
    assert buf.take_nowait(20) == b"x" * 20  # 60 left: still over half
    await asyncio.sleep(0)
    assert not waiter.done()
    assert buf.take_nowait(10) == b"x" * 10  # 50 left: writable
    await asyncio.wait_for(waiter, DEADLINE)


async def test_wait_writable_is_released_by_close() -> None:
    buf = OutboundBuffer(100)
    buf.write(b"x" * 90)
    waiters = [asyncio.ensure_future(buf.wait_writable()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    buf.close()
    await asyncio.wait_for(asyncio.gather(*waiters), DEADLINE)


async def test_cancelled_wait_writable_leaves_no_waiter_behind() -> None:
    buf = OutboundBuffer(100)
    buf.write(b"x" * 90)
    waiter = asyncio.ensure_future(buf.wait_writable())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert buf._space_waiters == []


async def test_producer_with_backpressure_never_overflows() -> None:
    """A producer that awaits ``wait_writable`` before each write and a
    consumer that drains slowly: everything arrives, in order, and the
    buffer never overflows."""
    buf = OutboundBuffer(64)
    received = bytearray()

    async def produce() -> None:
        for i in range(200):
            await buf.wait_writable()
            assert buf.write(bytes((i,)) * 8)
        buf.close()

    async def consume() -> None:
        while (data := await buf.take(16)) is not None:
            received.extend(data)
            await asyncio.sleep(0)  # a slow consumer: yield between takes

    await asyncio.wait_for(asyncio.gather(produce(), consume()), DEADLINE)
    assert not buf.overflowed
    assert bytes(received) == b"".join(bytes((i,)) * 8 for i in range(200))
