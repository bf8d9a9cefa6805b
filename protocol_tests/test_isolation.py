"""Connections are independent: one client's bad data or timeout never
affects another connection (to the same hub or another hub path)."""

from __future__ import annotations

import asyncio

import pytest

from .client import RS, Client, HubSocket, mp_frame


async def keep_invoking(sock: HubSocket, stop: asyncio.Event) -> int:
    count = 0
    while not stop.is_set() or count < 10:
        assert (await sock.invoke("Add", count, 1)).result == count + 1
        count += 1
    return count


@pytest.mark.parametrize(
    ("bad_protocol", "bad_data"), [("json", b"null" + RS), ("messagepack", mp_frame(b"\x91\xa3foo"))]
)
async def test_bad_message_does_not_affect_parallel_connection(
    client: Client, bad_protocol: str, bad_data: bytes
) -> None:
    good_json = await client.connect("test", "json")
    good_mp = await client.connect("test", "messagepack")
    bad = await client.connect("test", bad_protocol)
    stop = asyncio.Event()
    workers = [asyncio.ensure_future(keep_invoking(s, stop)) for s in (good_json, good_mp)]

    async def break_it() -> None:
        try:
            await bad.send(bad_data)
            close = await bad.recv_close_message()
            assert close.error == "Connection closed with an error."
            await bad.expect_closed()
        finally:
            stop.set()

    await asyncio.wait_for(break_it(), 10)
    counts = await asyncio.wait_for(asyncio.gather(*workers), 10)
    assert all(n >= 10 for n in counts)
    # Both still work afterwards.
    assert (await good_json.invoke("Echo", "after")).result == "after"
    assert (await good_mp.invoke("Echo", "after")).result == "after"


async def test_many_connections_in_parallel(client: Client) -> None:
    socks = await asyncio.gather(*(client.connect("test", p) for p in ["json", "messagepack"] * 10))
    ids = await asyncio.gather(*(s.invoke("GetConnectionId") for s in socks))
    assert len({m.result for m in ids}) == len(socks), "connection ids must be unique"
    replies = await asyncio.gather(*(s.invoke("Add", i, i) for i, s in enumerate(socks)))
    assert [m.result for m in replies] == [2 * i for i in range(len(socks))]


async def test_timeout_on_one_hub_does_not_affect_another(client: Client) -> None:
    fast = await client.connect("fast", "json")
    other = await client.connect("test", "json")
    await fast.send_text(b'{"type":6}' + RS)  # arm the 1 s client timeout, then stay silent
    close = await fast.recv_close_message(within=5)
    assert close.allow_reconnect
    assert (await other.invoke("Echo", "fine")).result == "fine"
