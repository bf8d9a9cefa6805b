"""Negotiate (protocol-vectors.md §4, TransportProtocols.md): versions, the
exact response shape, and which id a transport must use."""

from __future__ import annotations

import re

import pytest

from .client import Client

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")  # 16 random bytes, base64url, no padding
ALL_TRANSPORTS = [
    {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
    {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
    {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
]


async def test_v1_response_shape(client: Client) -> None:
    neg = await client.negotiate("test", "1")
    assert neg.status == 200
    assert neg.content_type == "application/json"
    # .NET writer order, compared on the raw document (not a re-sorted dict).
    assert neg.keys == ["negotiateVersion", "connectionId", "connectionToken", "availableTransports"]
    body = neg.body
    assert body["negotiateVersion"] == 1
    assert ID_PATTERN.match(body["connectionId"]), body["connectionId"]
    assert ID_PATTERN.match(body["connectionToken"]), body["connectionToken"]
    assert body["connectionId"] != body["connectionToken"]
    assert body["availableTransports"] == ALL_TRANSPORTS
    # The transport objects themselves keep .NET's key order too.
    transports = dict(neg.pairs or [])["availableTransports"]
    assert [k for k, _ in transports[0]] == ["transport", "transferFormats"]


async def test_each_negotiate_creates_a_new_connection(client: Client) -> None:
    first = (await client.negotiate()).body
    second = (await client.negotiate()).body
    assert first["connectionId"] != second["connectionId"]
    assert first["connectionToken"] != second["connectionToken"]


async def test_no_version_is_v0_without_token(client: Client) -> None:
    neg = await client.negotiate("test", None)
    assert neg.status == 200
    assert neg.content_type == "application/json"
    assert neg.keys == ["negotiateVersion", "connectionId", "availableTransports"]
    assert neg.body["negotiateVersion"] == 0
    assert ID_PATTERN.match(neg.body["connectionId"])
    assert neg.body["availableTransports"] == ALL_TRANSPORTS


async def test_explicit_version_0(client: Client) -> None:
    neg = await client.negotiate("test", "0")
    assert neg.status == 200
    assert neg.keys == ["negotiateVersion", "connectionId", "availableTransports"]
    assert neg.body["negotiateVersion"] == 0


async def test_higher_version_answers_server_maximum(client: Client) -> None:
    neg = await client.negotiate("test", "5")
    assert neg.status == 200
    assert neg.body["negotiateVersion"] == 1
    assert neg.keys == ["negotiateVersion", "connectionId", "connectionToken", "availableTransports"]


@pytest.mark.parametrize("version", ["abc", "1.5", ""])
async def test_non_integer_version(client: Client, version: str) -> None:
    neg = await client.negotiate("test", version)
    assert neg.status == 200
    assert neg.content_type == "application/json"
    assert neg.text == '{"error":"The client requested a non-integer protocol version."}'


async def test_version_below_minimum(client: Client) -> None:
    neg = await client.negotiate("test", "-1")
    assert neg.status == 200
    assert (
        neg.text
        == '{"error":"The client requested version \'-1\', but the server does not support this version."}'
    )


async def test_stateful_reconnect_is_not_offered_unless_enabled(client: Client) -> None:
    """Stateful reconnect is opt-in on the server: a client asking for it gets a plain v1 answer."""
    neg = await client.negotiate("test", "1", extra_query={"useStatefulReconnect": "true"})
    assert neg.status == 200
    assert neg.keys == ["negotiateVersion", "connectionId", "connectionToken", "availableTransports"]


async def test_get_is_method_not_allowed(client: Client) -> None:
    neg = await client.negotiate("test", "1", method="GET")
    assert neg.status == 405


async def test_v1_socket_uses_the_token_and_hub_sees_the_public_id(client: Client) -> None:
    neg = (await client.negotiate("test", "1")).body
    sock = await client.open("test", neg["connectionToken"])
    reply = await sock.handshake("json")
    assert reply.raw == b"{}\x1e"
    completion = await sock.invoke("GetConnectionId")
    assert completion.result == neg["connectionId"]


async def test_v1_public_id_is_not_a_transport_id(client: Client) -> None:
    neg = (await client.negotiate("test", "1")).body
    assert await client.upgrade_status("test", neg["connectionId"]) == 404
    # The refused attempt did not consume the connection: the token still works.
    sock = await client.open("test", neg["connectionToken"])
    assert (await sock.handshake("json")).raw == b"{}\x1e"


async def test_v0_socket_uses_the_connection_id(client: Client) -> None:
    neg = (await client.negotiate("test", None)).body
    sock = await client.open("test", neg["connectionId"])
    assert (await sock.handshake("json")).raw == b"{}\x1e"
    completion = await sock.invoke("GetConnectionId")
    assert completion.result == neg["connectionId"]


@pytest.mark.parametrize("hub", ["test", "detailed", "fast", "json", "parallel"])
async def test_every_hub_path_negotiates(client: Client, hub: str) -> None:
    neg = await client.negotiate(hub, "1")
    assert neg.status == 200
    assert neg.body["negotiateVersion"] == 1
