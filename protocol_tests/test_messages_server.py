"""What the server writes (protocol-vectors.md §2, §3): the exact bytes of
every message shape a server sends, in JSON and in MessagePack."""

from __future__ import annotations

from typing import Any

import pytest

from .client import RS, Client, HubSocket, json_invocation, mp_frame, mp_invocation

NON_ASCII = "מחרוזת כלשהי"


def mp(hex_body: str) -> bytes:
    return mp_frame(bytes.fromhex(hex_body))


async def call(sock: HubSocket, target: str, args: list[Any], invocation_id: str) -> bytes:
    await sock.send(sock.invocation(target, *args, invocation_id=invocation_id))
    reply = await sock.recv()
    return reply.raw


# ------------------------------------------------------------------ JSON


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, b'{"type":3,"invocationId":"123","result":1}'),
        ("Foo", b'{"type":3,"invocationId":"123","result":"Foo"}'),
        (True, b'{"type":3,"invocationId":"123","result":true}'),
        (None, b'{"type":3,"invocationId":"123","result":null}'),
        (NON_ASCII, '{"type":3,"invocationId":"123","result":"מחרוזת כלשהי"}'.encode()),
        ([1, "Foo", 2], b'{"type":3,"invocationId":"123","result":[1,"Foo",2]}'),
    ],
    ids=["int", "string", "bool", "null", "non-ascii", "array"],
)
async def test_json_completion_with_result(client: Client, value: Any, expected: bytes) -> None:
    sock = await client.connect("test", "json")
    raw = await call(sock, "Echo", [value], "123")
    assert raw == expected + RS
    if value == NON_ASCII:
        assert b"\\u" not in raw, "non-ASCII must be written as raw UTF-8"


async def test_json_void_method_has_null_result(client: Client) -> None:
    sock = await client.connect("test", "json")
    assert await call(sock, "VoidMethod", [], "1") == b'{"type":3,"invocationId":"1","result":null}' + RS


async def test_json_hub_exception_error(client: Client) -> None:
    sock = await client.connect("test", "json")
    raw = await call(sock, "ThrowHubException", ["Whoops!"], "x")
    assert raw == (
        b'{"type":3,"invocationId":"x","error":"An unexpected error occurred invoking '
        b"'ThrowHubException' on the server. HubException: Whoops!\"}" + RS
    )


async def test_json_other_exception_error_hides_detail(client: Client) -> None:
    sock = await client.connect("test", "json")
    raw = await call(sock, "ThrowException", ["secret"], "x")
    assert raw == (
        b'{"type":3,"invocationId":"x","error":"An unexpected error occurred invoking '
        b"'ThrowException' on the server.\"}" + RS
    )


async def test_json_other_exception_error_detailed(client: Client) -> None:
    sock = await client.connect("detailed", "json")
    reply = await sock.invoke("ThrowException", "secret")
    # The exception type name is the server's own; only the shape is portable.
    error = reply.value["error"]
    assert error.startswith("An unexpected error occurred invoking 'ThrowException' on the server. ")
    assert error.endswith(": secret")
    assert list(reply.value) == ["type", "invocationId", "error"]


@pytest.mark.parametrize("hub", ["test", "detailed"])
async def test_json_unknown_method(client: Client, hub: str) -> None:
    sock = await client.connect(hub, "json")
    raw = await call(sock, "Nope", [], "x")
    assert raw == (
        b'{"type":3,"invocationId":"x","error":"Failed to invoke \'Nope\' due to an error on the server. '
        b'HubException: Method does not exist."}' + RS
    )
    assert (await sock.invoke("Echo", 1)).result == 1


