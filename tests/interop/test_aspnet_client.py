"""Interop with the old JavaScript client, @aspnet/signalr 1.1.4 (ASP.NET Core 2.x).

``tests/node/aspnet_client.mjs`` drives it with JSON over each transport
(``signalR.HttpTransportType.WebSockets/ServerSentEvents/LongPolling``). In
Node 20 it needs no polyfill: it loads its own ``ws`` 6.x, ``eventsource``
1.x and ``request`` dependencies.

What differs from current clients: 1.x negotiates without
``negotiateVersion`` (so the server answers version 0: a ``connectionId``,
no ``connectionToken``, and the transport uses ``id=<connectionId>``), it
cannot answer client results (it closes the connection), and it puts a
factory token in the ``access_token`` query for WebSockets and SSE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.node

NON_ASCII = "héllo ✓ 日本語 🎉"

ALL_TRANSPORTS = [
    {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
    {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
    {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
]

# Requests of a started connection (before stop), and where a token from
# accessTokenFactory went on each kind of request, start to stop.
REQUEST_KINDS = {
    "WebSockets": ["negotiate", "websocket"],
    "ServerSentEvents": ["eventsource", "negotiate", "send"],
    "LongPolling": ["negotiate", "poll", "send"],
}
TOKEN_CARRIERS = {
    "WebSockets": {"negotiate": ["header"], "websocket": ["query"]},
    "ServerSentEvents": {"negotiate": ["header"], "eventsource": ["query"], "send": ["header"]},
    "LongPolling": {"negotiate": ["header"], "poll": ["header"], "send": ["header"], "delete": ["header"]},
}

NO_CLIENT_RESULTS = "Server requested a response, which is not supported in this version of the client."


@pytest.mark.parametrize("transport", ["WebSockets", "ServerSentEvents", "LongPolling"])
def test_aspnet_signalr_1_1_4(run_aspnet_client: Callable[[str], dict[str, Any]], transport: str) -> None:
    result = run_aspnet_client(transport)
    assert result == {
        "stateAfterStart": "Connected",
        # POST /negotiate with no query string at all: negotiate version 0.
        "negotiateQuery": "",
        "negotiateResponse": {
            "keys": ["availableTransports", "connectionId", "negotiateVersion"],
            "negotiateVersion": 0,
            "availableTransports": ALL_TRANSPORTS,
        },
        # The negotiated connectionId is GetConnectionId() and the only id= the transport used.
        "connectIdIsConnectionId": {"fromNegotiate": True, "onTransport": True},
        "requestKinds": REQUEST_KINDS[transport],
        "echo": NON_ASCII,
        "add": 5,
        "sendResult": {"type": "undefined"},
        "join": {"type": "null"},
        "leave": {"type": "null"},
        # A: send Broadcast(NON_ASCII); B: SendCaller("caller"); B joins a group,
        # A sends "group", B leaves, A sends "group-after-leave"; A: Broadcast("marker").
        "inboxes": {
            "A": [NON_ASCII, "marker"],
            "B": [NON_ASCII, "caller", "group", "marker"],
        },
        "hubException": "An unexpected error occurred invoking 'ThrowHubException' on the server. "
        f"HubException: {NON_ASCII}",
        "unknownMethod": "Failed to invoke 'NoSuchMethod' due to an error on the server. "
        "HubException: Method does not exist.",
        # connection.stream("Counter", 3, 0)
        "counter": {"items": [0, 1, 2], "error": None},
        "echoAfter": "after",
        "closeEvents": [None],
        "stateAfterStop": "Disconnected",
        "invokeAfterStop": "Cannot send data if the connection is not in the 'Connected' State.",
        # AskCaller makes the server send an Invocation WITH an id: 1.x closes the
        # connection with this error, which also fails the pending AskCaller.
        "askCaller": NO_CLIENT_RESULTS,
        "askCallerCloseEvents": [NO_CLIENT_RESULTS],
        "askCallerState": "Disconnected",
        # /hubs/auth with accessTokenFactory returning "user:alice".
        "whoami": {"identifier": "alice", "name": "Alice", "userIdentifier": "alice", "transport": transport},
        "tokenCarriers": TOKEN_CARRIERS[transport],
    }
