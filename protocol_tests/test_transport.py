"""WebSocket transport rules (wire-protocol.md "WEBSOCKETS"): ids, refusals,
frame types, batching and splitting of messages, and closing."""

from __future__ import annotations

import time

from .client import RS, Client, json_frame, json_invocation, mp_frame, mp_invocation, mp_pack, poll

HANDSHAKE_OK = b"{}" + RS


async def test_skip_negotiation(client: Client) -> None:
    sock = await client.open("test", None)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    completion = await sock.invoke("Echo", "skipped")
    assert completion.result == "skipped"
    # The hub still gets a connection id of its own.
    assert isinstance((await sock.invoke("GetConnectionId")).result, str)


async def test_empty_id_is_like_no_id(client: Client) -> None:
    """.NET treats ``?id=`` like no id on a WebSocket request: a new connection."""
    sock = await client.open("test", "")
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    assert (await sock.invoke("Echo", 1)).result == 1


async def test_unknown_id_is_404_with_text(client: Client) -> None:
    status, body = await client.raw_upgrade("test", "doesnotexist0000000000")
    assert status == 404
    assert body == b"No Connection with that ID"


async def test_second_socket_for_same_token_is_409(client: Client) -> None:
    token = (await client.negotiate()).body["connectionToken"]
    sock = await client.open("test", token)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    assert await client.upgrade_status("test", token) == 409
    # The first socket is unaffected.
    assert (await sock.invoke("Echo", 1)).result == 1


async def test_token_of_a_closed_connection_is_404(client: Client) -> None:
    token = (await client.negotiate()).body["connectionToken"]
    sock = await client.open("test", token)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    await sock.close()
    assert sock.ws.close_code == 1000
    # The server removes the connection once the socket has closed; poll with a deadline.
    status = await poll(lambda: client.upgrade_status("test", token), lambda s: s == 404, within=5)
    assert status == 404


async def test_unused_negotiated_connection_expires(client: Client) -> None:
    """/hubs/fast drops negotiated connections never used for 1 s (.NET: 15 s).

    Probing consumes a connection, so several are negotiated at the same time
    and each probe uses a fresh one: the early ones connect, the later ones
    must be refused with 404 once the disconnect timeout has passed."""
    start = time.monotonic()
    tokens = [(await client.negotiate("fast")).body["connectionToken"] for _ in range(40)]
    assert await client.upgrade_status("fast", tokens.pop()) == 101, "fresh connection refused"

    async def probe() -> int:
        status = await client.upgrade_status("fast", tokens.pop())
        assert status in (101, 404)
        return status

    status = await poll(probe, lambda s: s == 404 or len(tokens) < 2, within=5, interval=0.15)
    elapsed = time.monotonic() - start
    assert status == 404, "negotiated connection was not dropped within 5 s"
    assert elapsed >= 0.9, f"dropped after {elapsed:.2f} s, before the 1 s disconnect timeout"
    # Every other connection negotiated at the same time is gone too.
    assert await client.upgrade_status("fast", tokens.pop()) == 404


async def test_json_replies_in_text_frames(client: Client) -> None:
    sock = await client.open("test", None)
    reply = await sock.handshake("json")
    assert reply.raw == HANDSHAKE_OK
    assert reply.frame == "text"
    completion = await sock.invoke("Echo", "x")
    assert completion.frame == "text"


async def test_messagepack_replies_in_binary_frames(client: Client) -> None:
    sock = await client.open("test", None)
    reply = await sock.handshake("messagepack")
    assert reply.raw == HANDSHAKE_OK
    assert reply.frame == "binary", "the handshake reply of a MessagePack connection must be binary"
    completion = await sock.invoke("Echo", "x")
    assert completion.frame == "binary"
    assert completion.result == "x"


async def test_json_sent_in_binary_frames_is_parsed(client: Client) -> None:
    """The Java client sends JSON in binary frames: parse by protocol, not frame type."""
    sock = await client.open("test", None)
    reply = await sock.handshake("json", binary=True)
    assert reply.raw == HANDSHAKE_OK
    await sock.send_binary(json_invocation("Echo", ["bin"], "1"))
    completion = await sock.recv()
    assert completion.raw == b'{"type":3,"invocationId":"1","result":"bin"}' + RS
    assert completion.frame == "text"


async def test_messagepack_handshake_sent_as_text(client: Client) -> None:
    """The JS client sends the MessagePack handshake in a text frame."""
    sock = await client.open("test", None)
    reply = await sock.handshake("messagepack", binary=False)
    assert reply.raw == HANDSHAKE_OK
    assert reply.frame == "binary"
    await sock.send_binary(mp_invocation("Echo", [7], "1"))
    completion = await sock.recv()
    assert completion.raw == mp_frame(bytes.fromhex("95 03 80 a1 31 03 07"))