async def test_json_server_to_client_invocation(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(json_invocation("InvokeCaller", ["Target", [1, "Foo"]], "1"))
    invocation = await sock.recv()
    assert invocation.raw == b'{"type":1,"target":"Target","arguments":[1,"Foo"]}' + RS
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1","result":null}' + RS


async def test_json_server_to_client_invocation_non_ascii(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(json_invocation("InvokeCaller", ["Target", [NON_ASCII]], "1"))
    invocation = await sock.recv()
    assert invocation.raw == '{"type":1,"target":"Target","arguments":["מחרוזת כלשהי"]}'.encode() + RS


async def test_json_ping(client: Client) -> None:
    """/hubs/fast pings after 0.3 s without output."""
    sock = await client.connect("fast", "json")
    ping = await sock.recv(within=2, ignore_pings=False)
    assert ping.raw == b'{"type":6}' + RS
    assert ping.frame == "text"


async def test_json_method_names_are_case_insensitive(client: Client) -> None:
    sock = await client.connect("test", "json")
    for target in ("echo", "ECHO", "Echo"):
        assert (await sock.invoke(target, target)).result == target


async def test_json_completion_ids_are_echoed_verbatim(client: Client) -> None:
    sock = await client.connect("test", "json")
    for iid in ("0", "a-b_c", "ünï", "x" * 100):
        assert await call(sock, "Add", [1, 2], iid) == json_invocation_reply(iid, b"3")


def json_invocation_reply(iid: str, result: bytes) -> bytes:
    return b'{"type":3,"invocationId":"' + iid.encode() + b'","result":' + result + b"}" + RS


# ----------------------------------------------------------- MessagePack


@pytest.mark.parametrize(
    ("value", "expected_body"),
    [
        (1, "95 03 80 a3 31 32 33 03 01"),
        ("Foo", "95 03 80 a3 31 32 33 03 a3 46 6f 6f"),
        (True, "95 03 80 a3 31 32 33 03 c3"),
        (None, "95 03 80 a3 31 32 33 03 c0"),
        (42, "95 03 80 a3 31 32 33 03 2a"),
        (NON_ASCII, "95 03 80 a3 31 32 33 03 b7" + NON_ASCII.encode().hex()),
        (b"\x01\x02\x03", "95 03 80 a3 31 32 33 03 c4 03 01 02 03"),
    ],
    ids=["int", "string", "bool", "nil", "42", "non-ascii", "bin"],
)
async def test_mp_completion_with_result(client: Client, value: Any, expected_body: str) -> None:
    sock = await client.connect("test", "messagepack")
    assert await call(sock, "Echo", [value], "123") == mp(expected_body)


async def test_mp_void_method_has_nil_result(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    raw = await call(sock, "VoidMethod", [], "1")
    assert raw == bytes.fromhex("07 95 03 80 a1 31 03 c0")


async def test_mp_hub_exception_error(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    text = "An unexpected error occurred invoking 'ThrowHubException' on the server. HubException: Whoops!"
    raw = await call(sock, "ThrowHubException", ["Whoops!"], "x")
    assert raw == mp("95 03 80 a1 78 01 d9" + f"{len(text):02x}" + text.encode().hex())


@pytest.mark.parametrize("hub", ["test", "detailed"])
async def test_mp_unknown_method(client: Client, hub: str) -> None:
    sock = await client.connect(hub, "messagepack")
    await sock.send(mp_invocation("Nope", [], "x"))
    reply = await sock.recv()
    assert reply.value == [
        3,
        {},
        "x",
        1,
        "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist.",
    ]


async def test_mp_server_to_client_invocation(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send(mp_invocation("InvokeCaller", ["Target", [1, "Foo"]], "1"))
    invocation = await sock.recv()
    assert invocation.raw == mp("96 01 80 c0 a6 54 61 72 67 65 74 92 01 a3 46 6f 6f 90")
    assert invocation.frame == "binary"
    assert (await sock.recv()).raw == mp("95 03 80 a1 31 03 c0")


async def test_mp_ping(client: Client) -> None:
    sock = await client.connect("fast", "messagepack")
    ping = await sock.recv(within=2, ignore_pings=False)
    assert ping.raw == bytes.fromhex("02 91 06")
    assert ping.frame == "binary"
