"""Refusals of the HTTP transports (wire-protocol.md "SERVER-SENT EVENTS",
"POST", "LONG POLLING", "WEBSOCKETS"): missing and unknown ids, changing
transport, POST to a WebSocket connection, transports disabled on an
endpoint (``/hubs/wsonly``), case-insensitive routes, and negotiate v0 ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .client import RS, Client, http_request, json_frame, json_invocation, open_socket

HANDSHAKE_OK = b"{}" + RS
UNKNOWN_ID = "doesnotexist0000000000"
HTTP_KINDS = ["sse", "poll", "post", "delete"]


def json_body(body: bytes) -> dict[str, Any]:
    value = json.loads(body)
    assert isinstance(value, dict)
    return value


async def attempt(client: Client, kind: str, hub: str, connection_id: str | None) -> tuple[int, str]:
    """One request of ``kind`` for ``connection_id``: (status, body text)."""
    if kind == "sse":
        stream = await client.open_sse(hub, connection_id)
        if stream.status == 200:
            await stream.close()
        return stream.status, stream.body.decode("utf-8")
    if kind == "websocket":
        status, body = await client.raw_upgrade(hub, connection_id)
        return status, body.decode("utf-8")
    method = {"poll": "GET", "post": "POST", "delete": "DELETE"}[kind]
    data = json_invocation("Echo", [1], "1") if kind == "post" else None
    result = await client.request(method, hub, connection_id, data=data)
    return result.status, result.text


async def _token(client: Client, hub: str = "test") -> str:
    neg = await client.negotiate(hub)
    assert neg.status == 200, neg.text
    token: str = neg.body["connectionToken"]
    return token


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize("connection_id", [None, ""], ids=["no-id", "empty-id"])
async def test_missing_id_is_400(client: Client, kind: str, connection_id: str | None) -> None:
    assert await attempt(client, kind, "test", connection_id) == (400, "Connection ID required")


@pytest.mark.parametrize("kind", HTTP_KINDS)
async def test_unknown_id_is_404(client: Client, kind: str) -> None:
    assert await attempt(client, kind, "test", UNKNOWN_ID) == (404, "No Connection with that ID")


@pytest.mark.parametrize("kind", ["sse", "poll", "post"])
async def test_public_connection_id_is_not_a_transport_id(client: Client, kind: str) -> None:
    """v1: transports use the connectionToken; the connectionId is public."""
    neg = await client.negotiate("test")
    assert await attempt(client, kind, "test", neg.body["connectionId"]) == (
        404,
        "No Connection with that ID",
    )


async def _start(client: Client, transport: str, token: str) -> Any:
    """Attach ``transport`` to the negotiated connection; returns what keeps it open."""
    if transport == "websocket":
        sock = await client.open("test", token)
        assert (await sock.handshake("json")).raw == HANDSHAKE_OK
        return sock
    if transport == "sse":
        stream = await client.open_sse("test", token)
        assert stream.status == 200
        await stream.expect_preamble()
        return stream
    conn = client.long_polling("test", token)
    first = await conn.poll()
    assert (first.status, first.body) == (200, b"")
    return conn


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("poll", "sse"),
        ("poll", "websocket"),
        ("sse", "poll"),
        ("sse", "websocket"),
        ("websocket", "sse"),
        ("websocket", "poll"),
    ],
)
async def test_changing_transport_mid_connection_is_400(client: Client, first: str, second: str) -> None:
    token = await _token(client)
    await _start(client, first, token)
    assert await attempt(client, second, "test", token) == (400, "Cannot change transports mid-connection")


async def test_transport_change_refusal_leaves_the_connection_working(client: Client) -> None:
    token = await _token(client)
    conn = client.long_polling("test", token)
    assert (await conn.poll()).status == 200
    assert (await attempt(client, "sse", "test", token))[0] == 400
    assert (await attempt(client, "websocket", "test", token))[0] == 400
    assert (await conn.handshake("json")).raw == HANDSHAKE_OK
    assert (await conn.invoke("Echo", "still polling")).result == "still polling"


async def test_post_to_a_websocket_connection_is_405(client: Client) -> None:
    token = await _token(client)
    sock = await client.open("test", token)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    result = await client.request("POST", "test", token, data=json_invocation("Echo", [1], "1"))
    assert (result.status, result.text) == (405, "POST requests are not allowed for WebSocket connections.")
    # Nothing reached the hub, and the socket is unaffected.
    assert (await sock.invoke("Echo", "ws")).result == "ws"


async def test_websocket_only_endpoint(client: Client) -> None:
    neg = await client.negotiate("wsonly")
    assert neg.status == 200
    assert neg.body["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
    ]
    token = neg.body["connectionToken"]
    assert await attempt(client, "sse", "wsonly", token) == (
        404,
        "ServerSentEvents transport not supported by this end point type",
    )
    assert await attempt(client, "poll", "wsonly", token) == (
        404,
        "LongPolling transport not supported by this end point type",
    )
    # The refusals did not consume the connection: its WebSocket still works.
    sock = await client.open("wsonly", token)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    assert (await sock.invoke("Echo", "ws only")).result == "ws only"


async def test_routes_are_case_insensitive(client: Client) -> None:
    base = client.server_url
    negotiated = await http_request(client.session, "POST", f"{base}/HUBS/Test/NEGOTIATE?negotiateVersion=1")
    assert negotiated.status == 200
    assert negotiated.content_type == "application/json"
    sock = await open_socket(
        client.session, f"{base}/Hubs/TEST", json_body(negotiated.body)["connectionToken"]
    )
    client.sockets.append(sock)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    assert (await sock.invoke("Echo", "any case")).result == "any case"

    # The HTTP transports too: a long-polling connection at /hUbS/tEsT.
    negotiated = await http_request(client.session, "POST", f"{base}/hubs/test/Negotiate?negotiateVersion=1")
    token = json_body(negotiated.body)["connectionToken"]
    url = f"{base}/hUbS/tEsT?id={token}"
    first = await http_request(client.session, "GET", url)
    assert (first.status, first.body) == (200, b"")
    handshake = await http_request(
        client.session, "POST", url, data=json_frame({"protocol": "json", "version": 1})
    )
    assert handshake.status == 200
    reply = await http_request(client.session, "GET", url)
    assert (reply.status, reply.body) == (200, HANDSHAKE_OK)
    await http_request(client.session, "DELETE", url)


@pytest.mark.parametrize("transport", ["websocket", "sse", "poll"])
async def test_negotiate_v0_uses_the_connection_id(client: Client, transport: str) -> None:
    neg = await client.negotiate("test", None)
    assert neg.status == 200
    assert neg.body["negotiateVersion"] == 0
    assert "connectionToken" not in neg.body
    connection_id = neg.body["connectionId"]
    handle = await _start(client, transport, connection_id)  # the WebSocket has done its handshake
    if transport != "websocket":
        assert (await handle.handshake("json")).raw == HANDSHAKE_OK
    assert (await handle.invoke("GetConnectionId")).result == connection_id