async def test_several_json_messages_in_one_frame(client: Client) -> None:
    sock = await client.connect("test", "json")
    frame = b"".join(json_invocation("Echo", [i], str(i)) for i in range(1, 4))
    await sock.send_text(frame)
    for i in range(1, 4):
        completion = await sock.recv()
        assert completion.raw == f'{{"type":3,"invocationId":"{i}","result":{i}}}'.encode() + RS


async def test_several_messagepack_messages_in_one_frame(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    frame = b"".join(mp_invocation("Echo", [i], str(i)) for i in range(1, 4))
    await sock.send_binary(frame)
    for i in range(1, 4):
        completion = await sock.recv()
        assert completion.value == [3, {}, str(i), 3, i]


async def test_json_message_split_across_frames(client: Client) -> None:
    sock = await client.connect("test", "json")
    data = json_invocation("Echo", ["split"], "1")
    await sock.send_text(data[:20])
    await sock.send_text(data[20:])
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1","result":"split"}' + RS


async def test_messagepack_message_split_across_frames(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    data = mp_invocation("Echo", ["s" * 200], "1")  # a two-byte length prefix
    assert data[0] & 0x80
    # Split inside the length prefix, then inside the body.
    await sock.send_binary(data[:1])
    await sock.send_binary(data[1:50])
    await sock.send_binary(data[50:])
    assert (await sock.recv()).value == [3, {}, "1", 3, "s" * 200]


async def test_handshake_split_across_frames(client: Client) -> None:
    sock = await client.open("test", None)
    sock.requested = "json"
    await sock.send_text('{"protocol":"json",')
    await sock.send_text('"version":1}\x1e')
    assert (await sock.recv_handshake()).raw == HANDSHAKE_OK


async def test_handshake_and_messages_in_one_frame_json(client: Client) -> None:
    sock = await client.open("test", None)
    sock.requested = "json"
    await sock.send_text(
        json_frame({"protocol": "json", "version": 1})
        + json_invocation("Echo", ["a"], "1")
        + json_invocation("Echo", ["b"], "2")
    )
    assert (await sock.recv_handshake()).raw == HANDSHAKE_OK
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1","result":"a"}' + RS
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"2","result":"b"}' + RS


async def test_handshake_and_messages_in_one_frame_messagepack(client: Client) -> None:
    sock = await client.open("test", None)
    sock.requested = "messagepack"
    await sock.send_binary(
        json_frame({"protocol": "messagepack", "version": 1}) + mp_invocation("Echo", [5], "1")
    )
    assert (await sock.recv_handshake()).raw == HANDSHAKE_OK
    assert (await sock.recv()).raw == mp_frame(bytes.fromhex("95 03 80 a1 31 03 05"))


async def test_client_close_frame_is_answered_with_1000(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.ws.close(code=1000)
    assert sock.ws.close_code == 1000


async def test_client_close_frame_before_handshake_is_answered_with_1000(client: Client) -> None:
    sock = await client.open("test", None)
    await sock.ws.close(code=1000)
    assert sock.ws.close_code == 1000


async def test_close_message_json(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(json_frame({"type": 7}))
    messages, code = await sock.recv_until_close()
    assert [m.raw for m in messages if not m.is_ping] == [b'{"type":7}' + RS]
    assert code == 1000


async def test_close_message_messagepack(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_frame(mp_pack([7, None])))  # the JS client's 2-element Close
    messages, code = await sock.recv_until_close()
    assert [m.raw for m in messages if not m.is_ping] == [bytes.fromhex("04 93 07 c0 c2")]
    assert code == 1000


async def test_socket_is_usable_for_many_round_trips(client: Client) -> None:
    sock = await client.connect("test", "json")
    for i in range(20):
        assert (await sock.invoke("Add", i, i)).result == 2 * i


async def test_abrupt_client_disconnect_does_not_hurt_others(client: Client) -> None:
    other = await client.connect("test", "json")
    # A raw upgrade that is answered 101 and then dropped without a close frame.
    status, _ = await client.raw_upgrade("test", None)
    assert status == 101
    assert (await other.invoke("Echo", "still here")).result == "still here"


async def test_hub_abort_sends_close_without_error_and_reconnect(client: Client) -> None:
    """``Context.Abort()``: Close with no error and allowReconnect false, then 1000."""
    sock = await client.connect("test", "json")
    await sock.send(json_invocation("Abort", [], "1"))
    messages, code = await sock.recv_until_close()
    raws = [m.raw for m in messages if not m.is_ping]
    assert raws[-1:] == [b'{"type":7}' + RS], raws
    # The aborting invocation's own Completion may or may not make it out first.
    assert raws[:-1] in ([], [b'{"type":3,"invocationId":"1","result":null}' + RS]), raws
    assert code == 1000
