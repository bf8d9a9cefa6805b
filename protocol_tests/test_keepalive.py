"""Keep-alive and client timeout on /hubs/fast (KeepAliveInterval 0.3 s,
ClientTimeoutInterval 1 s; .NET defaults 15 s / 30 s)."""

from __future__ import annotations

import time

import pytest

from .client import RS, Client, json_frame

CLIENT_TIMEOUT = "Client hasn't sent a message/ping within the configured ClientTimeoutInterval."


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_server_pings_when_idle(client: Client, protocol: str) -> None:
    sock = await client.connect("fast", protocol)
    messages = await sock.collect_for(1.5)
    pings = [m for m in messages if m.is_ping]
    assert messages == pings, "only pings are expected on an idle connection"
    # About one every 0.3 s here; servers that check keep-alive on a coarser tick
    # (.NET: once a second) still ping within 1.5 s. Never a flood.
    assert 1 <= len(pings) <= 8, f"{len(pings)} pings in 1.5 s"


async def test_no_ping_while_other_messages_flow(client: Client) -> None:
    """A Ping is only sent when nothing else was sent for the keep-alive interval."""
    sock = await client.connect("fast", "json")
    start = time.monotonic()
    received = []
    # Keep the server writing every ~0.1 s for 1.2 s: Completions reset the keep-alive timer.
    while time.monotonic() - start < 1.2:
        await sock.send(sock.invocation("Echo", 1, invocation_id="x"))
        received.append(await sock.recv(ignore_pings=False))
        received.extend(await sock.collect_for(0.1))  # a deadline-bounded read
    assert [m.raw for m in received if m.is_ping] == []


async def test_client_that_stops_pinging_is_timed_out(client: Client) -> None:
    sock = await client.connect("fast", "json")
    await sock.send_text(json_frame({"type": 6}))  # arms the client timeout
    sent = time.monotonic()
    close = await sock.recv_close_message(within=5)  # pings are read (and skipped) meanwhile
    elapsed = time.monotonic() - sent
    assert close.raw == (
        b'{"type":7,"error":"Client hasn\'t sent a message/ping within the configured '
        b'ClientTimeoutInterval.","allowReconnect":true}' + RS
    )
    assert close.allow_reconnect
    assert elapsed >= 0.9, f"timed out after {elapsed:.2f} s, before the 1 s ClientTimeoutInterval"
    await sock.expect_closed()


async def test_client_timeout_messagepack(client: Client) -> None:
    sock = await client.connect("fast", "messagepack")
    await sock.send_binary(bytes.fromhex("02 91 06"))
    close = await sock.recv_close_message(within=5)
    assert close.value == [7, CLIENT_TIMEOUT, True]
    await sock.expect_closed()


async def test_messages_keep_the_client_alive(client: Client) -> None:
    """Any message, not only a Ping, counts as client activity."""
    sock = await client.connect("fast", "json")
    await sock.send_text(json_frame({"type": 6}))
    start = time.monotonic()
    while time.monotonic() - start < 2.0:
        assert (await sock.invoke("Echo", "alive")).result == "alive"
        await sock.collect_for(0.25)
    assert (await sock.invoke("Echo", "still")).result == "still"


async def test_client_that_never_pings_is_not_timed_out(client: Client) -> None:
    """The client timeout is armed by the first Ping (@aspnet/signalr 1.0 never pings)."""
    sock = await client.connect("fast", "json")
    messages = await sock.collect_for(2.2)  # raises SocketClosed if the server closes
    assert messages and all(m.is_ping for m in messages)
    assert (await sock.invoke("Echo", "alive")).result == "alive"
