"""Long polling (wire-protocol.md "LONG POLLING" and "POST"): the immediate
first poll, the handshake reply on the next poll, the poll timeout
(``/hubs/lpfast``: 0.5 s), a newer poll ending the older one, DELETE, the end
of a connection (204), MessagePack bodies, the first poll's request context,
and a client that stops polling (``/hubs/lpfast``: dropped after 1 s)."""

from __future__ import annotations

import asyncio
import time

from .client import (
    RS,
    Client,
    LongPollingConnection,
    TransportEnded,
    json_frame,
    json_invocation,
    mp_frame,
    mp_invocation,
    parse_messages,
    poll,
)

HANDSHAKE_OK = b"{}" + RS
OCTET_STREAM = "application/octet-stream"


async def _negotiated(client: Client, hub: str = "test") -> LongPollingConnection:
    neg = await client.negotiate(hub)
    assert neg.status == 200, neg.text
    return client.long_polling(hub, neg.body["connectionToken"])


async def test_first_poll_returns_at_once_with_an_empty_200(client: Client) -> None:
    """On /hubs/test the poll timeout is 90 s: only an immediate answer passes."""
    conn = await _negotiated(client)
    first = await conn.poll(within=2.0)
    assert first.status == 200
    assert first.headers.get("Content-Length") == "0"
    assert first.body == b""
    assert first.content_type == OCTET_STREAM


async def test_handshake_reply_arrives_on_the_next_poll(client: Client) -> None:
    conn = await _negotiated(client)
    assert (await conn.poll()).status == 200
    posted = await conn.post(json_frame({"protocol": "json", "version": 1}))
    assert posted.status == 200
    assert posted.content_type is not None and posted.content_type.startswith("text/plain")
    assert posted.body == b""
    reply = await conn.poll()
    assert reply.status == 200
    assert reply.content_type == OCTET_STREAM
    assert reply.body == HANDSHAKE_OK


async def test_round_trips(client: Client) -> None:
    conn = await client.lp_connect("test")
    await conn.send(json_invocation("Echo", ["lp"], "1"))
    result = await conn.poll()
    assert (result.status, result.body) == (200, b'{"type":3,"invocationId":"1","result":"lp"}' + RS)
    for i in range(5):
        assert (await conn.invoke("Add", i, 2)).result == i + 2


async def test_a_message_split_across_posts(client: Client) -> None:
    conn = await client.lp_connect("test")
    data = json_invocation("Echo", ["split"], "1")
    await conn.send(data[:10])
    await conn.send(data[10:])
    assert (await conn.recv()).raw == b'{"type":3,"invocationId":"1","result":"split"}' + RS


async def test_idle_poll_returns_an_empty_200_after_the_poll_timeout(client: Client) -> None:
    conn = await client.lp_connect("lpfast")
    result = await conn.poll(within=5.0)
    assert (result.status, result.body) == (200, b"")
    assert 0.3 <= result.elapsed <= 5.0, result.elapsed
    # The connection lives on.
    assert (await conn.invoke("Echo", "after timeout")).result == "after timeout"


async def test_a_newer_poll_ends_the_older_one_with_204(client: Client) -> None:
    """Whichever poll reaches the server second is the newer one: the other
    ends with an empty 204 and the newer one stays pending until data comes."""
    conn = await client.lp_connect("test")
    first = asyncio.create_task(conn.poll(within=8.0))
    second = asyncio.create_task(conn.poll(within=8.0))
    done, waiting = await asyncio.wait({first, second}, timeout=5.0, return_when=asyncio.FIRST_COMPLETED)
    assert len(done) == 1, "exactly one poll must end when the other arrives"
    ended = done.pop().result()
    assert (ended.status, ended.body) == (204, b"")
    pending = waiting.pop()
    await conn.send(json_invocation("Echo", ["to the newer poll"], "1"))
    newer = await asyncio.wait_for(pending, 5.0)
    assert newer.status == 200
    assert newer.body == b'{"type":3,"invocationId":"1","result":"to the newer poll"}' + RS


async def test_delete_ends_the_pending_poll_with_204(client: Client) -> None:
    conn = await client.lp_connect("test")
    pending = await conn.pending_poll(within=8.0)
    deleted = await conn.delete()
    assert deleted.status == 202
    ended = await asyncio.wait_for(pending, 5.0)
    assert (ended.status, ended.body) == (204, b"")
    # DELETE disposes of the connection and removes it (as in .NET): it is unknown from now on.
    later = await conn.poll()
    assert later.status == 404
    posted = await conn.post(json_invocation("Echo", [1], "1"))
    assert (posted.status, posted.text) == (404, "No Connection with that ID")


async def test_connection_closed_by_the_server_answers_204(client: Client) -> None:
    """The poll after the Close message: "connection gone -> 204"."""
    conn = await client.lp_connect("test")
    await conn.send(json_invocation("Abort", [], "1"))
    raws = []
    try:
        while True:
            raws.append((await conn.recv()).raw)
    except TransportEnded:
        pass
    assert raws[-1:] == [b'{"type":7}' + RS], raws
    assert raws[:-1] in ([], [b'{"type":3,"invocationId":"1","result":null}' + RS]), raws


async def test_client_close_message_ends_the_connection(client: Client) -> None:
    conn = await client.lp_connect("test")
    await conn.send(json_frame({"type": 7}))
    assert (await conn.recv()).raw == b'{"type":7}' + RS
    ended = await conn.poll()
    assert (ended.status, ended.body) == (204, b"")


