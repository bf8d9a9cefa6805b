"""MaximumReceiveMessageSize (32 KB by default; protocol-vectors.md §2f,
§3f): the limit counts the framing (0x1E or the varint prefix) and applies
per message, not per WebSocket frame."""

from __future__ import annotations

import time

import pytest

from .client import RS, Client, HubSocket, json_invocation, mp_invocation

LIMIT = 32768
CLOSED_WITH_ERROR = "Connection closed with an error."
SIZE_DETAIL = (
    "InvalidDataException: The maximum message size of 32768B was exceeded. "
    "The message size can be configured in AddHubOptions."
)


def json_echo_of_size(total: int, invocation_id: str = "1") -> tuple[bytes, str]:
    """A framed JSON EchoString invocation of exactly ``total`` bytes (0x1E included)."""
    empty = json_invocation("EchoString", [""], invocation_id)
    pad = "x" * (total - len(empty))
    data = json_invocation("EchoString", [pad], invocation_id)
    assert len(data) == total
    return data, pad


def mp_echo_of_size(total: int, invocation_id: str = "1") -> tuple[bytes, str]:
    """A framed MessagePack EchoString invocation of exactly ``total`` bytes (prefix included)."""
    for n in range(total - 64, total):
        pad = "x" * n
        data = mp_invocation("EchoString", [pad], invocation_id)
        if len(data) == total:
            return data, pad
    raise AssertionError(f"no padding gives {total} bytes")


async def assert_too_large(sock: HubSocket, hub: str) -> None:
    close = await sock.recv_close_message()
    expected = CLOSED_WITH_ERROR if hub == "test" else f"{CLOSED_WITH_ERROR} {SIZE_DETAIL}"
    assert close.error == expected
    assert not close.allow_reconnect
    await sock.expect_closed()


async def test_json_message_at_the_limit_is_accepted(client: Client) -> None:
    sock = await client.connect("test", "json")
    data, pad = json_echo_of_size(LIMIT)
    await sock.send_text(data)
    reply = await sock.recv()
    assert reply.raw == b'{"type":3,"invocationId":"1","result":"' + pad.encode() + b'"}' + RS


@pytest.mark.parametrize("hub", ["test", "detailed"])
async def test_json_message_over_the_limit_closes(client: Client, hub: str) -> None:
    sock = await client.connect(hub, "json")
    data, _ = json_echo_of_size(LIMIT + 1)
    await sock.send_text(data)
    await assert_too_large(sock, hub)


async def test_json_unterminated_data_over_the_limit_closes(client: Client) -> None:
    """No 0x1E within the first 32768 bytes: the message can only be too large."""
    sock = await client.connect("detailed", "json")
    data, _ = json_echo_of_size(LIMIT + 100)
    await sock.send_text(data[:-1])  # without the separator
    await assert_too_large(sock, "detailed")


async def test_json_limit_is_per_message_not_per_frame(client: Client) -> None:
    sock = await client.connect("test", "json")
    first, pad1 = json_echo_of_size(LIMIT, "1")
    second, pad2 = json_echo_of_size(LIMIT, "2")
    await sock.send_text(first + second)
    assert (await sock.recv()).result == pad1
    assert (await sock.recv()).result == pad2


async def test_json_message_at_the_limit_split_across_frames(client: Client) -> None:
    sock = await client.connect("test", "json")
    data, pad = json_echo_of_size(LIMIT)
    await sock.send_text(data[:20000])
    await sock.send_text(data[20000:])
    assert (await sock.recv()).result == pad


async def test_mp_message_at_the_limit_is_accepted(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    data, pad = mp_echo_of_size(LIMIT)
    assert data[0] & 0x80 and data[1] & 0x80 and not data[2] & 0x80, "expected a 3-byte length prefix"
    await sock.send_binary(data)
    assert (await sock.recv()).value == [3, {}, "1", 3, pad]


@pytest.mark.parametrize("hub", ["test", "detailed"])
async def test_mp_message_over_the_limit_closes(client: Client, hub: str) -> None:
    sock = await client.connect(hub, "messagepack")
    data, _ = mp_echo_of_size(LIMIT + 1)
    await sock.send_binary(data)
    await assert_too_large(sock, hub)


async def test_mp_limit_is_per_message_not_per_frame(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    first, pad1 = mp_echo_of_size(LIMIT, "1")
    second, pad2 = mp_echo_of_size(LIMIT, "2")
    await sock.send_binary(first + second)
    assert (await sock.recv()).value == [3, {}, "1", 3, pad1]
    assert (await sock.recv()).value == [3, {}, "2", 3, pad2]


@pytest.mark.parametrize("hub", ["test", "detailed"])
async def test_mp_prefix_over_2gb_closes_at_once(client: Client, hub: str) -> None:
    sock = await client.connect(hub, "messagepack")
    start = time.monotonic()
    await sock.send_binary(bytes.fromhex("ff ff ff ff 0f"))
    close = await sock.recv_close_message(within=3)
    expected = CLOSED_WITH_ERROR
    if hub == "detailed":
        # .NET's BinaryMessageParser throws a FormatException for this prefix.
        expected += " FormatException: Messages over 2GB in size are not supported."
    assert close.error == expected
    await sock.expect_closed()
    assert time.monotonic() - start < 3
