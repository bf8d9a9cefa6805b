"""What the server must accept (protocol-vectors.md §2, §2c, §3, §3b): every
client-sendable vector, in the shapes the official clients really send.

The reference vectors name targets ("Target", "Method", "method") that the
conformance hub does not have. Sending them must not break the connection:
an invocation with an id gets the "Method does not exist." Completion, and
everything else (no id, stream items, completions, cancels, acks, sequences)
gets no reply. Each test proves "no reply" by invoking ``Echo`` afterwards:
its Completion must be the next message received.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest

from .client import RS, Client, HubSocket, json_frame, json_invocation, mp_frame, mp_invocation, mp_pack
from .vectors import JSON_ROUND_TRIP, MP_ROUND_TRIP

PROBE_ID = "probe"


def method_missing(target: str) -> str:
    return f"Failed to invoke '{target}' due to an error on the server. HubException: Method does not exist."


async def replies_before_probe(sock: HubSocket) -> list[Any]:
    """Invoke Echo and return the decoded messages that arrive before its Completion."""
    await sock.send(sock.invocation("Echo", "probe", invocation_id=PROBE_ID))
    before: list[Any] = []
    while True:
        msg = await sock.recv()
        if msg.type == 3 and msg.invocation_id == PROBE_ID:
            assert msg.result == "probe"
            return before
        before.append(msg.value)


# ------------------------------------------------------------------ JSON

JSON_CLIENT_ROWS = [(name, text) for name, text in JSON_ROUND_TRIP if not text.startswith('{"type":7')]
JSON_CLOSE_ROWS = [(name, text) for name, text in JSON_ROUND_TRIP if text.startswith('{"type":7')]


def expected_json_replies(text: str) -> list[Any]:
    doc = json.loads(text)
    if doc["type"] in (1, 4) and "invocationId" in doc:
        return [{"type": 3, "invocationId": doc["invocationId"], "error": method_missing(doc["target"])}]
    return []


@pytest.mark.parametrize(("name", "text"), JSON_CLIENT_ROWS, ids=[n for n, _ in JSON_CLIENT_ROWS])
async def test_json_round_trip_vector_is_accepted(client: Client, name: str, text: str) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(text.encode() + RS)
    assert await replies_before_probe(sock) == expected_json_replies(text)


@pytest.mark.parametrize(("name", "text"), JSON_CLOSE_ROWS, ids=[n for n, _ in JSON_CLOSE_ROWS])
async def test_json_close_vector_closes(client: Client, name: str, text: str) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(text.encode() + RS)
    messages, code = await sock.recv_until_close()
    assert [m.raw for m in messages if not m.is_ping] == [b'{"type":7}' + RS]
    assert code == 1000


async def test_json_missing_invocation_id_gets_error_reply_with_exact_bytes(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(JSON_ROUND_TRIP[0][1].encode() + RS)
    reply = await sock.recv()
    assert reply.raw == (
        b'{"type":3,"invocationId":"123","error":"Failed to invoke \'Target\' due to an error on the server. '
        b'HubException: Method does not exist."}' + RS
    )


# §2c: property order is free; the JS client sends "type" last.
OUT_OF_ORDER = [
    (
        '{"target":"Echo","arguments":["hi"],"invocationId":"0","type":1}',
        '{"type":3,"invocationId":"0","result":"hi"}',
    ),
    (
        '{ "arguments": [1,2], "type":1, "target": "Add", "invocationId": "7" }',
        '{"type":3,"invocationId":"7","result":3}',
    ),
    (
        '{"invocationId":"8","arguments":["x"],"target":"EchoString","type":1}',
        '{"type":3,"invocationId":"8","result":"x"}',
    ),
    (
        '{ "type":1, "arguments": [3,4], "invocationId": "9", "target": "Add" }',
        '{"type":3,"invocationId":"9","result":7}',
    ),
]


@pytest.mark.parametrize(("text", "reply"), OUT_OF_ORDER)
async def test_json_out_of_order_properties(client: Client, text: str, reply: str) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(text.encode() + RS)
    assert (await sock.recv()).raw == reply.encode() + RS


# The literal §2c rows (their targets do not exist on the hub).
OUT_OF_ORDER_VECTORS = [
    '{ "arguments": ["2016-05-10T13:51:20+12:34"], "type":1, "target": "Method" }',
    '{ "arguments": [1,2], "type":1, "target": "Method" }',
    '{ "type":4, "arguments": [1,2], "target": "Method", "invocationId": "3" }',
    '{ "type":3, "result": 10, "invocationId": "15" }',
    '{ "item": "foo", "invocationId": "1a", "type":2 }',
]


@pytest.mark.parametrize("text", OUT_OF_ORDER_VECTORS)
async def test_json_out_of_order_vectors_are_accepted(client: Client, text: str) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(text.encode() + RS)
    expected = []
    if '"type":4' in text:
        expected = [{"type": 3, "invocationId": "3", "error": method_missing("Method")}]
    assert await replies_before_probe(sock) == expected


async def test_json_extra_properties_are_ignored(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(
        b'{"type":1,"invocationId":"42","target":"VoidMethod","arguments":[],"extraParameter":"1"}' + RS
    )
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"42","result":null}' + RS
    # The reference row itself (target "foo" does not exist).
    await sock.send_text(
        b'{"type":1,"invocationId":"43","target":"foo","arguments":[],"extraParameter":"1"}' + RS
    )
    assert (await sock.recv()).value == {"type": 3, "invocationId": "43", "error": method_missing("foo")}


async def test_json_headers_are_accepted(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(
        b'{"type":1,"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works"},'
        b'"invocationId":"1","target":"Echo","arguments":[1]}' + RS
    )
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1","result":1}' + RS


@pytest.mark.parametrize(
    "text", ['{"type":99}', '{"type":99,"invocationId":"1","target":"Echo","arguments":[1]}']
)
async def test_json_unknown_message_type_is_ignored(client: Client, text: str) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(text.encode() + RS)
    assert await replies_before_probe(sock) == []


async def test_json_non_blocking_invocation_gets_no_reply(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(json_invocation("Echo", ["quiet"]))
    await sock.send_text(json_invocation("ThrowHubException", ["quiet"]))  # not even an error
    await sock.send_text(json_invocation("Nope", []))  # nor a binding failure
    await sock.send_text(json_invocation("Add", ["a", "b"]))
    assert await replies_before_probe(sock) == []


async def test_json_empty_invocation_id_is_not_echoed(client: Client) -> None:
    """``"invocationId":""`` is what the .NET writer omits; the server must
    not answer with an empty id (.NET treats it as non-blocking)."""
    sock = await client.connect("test", "json")
    await sock.send_text(b'{"type":1,"invocationId":"","target":"Echo","arguments":[1]}' + RS)
    assert await replies_before_probe(sock) == []


@pytest.mark.parametrize("text", ['{"type":8,"sequenceId":42}', '{"type":9,"sequenceId":146}'])
async def test_json_ack_and_sequence_are_ignored_without_stateful_reconnect(
    client: Client, text: str
) -> None:
    """§2b vectors; stateful reconnect was not negotiated, so there is nothing to acknowledge."""
    sock = await client.connect("test", "json")
    await sock.send_text(text.encode() + RS)
    assert await replies_before_probe(sock) == []


async def test_json_client_ping_is_accepted(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(b'{"type":6}' + RS)
    assert await replies_before_probe(sock) == []


async def test_json_many_messages_in_one_frame_keep_order(client: Client) -> None:
    sock = await client.connect("test", "json")
    batch = (
        json_frame({"type": 6})
        + json_invocation("Echo", ["a"], "1")
        + json_invocation("Echo", ["ignored"])
        + json_invocation("Add", [2, 3], "2")
        + json_frame({"type": 99})
        + json_invocation("Echo", ["c"], "3")
    )
    await sock.send_text(batch)
    assert [(await sock.recv()).value for _ in range(3)] == [
        {"type": 3, "invocationId": "1", "result": "a"},
        {"type": 3, "invocationId": "2", "result": 5},
        {"type": 3, "invocationId": "3", "result": "c"},
    ]


# ----------------------------------------------------------- MessagePack

MP_CLIENT_ROWS = [(name, body) for name, body in MP_ROUND_TRIP if body[1] != 0x07]
MP_CLOSE_ROWS = [(name, body) for name, body in MP_ROUND_TRIP if body[1] == 0x07]


def expected_mp_replies(body: bytes) -> list[Any]:
    value = msgpack.unpackb(body, raw=False, timestamp=3)
    if value[0] in (1, 4) and value[2]:
        return [[3, {}, value[2], 1, method_missing(value[3])]]
    return []


@pytest.mark.parametrize(("name", "body"), MP_CLIENT_ROWS, ids=[n for n, _ in MP_CLIENT_ROWS])
async def test_mp_round_trip_vector_is_accepted(client: Client, name: str, body: bytes) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_frame(body))
    assert await replies_before_probe(sock) == expected_mp_replies(body)


@pytest.mark.parametrize(("name", "body"), MP_CLOSE_ROWS, ids=[n for n, _ in MP_CLOSE_ROWS])
async def test_mp_close_vector_closes(client: Client, name: str, body: bytes) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_frame(body))
    messages, code = await sock.recv_until_close()
    assert [m.raw for m in messages if not m.is_ping] == [bytes.fromhex("04 93 07 c0 c2")]
    assert code == 1000


@pytest.mark.parametrize("body", ["92 07 c0", "93 07 c0 c2", "92 07 a3 78 79 7a", "93 07 a3 78 79 7a c3"])
async def test_mp_two_and_three_element_close(client: Client, body: str) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_frame(bytes.fromhex(body)))
    messages, code = await sock.recv_until_close()
    assert [m.raw for m in messages if not m.is_ping] == [bytes.fromhex("04 93 07 c0 c2")]
    assert code == 1000


async def test_mp_five_element_invocation(client: Client) -> None:
    """JS 10.x, Swift and @aspnet 1.x write invocations without streamIds."""
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_invocation("Echo", [42], "1", stream_ids=None))
    assert (await sock.recv()).raw == mp_frame(bytes.fromhex("95 03 80 a1 31 03 2a"))


async def test_mp_six_element_invocation(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    body = bytes.fromhex("96 01 80 a1 31 a4") + b"Echo" + bytes.fromhex("91 2a 90")
    await sock.send_binary(mp_frame(body))
    assert (await sock.recv()).raw == mp_frame(bytes.fromhex("95 03 80 a1 31 03 2a"))


async def test_mp_extra_trailing_items_are_ignored(client: Client) -> None:
    """§3b: an 8-element Invocation (2 extra items) parses as the first 6."""
    sock = await client.connect("test", "messagepack")
    body = bytes.fromhex("98 01 80 a1 31 a4") + b"Echo" + bytes.fromhex("91 2a 90 c3 a2 65 78")
    await sock.send_binary(mp_frame(body))
    assert (await sock.recv()).raw == mp_frame(bytes.fromhex("95 03 80 a1 31 03 2a"))
    # The reference bytes themselves (target "method" does not exist).
    await sock.send_binary(
        mp_frame(bytes.fromhex("98 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 90 90 c3 a2 65 78"))
    )
    assert (await sock.recv()).value == [3, {}, "xyz", 1, method_missing("method")]


async def test_mp_seven_element_invocation_with_extra_item(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_frame(mp_pack([1, {}, "1", "Add", [2, 3], [], "extra"])))
    assert (await sock.recv()).value == [3, {}, "1", 3, 5]


async def test_mp_headers_are_accepted(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_frame(mp_pack([1, {"x": "y", "z": "z"}, "1", "Echo", [42], []])))
    assert (await sock.recv()).value == [3, {}, "1", 3, 42]


async def test_mp_ping_is_accepted(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(bytes.fromhex("02 91 06"))
    assert await replies_before_probe(sock) == []


@pytest.mark.parametrize("body", ["91 63", "93 63 80 a1 31", "92 0a 01"])
async def test_mp_unknown_message_type_is_ignored(client: Client, body: str) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_frame(bytes.fromhex(body)))
    assert await replies_before_probe(sock) == []


@pytest.mark.parametrize("invocation_id", [None, ""], ids=["nil-id", "empty-string-id"])
async def test_mp_non_blocking_invocation_gets_no_reply(client: Client, invocation_id: str | None) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_invocation("Echo", ["quiet"], invocation_id))
    await sock.send_binary(mp_invocation("ThrowHubException", ["quiet"], invocation_id))
    await sock.send_binary(mp_invocation("Nope", [], invocation_id))
    await sock.send_binary(mp_invocation("Add", ["a", "b"], invocation_id, stream_ids=None))
    assert await replies_before_probe(sock) == []


async def test_mp_many_messages_in_one_frame_keep_order(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    batch = (
        bytes.fromhex("02 91 06")
        + mp_invocation("Echo", ["a"], "1")
        + mp_invocation("Echo", ["ignored"], "")
        + mp_invocation("Add", [2, 3], "2", stream_ids=None)
        + mp_frame(bytes.fromhex("91 63"))
        + mp_invocation("Echo", ["c"], "3")
    )
    await sock.send_binary(batch)
    assert [(await sock.recv()).value for _ in range(3)] == [
        [3, {}, "1", 3, "a"],
        [3, {}, "2", 3, 5],
        [3, {}, "3", 3, "c"],
    ]
