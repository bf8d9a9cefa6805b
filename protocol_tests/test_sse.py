"""Server-Sent Events (wire-protocol.md "SERVER-SENT EVENTS" and "POST"):
the response head, the ``:\\r\\n`` preamble, the handshake by POST, the event
format, messages never split across events, MessagePack refused, one stream
per connection, and the end of the stream when the server closes."""

from __future__ import annotations

import json

from .client import RS, Client, json_frame, json_invocation, parse_messages, poll

HANDSHAKE_OK = b"{}" + RS
SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache,no-store",
    "Pragma": "no-cache",
    "Content-Encoding": "identity",
}
MESSAGEPACK_REFUSED = (
    "Cannot use the 'messagepack' protocol on the current transport. "
    "The transport does not support 'Binary' transfer format."
)


async def _token(client: Client, hub: str = "test") -> str:
    neg = await client.negotiate(hub)
    assert neg.status == 200, neg.text
    token: str = neg.body["connectionToken"]
    return token


async def test_response_head_and_preamble(client: Client) -> None:
    stream = await client.open_sse("test", await _token(client))
    assert stream.status == 200
    for name, value in SSE_HEADERS.items():
        assert stream.response_headers.get(name) == value, (name, dict(stream.response_headers))
    # Written and flushed at once, before any handshake (clients' start waits for it).
    assert await stream.read_exactly(3) == b":\r\n"


async def test_handshake_by_post_and_reply_event(client: Client) -> None:
    stream = await client.open_sse("test", await _token(client))
    await stream.expect_preamble()
    posted = await stream.post(json_frame({"protocol": "json", "version": 1}))
    assert posted.status == 200
    assert posted.content_type is not None and posted.content_type.startswith("text/plain")
    assert posted.body == b""
    event = await stream.recv_event()
    assert event.raw == b"data: {}\x1e\r\n\r\n"


async def test_event_format(client: Client) -> None:
    """One ``data: <line>\\r\\n`` per line, then a blank line."""
    stream = await client.sse_connect("test")
    await stream.send(json_invocation("Echo", ["x"], "1"))
    event = await stream.recv_event()
    assert event.raw == b'data: {"type":3,"invocationId":"1","result":"x"}\x1e\r\n\r\n'


async def test_round_trips_and_server_invocation(client: Client) -> None:
    stream = await client.sse_connect("test")
    for i in range(5):
        assert (await stream.invoke("Add", i, 1)).result == i + 1
    await stream.send(json_invocation("InvokeCaller", ["Hello", ["sse", 1]], "9"))
    invocation = await stream.recv()
    assert invocation.raw == b'{"type":1,"target":"Hello","arguments":["sse",1]}' + RS
    completion = await stream.recv()
    assert completion.raw == b'{"type":3,"invocationId":"9","result":null}' + RS


async def test_burst_never_splits_a_message_across_events(client: Client) -> None:
    """A stream of 50 items and 20 large Completions (more than one event's
    worth of bytes): every event holds whole messages only."""
    stream = await client.sse_connect("test")
    big = "b" * 4000
    body = json_frame({"type": 4, "invocationId": "s", "target": "Counter", "arguments": [50, 0]})
    body += b"".join(json_invocation("Echo", [f"{i}:{big}"], f"e{i}") for i in range(20))
    await stream.send(body)

    events = []
    records = []
    done: set[str] = set()
    while len(done) < 21:
        event = await stream.recv_event()
        events.append(event)
        # Raises if the event's data ends inside a message.
        for message in parse_messages(event.data, "json", frame="event"):
            assert message.value is not None, message.raw
            records.append(message.value)
            if message.type == 3:
                done.add(message.invocation_id or "")
    assert all(b"\n" not in e.data for e in events)
    # The same records when the data of all events is joined and cut at 0x1E.
    joined = b"".join(e.data for e in events)
    assert joined.endswith(RS)
    assert [json.loads(r) for r in joined.split(RS)[:-1]] == records
    items = [r["item"] for r in records if r["type"] == 2]
    assert items == list(range(50))
    echoes = sorted(r["result"] for r in records if r["type"] == 3 and r["invocationId"] != "s")
    assert echoes == sorted(f"{i}:{big}" for i in range(20))


async def test_messagepack_is_refused_and_the_stream_ends(client: Client) -> None:
    stream = await client.open_sse("test", await _token(client))
    await stream.expect_preamble()
    posted = await stream.post(json_frame({"protocol": "messagepack", "version": 1}))
    assert posted.status == 200
    event = await stream.recv_event()
    assert event.raw == b"data: " + json_frame({"error": MESSAGEPACK_REFUSED}) + b"\r\n\r\n"
    assert await stream.recv_until_end() == []


async def test_second_event_stream_for_the_same_connection_is_409(client: Client) -> None:
    token = await _token(client)
    first = await client.open_sse("test", token)
    await first.expect_preamble()
    second = await client.open_sse("test", token)
    assert second.status == 409
    # The first stream is unaffected.
    reply = await first.handshake("json")
    assert reply.raw == HANDSHAKE_OK
    assert (await first.invoke("Echo", "still")).result == "still"


async def test_server_abort_ends_the_stream_after_the_close_message(client: Client) -> None:
    stream = await client.sse_connect("test")
    await stream.send(json_invocation("Abort", [], "1"))
    events = await stream.recv_until_end()
    raws = [m.raw for e in events for m in parse_messages(e.data, "json", frame="event") if not m.is_ping]
    assert raws[-1:] == [b'{"type":7}' + RS], raws
    assert raws[:-1] in ([], [b'{"type":3,"invocationId":"1","result":null}' + RS]), raws
    assert stream.ended


async def test_client_close_message_ends_the_stream(client: Client) -> None:
    stream = await client.sse_connect("test")
    await stream.send(json_frame({"type": 7}))
    events = await stream.recv_until_end()
    raws = [m.raw for e in events for m in parse_messages(e.data, "json", frame="event") if not m.is_ping]
    assert raws == [b'{"type":7}' + RS]


async def test_negotiate_v0_then_event_stream_with_the_connection_id(client: Client) -> None:
    neg = await client.negotiate("test", None)
    assert neg.status == 200
    assert "connectionToken" not in neg.body
    stream = await client.open_sse("test", neg.body["connectionId"])
    assert stream.status == 200
    await stream.expect_preamble()
    assert (await stream.handshake("json")).raw == HANDSHAKE_OK
    assert (await stream.invoke("GetConnectionId")).result == neg.body["connectionId"]


async def test_a_client_that_drops_the_stream_is_noticed(client: Client) -> None:
    """Nothing is read from an SSE response, so the server must notice the
    closed socket by itself; the connection is then gone (POST → 404)."""
    stream = await client.sse_connect("test")
    await stream.close()

    async def probe() -> int:
        data = json_invocation("VoidMethod", [])  # non-blocking: never answered
        return (await client.request("POST", "test", stream.connection_id, data=data)).status

    status = await poll(probe, lambda s: s != 200, within=5.0, interval=0.1)
    assert status == 404
