"""Malformed messages are connection-fatal (protocol-vectors.md §2d, §3d);
argument binding errors are not (§2e, §3e)."""

from __future__ import annotations

import msgpack
import pytest

from .client import RS, Client, HubSocket, mp_frame
from .vectors import JSON_INVALID, MP_INVALID

CLOSED_WITH_ERROR = "Connection closed with an error."
FAILED_TO_INVOKE = "Failed to invoke '{}' due to an error on the server."
COUNT_MISMATCH = "Invocation provides {} argument(s) but target expects {}."
BINDING_ERROR = (
    "Error binding arguments. Make sure that the types of the provided values match the types of the hub "
    "method being invoked."
)


def close_error(hub: str, detail: str) -> str:
    return f"{CLOSED_WITH_ERROR} InvalidDataException: {detail}" if hub == "detailed" else CLOSED_WITH_ERROR


async def assert_closed_with(sock: HubSocket, error: str) -> None:
    close = await sock.recv_close_message()
    assert close.error == error
    assert not close.allow_reconnect
    await sock.expect_closed()


# ------------------------------------------------------------ fatal: JSON


@pytest.mark.parametrize("hub", ["test", "detailed"])
@pytest.mark.parametrize(("payload", "detail"), JSON_INVALID, ids=[p or "<empty>" for p, _ in JSON_INVALID])
async def test_json_invalid_message_closes_connection(
    client: Client, hub: str, payload: str, detail: str
) -> None:
    sock = await client.connect(hub, "json")
    await sock.send_text(payload.encode() + RS)
    await assert_closed_with(sock, close_error(hub, detail))


@pytest.mark.parametrize(
    "payload",
    ['{"Type":1,"invocationId":"1","target":"Echo","arguments":[1]}', '{"TYPE":6}'],
)
async def test_json_property_names_are_case_sensitive(client: Client, payload: str) -> None:
    sock = await client.connect("detailed", "json")
    await sock.send_text(payload.encode() + RS)
    await assert_closed_with(sock, close_error("detailed", "Missing required property 'type'."))