async def test_delete_on_websocket_and_sse_connections_is_400(client: Client) -> None:
    text = "Cannot terminate this connection using the DELETE endpoint."
    neg = await client.negotiate("test")
    sock = await client.open("test", neg.body["connectionToken"])
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    result = await client.request("DELETE", "test", neg.body["connectionToken"])
    assert (result.status, result.text) == (400, text)
    assert (await sock.invoke("Echo", 1)).result == 1

    stream = await client.sse_connect("test")
    result = await client.request("DELETE", "test", stream.connection_id)
    assert (result.status, result.text) == (400, text)
    assert (await stream.invoke("Echo", 2)).result == 2


async def test_burst_never_splits_a_message_across_poll_bodies(client: Client) -> None:
    conn = await client.lp_connect("test")
    big = "p" * 4000
    body = json_frame({"type": 4, "invocationId": "s", "target": "Counter", "arguments": [50, 0]})
    body += b"".join(json_invocation("Echo", [f"{i}:{big}"], f"e{i}") for i in range(20))
    await conn.send(body)
    records = []
    done: set[str] = set()
    deadline = time.monotonic() + 5.0
    while len(done) < 21:
        result = await conn.poll(within=max(deadline - time.monotonic(), 0.01))
        assert result.status == 200, result.status
        for message in parse_messages(result.body, "json", frame="poll"):  # raises if split
            assert message.value is not None, message.raw
            records.append(message.value)
            if message.type == 3:
                done.add(message.invocation_id or "")
    assert [r["item"] for r in records if r["type"] == 2] == list(range(50))
    assert len([r for r in records if r["type"] == 3]) == 21


async def test_messagepack_bodies(client: Client) -> None:
    conn = await _negotiated(client)
    assert (await conn.poll()).status == 200
    posted = await conn.post(json_frame({"protocol": "messagepack", "version": 1}))
    assert posted.status == 200
    conn.protocol = "messagepack"
    reply = await conn.poll()
    assert (reply.status, reply.content_type, reply.body) == (200, OCTET_STREAM, HANDSHAKE_OK)
    await conn.send(mp_invocation("Echo", [7], "1"))
    result = await conn.poll()
    assert (result.status, result.body) == (200, mp_frame(bytes.fromhex("95 03 80 a1 31 03 07")))
    await conn.send(mp_invocation("Echo", [b"\x00\x01\xff"], "2"))
    result = await conn.poll()
    assert result.body == mp_frame(bytes.fromhex("95 03 80 a1 32 03 c4 03 00 01 ff"))
    await conn.send(mp_invocation("VoidMethod", [], "3"))
    result = await conn.poll()
    assert result.body == bytes.fromhex("07 95 03 80 a1 33 03 c0")


async def test_request_context_is_the_first_polls(client: Client) -> None:
    """The connection's request (here: the ``user`` query the conformance
    server's user-id provider reads) is the first poll's, not a later one's."""
    neg = await client.negotiate("test")
    token = neg.body["connectionToken"]
    first = client.long_polling("test", token, extra_query={"user": "first-poll"})
    assert (await first.poll()).status == 200
    later = client.long_polling("test", token, extra_query={"user": "later"})
    assert (await later.handshake("json")).raw == HANDSHAKE_OK
    assert (await later.invoke("GetUserIdentifier")).result == "first-poll"


async def test_hub_sees_the_long_polling_transport(client: Client) -> None:
    conn = await client.lp_connect("auth", headers={"Authorization": "Bearer user:alice"})
    whoami = (await conn.invoke("Whoami")).result
    assert whoami["transport"] == "LongPolling"
    assert whoami["identifier"] == "alice"


async def test_client_that_stops_polling_is_dropped(client: Client) -> None:
    """/hubs/lpfast drops a connection 1 s after its last poll ended. The
    probe (an SSE GET: 400 while the connection exists, 404 once it is gone)
    does not count as activity, unlike a poll or a POST."""
    conn = await client.lp_connect("lpfast")
    last_poll_end = time.monotonic()

    async def probe() -> int:
        return (await client.open_sse("lpfast", conn.connection_id)).status

    status = await poll(probe, lambda s: s != 400, within=5.0, interval=0.1)
    elapsed = time.monotonic() - last_poll_end
    assert status == 404, "the connection was not dropped within 5 s"
    assert elapsed >= 0.9, f"dropped after {elapsed:.2f} s, before the 1 s disconnect timeout"
    posted = await conn.post(json_invocation("Echo", [1], "1"))
    assert (posted.status, posted.text) == (404, "No Connection with that ID")


async def test_no_pings_and_no_client_timeout(client: Client) -> None:
    """Long polling is its own keep-alive: on /hubs/fast (keep-alive 0.3 s,
    client timeout 1 s) a long-polling client gets no Ping and, although it
    sent a Ping and then stayed silent for longer than the client timeout, is
    not closed."""
    conn = await client.lp_connect("fast")
    await conn.send(json_frame({"type": 6}))  # arms the client timeout on other transports
    # Two polls: the server keeps the newer one pending (the older ends with 204);
    # a Ping or a timeout Close would end it within the 2 s it may wait.
    pending = await conn.pending_poll(within=2.0)
    done, _ = await asyncio.wait({pending}, timeout=1.8)
    assert not done, f"nothing may be sent on an idle long-polling connection: {pending.result()!r}"
    await conn.send(json_invocation("Echo", ["still open"], "1"))
    reply = await asyncio.wait_for(pending, 5.0)
    assert reply.status == 200
    assert reply.body == b'{"type":3,"invocationId":"1","result":"still open"}' + RS
