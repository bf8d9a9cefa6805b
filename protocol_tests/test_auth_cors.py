"""Authentication on negotiate and on every transport request, and CORS.

``/hubs/auth`` requires a user; the conformance server's TEST-ONLY tokens
are ``user:<name>`` / ``admin:<name>`` (``bad`` is refused with 401), sent as
``Authorization: Bearer`` or in the ``access_token`` query. A transport
request whose user differs from the connection's is refused with 403 (as
ASP.NET Core does), and one without a user with 401. ``/hubs/cors`` allows
the origin ``http://allowed.example`` with credentials; ``/hubs/test`` allows
no origin."""

from __future__ import annotations

from typing import Any

import pytest

from .client import RS, Client, json_frame, json_invocation

HANDSHAKE_OK = b"{}" + RS
ALICE = {"Authorization": "Bearer user:alice"}
BOB = {"Authorization": "Bearer user:bob"}
ALLOWED = "http://allowed.example"
OTHER = "http://other.example"


# ------------------------------------------------------------ negotiate


async def test_negotiate_without_a_user_is_401(client: Client) -> None:
    result = await client.request("POST", "auth/negotiate", extra_query={"negotiateVersion": "1"})
    assert (result.status, result.reason, result.body) == (401, "Unauthorized", b"")


@pytest.mark.parametrize(
    ("headers", "query"),
    [(ALICE, {}), ({}, {"access_token": "user:alice"})],
    ids=["bearer", "access_token-query"],
)
async def test_negotiate_with_a_user(client: Client, headers: dict[str, str], query: dict[str, str]) -> None:
    neg = await client.negotiate("auth", headers=headers, extra_query=query)
    assert neg.status == 200, neg.text
    assert isinstance(neg.body["connectionToken"], str)


@pytest.mark.parametrize(
    ("headers", "query"),
    [({"Authorization": "Bearer bad"}, {}), ({}, {"access_token": "bad"})],
    ids=["bearer", "access_token-query"],
)
async def test_negotiate_with_a_refused_token_is_401(
    client: Client, headers: dict[str, str], query: dict[str, str]
) -> None:
    neg = await client.negotiate("auth", headers=headers, extra_query=query)
    assert neg.status == 401


# ------------------------------------------------- transports and users


async def _alice_token(client: Client, hub: str = "auth") -> str:
    neg = await client.negotiate(hub, headers=ALICE)
    assert neg.status == 200, neg.text
    token: str = neg.body["connectionToken"]
    return token


async def _attempt(client: Client, kind: str, token: str, headers: dict[str, str]) -> int:
    if kind == "websocket":
        status, _ = await client.raw_upgrade("auth", token, headers=headers)
        return status
    if kind == "sse":
        stream = await client.open_sse("auth", token, headers=headers)
        if stream.status == 200:
            await stream.close()
        return stream.status
    result = await client.request("GET", "auth", token, headers=headers)
    return result.status


@pytest.mark.parametrize("kind", ["websocket", "sse", "poll"])
async def test_transport_as_another_user_is_403_and_without_a_user_401(client: Client, kind: str) -> None:
    token = await _alice_token(client)
    assert await _attempt(client, kind, token, BOB) == 403
    assert await _attempt(client, kind, token, {}) == 401
    assert await _attempt(client, kind, token, {"Authorization": "Bearer bad"}) == 401


async def _whoami(transport: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await transport.invoke("Whoami")).result
    return result


async def test_websocket_as_the_same_user_works_after_refusals(client: Client) -> None:
    token = await _alice_token(client)
    assert await _attempt(client, "websocket", token, BOB) == 403
    sock = await client.open("auth", token, headers=ALICE)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    whoami = await _whoami(sock)
    assert (whoami["identifier"], whoami["name"], whoami["transport"]) == ("alice", "Alice", "WebSockets")


async def test_same_user_by_query_token_works(client: Client) -> None:
    """Negotiate with the Bearer header, connect with ``access_token`` (as browsers do)."""
    token = await _alice_token(client)
    sock = await client.open("auth", token, extra_query={"access_token": "user:alice"})
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    assert (await _whoami(sock))["identifier"] == "alice"


async def test_sse_as_the_same_user_and_posts_by_user(client: Client) -> None:
    token = await _alice_token(client)
    assert await _attempt(client, "sse", token, BOB) == 403
    stream = await client.open_sse("auth", token, headers=ALICE)
    assert stream.status == 200
    await stream.expect_preamble()
    assert (await stream.handshake("json")).raw == HANDSHAKE_OK
    data = json_invocation("Echo", ["nope"], "x")
    assert (await client.request("POST", "auth", token, headers=BOB, data=data)).status == 403
    assert (await client.request("POST", "auth", token, data=data)).status == 401
    # Refused POSTs reach nothing: the next message is the Completion of alice's call.
    whoami = await _whoami(stream)
    assert (whoami["identifier"], whoami["transport"]) == ("alice", "ServerSentEvents")