async def test_json_close_message_exact_bytes(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send_text(b"{}" + RS)
    close = await sock.recv()
    assert close.raw == b'{"type":7,"error":"Connection closed with an error."}' + RS
    assert close.frame == "text"
    await sock.expect_closed()


async def test_json_invalid_message_after_valid_ones_in_same_frame(client: Client) -> None:
    """Messages before the bad one in the same frame are still processed. (A
    binding failure is answered by the read loop itself, so its reply is
    deterministic; the reply of a running hub method may be dropped by the close.)"""
    sock = await client.connect("test", "json")
    await sock.send_text(b'{"type":1,"invocationId":"1","target":"Nope","arguments":[1]}' + RS + b"null" + RS)
    messages, _ = await sock.recv_until_close()
    values = [m.value for m in messages if not m.is_ping]
    assert values == [
        {
            "type": 3,
            "invocationId": "1",
            "error": FAILED_TO_INVOKE.format("Nope") + " HubException: Method does not exist.",
        },
        {"type": 7, "error": CLOSED_WITH_ERROR},
    ]


# ----------------------------------------------------- fatal: MessagePack


@pytest.mark.parametrize("hub", ["test", "detailed"])
@pytest.mark.parametrize(("name", "body", "detail"), MP_INVALID, ids=[n for n, _, _ in MP_INVALID])
async def test_mp_invalid_message_closes_connection(
    client: Client, hub: str, name: str, body: bytes, detail: str
) -> None:
    sock = await client.connect(hub, "messagepack")
    await sock.send_binary(mp_frame(body))
    await assert_closed_with(sock, close_error(hub, detail))


async def test_mp_close_message_exact_bytes(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send_binary(mp_frame(bytes.fromhex("91 a3 66 6f 6f")))
    close = await sock.recv()
    text = CLOSED_WITH_ERROR.encode()
    assert len(text) == 32  # str8: d9 20
    assert close.raw == mp_frame(bytes.fromhex("93 07 d9 20") + text + b"\xc2")
    assert close.frame == "binary"
    await sock.expect_closed()


# ------------------------------------------------ binding errors: not fatal
# Target Add(a: int, b: int); the reference binder rows re-written for that shape.

JSON_BINDING = [
    ('{"type":1,"invocationId":"42","target":"Add","arguments":[]}', COUNT_MISMATCH.format(0, 2)),
    ('{"type":1,"arguments":[], "invocationId":"42","target":"Add"}', COUNT_MISMATCH.format(0, 2)),
    ('{"type":1,"invocationId":"42","target":"Add","arguments":[ "abc", "xyz"]}', BINDING_ERROR),
    ('{"type":1,"invocationId":"42","arguments":[ "abc", "xyz"], "target":"Add"}', BINDING_ERROR),
    ('{"type":4,"invocationId":"42","target":"Add","arguments":[]}', COUNT_MISMATCH.format(0, 2)),
    ('{"type":4,"invocationId":"42","target":"Add","arguments":[ "abc", "xyz"]}', BINDING_ERROR),
    ('{"type":1,"invocationId":"42","target":"Add","arguments":[1,"",{"1":1,"2":2}]}', BINDING_ERROR),
    (
        '{"type":1,"invocationId":"42","target":"Add","arguments":[1,2,{"1":1,"2":2}]}',
        COUNT_MISMATCH.format(3, 2),
    ),
    ('{"type":1,"invocationId":"42","target":"Add","arguments":[1,[1]]}', BINDING_ERROR),
    ('{"type":1,"invocationId":"42","target":"Add","arguments":[1,[]]}', BINDING_ERROR),
    ('{"type":1,"invocationId":"42","target":"Add","arguments":[1]}', COUNT_MISMATCH.format(1, 2)),
    ('{"type":1,"invocationId":"42","target":"Add","arguments":[1,1.5]}', BINDING_ERROR),
    ('{"type":1,"invocationId":"42","target":"Add","arguments":[1,null]}', BINDING_ERROR),
    # .NET binds JSON arguments one by one while reading: the first bad argument
    # is reported even when the count is wrong too (ReadToEndOfArgumentArrayOnError).
    ('{"type":1,"invocationId":"42","target":"Add","arguments":["abc"]}', BINDING_ERROR),
    (
        '{"type":1,"invocationId":"42","target":"EchoString","arguments":[[],{"target":"foo2"}]}',
        BINDING_ERROR,
    ),
]


def json_target(payload: str) -> str:
    return "EchoString" if "EchoString" in payload else "Add"


@pytest.mark.parametrize("hub", ["test", "detailed"])
@pytest.mark.parametrize(("payload", "detail"), JSON_BINDING)
async def test_json_binding_error_is_not_fatal(client: Client, hub: str, payload: str, detail: str) -> None:
    sock = await client.connect(hub, "json")
    await sock.send_text(payload.encode() + RS)
    reply = await sock.recv()
    error = FAILED_TO_INVOKE.format(json_target(payload))
    if hub == "detailed":
        error += f" InvalidDataException: {detail}"
    assert reply.value == {"type": 3, "invocationId": "42", "error": error}
    assert list(reply.value) == ["type", "invocationId", "error"]
    assert (await sock.invoke("Add", 1, 2)).result == 3


def mp_add(kind: int, rest: str) -> bytes:
    """[kind, {}, "42", "Add", ...rest] with the element count of the whole array."""
    items = (
        bytes.fromhex("01 80 a2 34 32 a3 41 64 64")
        if kind == 1
        else bytes.fromhex("04 80 a2 34 32 a3 41 64 64")
    )
    tail = bytes.fromhex(rest)
    count = 4 + _count_items(tail)
    return bytes([0x90 + count]) + items + tail


def _count_items(data: bytes) -> int:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    return sum(1 for _ in unpacker)


MP_BINDING = [
    ("ArgumentArrayMissing", 1, "", "Reading array length for 'arguments' failed."),
    ("ArgumentArrayNotAnArray", 1, "2a", "Reading array length for 'arguments' failed."),
    ("SizeMismatchEmpty", 1, "90", COUNT_MISMATCH.format(0, 2)),
    ("SizeMismatchTooLarge", 1, "93 01 02 03", COUNT_MISMATCH.format(3, 2)),
    ("TypeMismatch", 1, "92 a3 61 62 63 a3 78 79 7a", BINDING_ERROR),
    ("TypeMismatchSecond", 1, "92 01 a3 78 79 7a", BINDING_ERROR),
    # MessagePack knows the count from the array header, so it is checked first.
    ("CountBeforeType", 1, "91 a3 61 62 63", COUNT_MISMATCH.format(1, 2)),
    ("TypeMismatchWithStreams", 1, "92 a3 61 62 63 01 90", BINDING_ERROR),
    ("Stream.ArgumentArrayMissing", 4, "", "Reading array length for 'arguments' failed."),
    ("Stream.ArgumentArrayNotAnArray", 4, "2a", "Reading array length for 'arguments' failed."),
    ("Stream.SizeMismatchEmpty", 4, "90", COUNT_MISMATCH.format(0, 2)),
    ("Stream.SizeMismatchTooLarge", 4, "93 01 02 03", COUNT_MISMATCH.format(3, 2)),
    ("Stream.TypeMismatch", 4, "92 a3 61 62 63 a3 78 79 7a", BINDING_ERROR),
]


@pytest.mark.parametrize("hub", ["test", "detailed"])
@pytest.mark.parametrize(("name", "kind", "rest", "detail"), MP_BINDING, ids=[r[0] for r in MP_BINDING])
async def test_mp_binding_error_is_not_fatal(
    client: Client, hub: str, name: str, kind: int, rest: str, detail: str
) -> None:
    sock = await client.connect(hub, "messagepack")
    await sock.send_binary(mp_frame(mp_add(kind, rest)))
    reply = await sock.recv()
    error = FAILED_TO_INVOKE.format("Add")
    if hub == "detailed":
        error += f" InvalidDataException: {detail}"
    assert reply.value == [3, {}, "42", 1, error]
    assert (await sock.invoke("Add", 1, 2)).result == 3


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_unknown_method_is_not_fatal(client: Client, protocol: str) -> None:
    sock = await client.connect("test", protocol)
    await sock.send(sock.invocation("Nope", 1, 2, invocation_id="n"))
    reply = await sock.recv()
    assert reply.invocation_id == "n"
    assert reply.error == (
        "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist."
    )
    assert (await sock.invoke("Add", 1, 2)).result == 3


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_private_and_inherited_members_are_not_methods(client: Client, protocol: str) -> None:
    """Nothing but declared hub methods can be invoked."""
    sock = await client.connect("test", protocol)
    for target in ("_private", "Private", "OnConnected", "__init__"):
        await sock.send(sock.invocation(target, invocation_id="n"))
        reply = await sock.recv()
        assert reply.error == (
            f"Failed to invoke '{target}' due to an error on the server. HubException: Method does not exist."
        ), target
