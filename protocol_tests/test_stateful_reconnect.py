"""Stateful reconnect on the wire (HubProtocol.md "Stateful reconnect";
``/hubs/stateful`` allows it, ``/hubs/test`` does not).

Messages of types 1-5 are numbered from 1 per direction; receivers Ack
what arrived; after a dropped WebSocket the client reopens the socket with
the same id (no negotiate, no handshake) and both sides send a Sequence
followed by what the other may have missed.
"""

from __future__ import annotations

import asyncio

from .client import RS, Client, json_frame

SEQUENCE_TOO_HIGH = "Sequence ID greater than amount of messages we've received."


async def _stateful(client: Client) -> tuple[str, object]:
    neg = await client.negotiate("stateful", "1", extra_query={"useStatefulReconnect": "true"})
    assert neg.status == 200
    token = neg.body["connectionToken"]
    sock = await client.open("stateful", token)
    reply = await sock.handshake("json", 2)
    assert reply.raw == b"{}" + RS
    return token, sock


async def test_negotiate_offers_it_only_where_allowed_and_asked(client: Client) -> None:
    allowed = await client.negotiate("stateful", "1", extra_query={"useStatefulReconnect": "true"})
    assert allowed.keys[0] == "useStatefulReconnect" and allowed.body["useStatefulReconnect"] is True
    not_asked = await client.negotiate("stateful", "1")
    assert "useStatefulReconnect" not in not_asked.body
    not_allowed = await client.negotiate("test", "1", extra_query={"useStatefulReconnect": "true"})
    assert "useStatefulReconnect" not in not_allowed.body


async def test_server_acks_what_it_received(client: Client) -> None:
    _, sock = await _stateful(client)
    reply = await sock.invoke("Echo", "one")  # numbered message 1 from the client
    assert reply.result == "one"
    # The server acknowledges on its ~1 s timer; wait for it with a deadline.
    while True:
        message = await sock.recv(within=5)
        if message.type == 8:
            assert message.value["sequenceId"] == 1
            break


async def test_reconnect_replays_unacknowledged_messages_and_drops_duplicates(client: Client) -> None:
    token, sock = await _stateful(client)
    first = await sock.invoke("Echo", "a")  # client message 1, server Completion 1
    assert first.result == "a"
    await sock.close()  # an ungraceful drop: no Close message was sent
    # Reopen the same logical connection: no negotiate, no handshake.
    again = None
    for _ in range(50):  # the server may still be noticing the drop; retry with a bound
        try:
            again = await client.open("stateful", token)
            break
        except Exception:  # noqa: BLE001 - refused while the old socket is still attached
            await asyncio.sleep(0.05)
    assert again is not None, "could not reconnect"
    # The server starts with a Sequence naming the first message it resends (1:
    # nothing was acknowledged), then resends Completion 1.
    sequence = await again.recv(within=5)
    assert sequence.raw == json_frame({"type": 9, "sequenceId": 1})
    replayed = await again.recv(within=5)
    assert replayed.type == 3 and replayed.result == "a"
    # We resend our message 1 as a duplicate: the server drops it (no second
    # Completion), then processes message 2.
    await again.send(json_frame({"type": 9, "sequenceId": 1}))
    await again.send(json_frame({"type": 1, "invocationId": "1", "target": "Echo", "arguments": ["a"]}))
    await again.send(json_frame({"type": 1, "invocationId": "2", "target": "Echo", "arguments": ["b"]}))
    reply = await again.recv(within=5)
    while reply.type == 8:  # acks may interleave
        reply = await again.recv(within=5)
    assert reply.invocation_id == "2" and reply.result == "b"


async def test_sequence_above_what_was_received_is_fatal(client: Client) -> None:
    _, sock = await _stateful(client)
    await sock.send(json_frame({"type": 9, "sequenceId": 5}))
    close = await sock.recv_close_message()
    assert close.error == "Connection closed with an error."


async def test_version_1_handshake_disables_it(client: Client) -> None:
    neg = await client.negotiate("stateful", "1", extra_query={"useStatefulReconnect": "true"})
    token = neg.body["connectionToken"]
    sock = await client.open("stateful", token)
    assert (await sock.handshake("json", 1)).raw == b"{}" + RS
    assert (await sock.invoke("Echo", "x")).result == "x"
    # No Ack ever comes without stateful reconnect, and a dropped socket ends the connection.
    messages = await sock.collect_for(1.3)
    assert [m for m in messages if m.type == 8] == []
    await sock.close()
    for _ in range(100):
        status = await client.upgrade_status("stateful", token)
        if status == 404:
            break
        await asyncio.sleep(0.05)
    assert status == 404
