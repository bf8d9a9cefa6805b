"""The handshake (protocol-vectors.md §1, HubProtocol.md "Overview"): exact
reply bytes, every invalid request, protocol/version refusals, timeout."""

from __future__ import annotations

import time

import pytest

from .client import RS, Client, HubSocket, json_frame
from .vectors import HANDSHAKE_INVALID

HANDSHAKE_OK = b"{}" + RS
HANDSHAKE_FAILED = "An unexpected error occurred during connection handshake."


def error_reply(text: str) -> bytes:
    return json_frame({"error": text})


async def assert_refused(sock: HubSocket, reply_raw: bytes, expected_error: str) -> None:
    assert reply_raw == error_reply(expected_error)
    # After an error reply the server closes the socket; nothing else is sent.
    await sock.expect_closed()


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
@pytest.mark.parametrize("version", [1, 2])
async def test_success_reply_is_exactly_empty_object(client: Client, protocol: str, version: int) -> None:
    sock = await client.open("test", None)
    reply = await sock.handshake(protocol, version)
    assert reply.raw == HANDSHAKE_OK
    assert reply.frame == ("binary" if protocol == "messagepack" else "text")
    assert (await sock.invoke("Echo", "ok")).result == "ok"


async def test_unknown_request_properties_are_skipped(client: Client) -> None:
    sock = await client.open("test", None)
    sock.requested = "json"
    await sock.send_text('{"protocol":"json","version":1,"unknown":null}\x1e')
    assert (await sock.recv_handshake()).raw == HANDSHAKE_OK


async def test_property_order_is_free(client: Client) -> None:
    sock = await client.open("test", None)
    sock.requested = "json"
    await sock.send_text('{ "version": 1, "protocol": "json" }\x1e')
    assert (await sock.recv_handshake()).raw == HANDSHAKE_OK


@pytest.mark.parametrize(("request_text", "detail"), HANDSHAKE_INVALID, ids=[r for r, _ in HANDSHAKE_INVALID])
async def test_invalid_request(client: Client, request_text: str, detail: str) -> None:
    sock = await client.open("test", None)
    await sock.send_text(request_text + "\x1e")
    reply = await sock.recv_handshake()
    await assert_refused(sock, reply.raw, HANDSHAKE_FAILED)


@pytest.mark.parametrize(("request_text", "detail"), HANDSHAKE_INVALID, ids=[r for r, _ in HANDSHAKE_INVALID])
async def test_invalid_request_detailed(client: Client, request_text: str, detail: str) -> None:
    sock = await client.open("detailed", None)
    await sock.send_text(request_text + "\x1e")
    reply = await sock.recv_handshake()
    await assert_refused(sock, reply.raw, f"{HANDSHAKE_FAILED} InvalidDataException: {detail}")


@pytest.mark.parametrize("hub", ["test", "detailed"])
async def test_unknown_protocol(client: Client, hub: str) -> None:
    sock = await client.open(hub, None)
    reply = await sock.handshake("foo")
    await assert_refused(sock, reply.raw, "The protocol 'foo' is not supported.")


@pytest.mark.parametrize("protocol", ["json", "messagepack"])
async def test_unsupported_version(client: Client, protocol: str) -> None:
    sock = await client.open("test", None)
    reply = await sock.handshake(protocol, 99)
    assert reply.frame == "text", "a failed handshake never switched to binary"
    await assert_refused(
        sock, reply.raw, f"The server does not support version 99 of the '{protocol}' protocol."
    )


async def test_messagepack_refused_on_json_only_hub(client: Client) -> None:
    sock = await client.open("json", None)
    reply = await sock.handshake("messagepack")
    await assert_refused(sock, reply.raw, "The protocol 'messagepack' is not supported.")


async def test_json_accepted_on_json_only_hub(client: Client) -> None:
    sock = await client.open("json", None)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK


async def test_handshake_timeout(client: Client) -> None:
    """/hubs/fast: handshake timeout 1 s (.NET default 15 s)."""
    sock = await client.open("fast", None)
    start = time.monotonic()
    reply = await sock.recv_handshake(within=5)
    elapsed = time.monotonic() - start
    await assert_refused(sock, reply.raw, "Handshake was canceled.")
    assert 0.8 <= elapsed <= 4, f"handshake canceled after {elapsed:.2f} s"


async def test_incomplete_handshake_times_out(client: Client) -> None:
    """A request without its 0x1E is still waiting for data: it times out, not fails."""
    sock = await client.open("fast", None)
    await sock.send_text('{"protocol":"json","version":1}')
    reply = await sock.recv_handshake(within=5)
    await assert_refused(sock, reply.raw, "Handshake was canceled.")


async def test_no_messages_before_handshake_reply(client: Client) -> None:
    """A hub message in place of the handshake is an invalid handshake request."""
    sock = await client.open("test", None)
    await sock.send_text('{"type":6}\x1e')
    reply = await sock.recv_handshake()
    await assert_refused(sock, reply.raw, HANDSHAKE_FAILED)


def handshake_of_size(total: int) -> bytes:
    """A valid JSON handshake request of exactly ``total`` bytes (0x1E included)."""
    empty = json_frame({"protocol": "json", "version": 1, "pad": ""})
    data = json_frame({"protocol": "json", "version": 1, "pad": "x" * (total - len(empty))})
    assert len(data) == total
    return data


async def test_handshake_at_the_message_size_limit_is_accepted(client: Client) -> None:
    sock = await client.open("test", None)
    sock.requested = "json"
    await sock.send_text(handshake_of_size(32768))
    assert (await sock.recv_handshake()).raw == HANDSHAKE_OK


@pytest.mark.parametrize("terminated", [True, False], ids=["with-separator", "without-separator"])
async def test_handshake_over_the_message_size_limit_is_canceled(client: Client, terminated: bool) -> None:
    """.NET looks for the request in the first MaximumReceiveMessageSize bytes only."""
    sock = await client.open("test", None)
    data = handshake_of_size(32769)
    await sock.send_text(data if terminated else data[:-1] + b" ")
    reply = await sock.recv_handshake()
    await assert_refused(sock, reply.raw, "Handshake was canceled.")


@pytest.mark.parametrize(
    "request_text", ["{", "not json", '{"protocol":"json","version":1', '{"protocol":"json",}']
)
async def test_malformed_json_request(client: Client, request_text: str) -> None:
    sock = await client.open("test", None)
    await sock.send_text(request_text + "\x1e")
    reply = await sock.recv_handshake()
    await assert_refused(sock, reply.raw, HANDSHAKE_FAILED)