async def test_long_polling_as_the_same_user_and_delete_by_user(client: Client) -> None:
    conn = await client.lp_connect("auth", headers=ALICE)
    token = conn.connection_id
    assert token is not None
    assert await _attempt(client, "poll", token, BOB) == 403
    data = json_invocation("Echo", ["nope"], "x")
    assert (await client.request("POST", "auth", token, headers=BOB, data=data)).status == 403
    assert (await client.request("POST", "auth", token, data=data)).status == 401
    assert (await client.request("DELETE", "auth", token, headers=BOB)).status == 403
    assert (await client.request("DELETE", "auth", token)).status == 401
    whoami = await _whoami(conn)
    assert (whoami["identifier"], whoami["transport"]) == ("alice", "LongPolling")


async def test_anonymous_connection_refuses_a_user(client: Client) -> None:
    """On ``/hubs/openauth`` (anonymous allowed) a connection negotiated
    without a user cannot be taken over by one."""
    neg = await client.negotiate("openauth")
    assert neg.status == 200
    token = neg.body["connectionToken"]
    status, _ = await client.raw_upgrade("openauth", token, headers=ALICE)
    assert status == 403
    sock = await client.open("openauth", token)
    assert (await sock.handshake("json")).raw == HANDSHAKE_OK
    assert (await sock.invoke("Whoami")).result is None


# ------------------------------------------------------------------ CORS


def _preflight_headers(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-requested-with,authorization",
    }


@pytest.mark.parametrize("path", ["cors/negotiate", "cors"])
async def test_preflight_for_the_allowed_origin(client: Client, path: str) -> None:
    result = await client.request("OPTIONS", path, headers=_preflight_headers(ALLOWED))
    assert result.status == 204
    assert result.headers.get("Access-Control-Allow-Origin") == ALLOWED
    assert result.headers.get("Access-Control-Allow-Credentials") == "true"
    methods = {m.strip().upper() for m in result.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert "POST" in methods, methods
    allowed = {h.strip().lower() for h in result.headers.get("Access-Control-Allow-Headers", "").split(",")}
    assert allowed >= {"x-requested-with", "authorization"}, allowed


@pytest.mark.parametrize(("hub", "origin"), [("cors", OTHER), ("test", ALLOWED)])
async def test_preflight_for_a_disallowed_origin_is_403(client: Client, hub: str, origin: str) -> None:
    result = await client.request("OPTIONS", f"{hub}/negotiate", headers=_preflight_headers(origin))
    assert result.status == 403
    assert "Access-Control-Allow-Origin" not in result.headers
    assert "Access-Control-Allow-Credentials" not in result.headers


def _assert_cors(headers: Any, origin: str | None) -> None:
    if origin is None:
        assert "Access-Control-Allow-Origin" not in headers, dict(headers)
    else:
        assert headers.get("Access-Control-Allow-Origin") == origin, dict(headers)
        assert headers.get("Access-Control-Allow-Credentials") == "true", dict(headers)


@pytest.mark.parametrize(
    ("hub", "origin", "expected"),
    [("cors", ALLOWED, ALLOWED), ("cors", OTHER, None), ("test", ALLOWED, None)],
    ids=["allowed", "other-origin", "default-hub"],
)
async def test_cors_headers_on_actual_responses(
    client: Client, hub: str, origin: str, expected: str | None
) -> None:
    headers = {"Origin": origin}
    # negotiate
    neg = await client.negotiate(hub, headers=headers)
    assert neg.status == 200
    _assert_cors(neg.headers, expected)
    # long polling: the first poll, POST and a poll with data, then DELETE
    token = neg.body["connectionToken"]
    first = await client.request("GET", hub, token, headers=headers)
    assert first.status == 200
    _assert_cors(first.headers, expected)
    posted = await client.request(
        "POST", hub, token, headers=headers, data=json_frame({"protocol": "json", "version": 1})
    )
    assert posted.status == 200
    _assert_cors(posted.headers, expected)
    reply = await client.request("GET", hub, token, headers=headers)
    assert (reply.status, reply.body) == (200, HANDSHAKE_OK)
    _assert_cors(reply.headers, expected)
    deleted = await client.request("DELETE", hub, token, headers=headers)
    assert deleted.status == 202
    _assert_cors(deleted.headers, expected)
    # SSE
    neg = await client.negotiate(hub, headers=headers)
    stream = await client.open_sse(hub, neg.body["connectionToken"], headers=headers)
    assert stream.status == 200
    _assert_cors(stream.response_headers, expected)
    # A refusal carries them too, so that a browser can read it.
    unknown = await client.request("GET", hub, "doesnotexist0000000000", headers=headers)
    assert unknown.status == 404
    _assert_cors(unknown.headers, expected)


async def test_negotiate_error_carries_cors_headers_for_the_allowed_origin(client: Client) -> None:
    """The ``{"error":..}`` answer must be readable by the browser client."""
    neg = await client.negotiate("cors", "abc", headers={"Origin": ALLOWED})
    assert neg.text == '{"error":"The client requested a non-integer protocol version."}'
    _assert_cors(neg.headers, ALLOWED)
