"""The official JavaScript client (@microsoft/signalr 10.0.11) over every transport.

Each test runs a scenario of ``tests/node/scenarios.mjs`` with the transport
forced through ``HttpTransportType`` (``--transport=...``) against the
conformance server, and asserts the exact values the client saw. The
combinations are {WebSockets, ServerSentEvents, LongPolling} x {json,
messagepack} without ServerSentEvents + messagepack: SSE carries text only,
and the client refuses that combination itself (see
``test_start_failures_of_unsupported_combinations``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.node

ScenarioRunner = Callable[..., dict[str, Any]]
"""The ``run_scenario`` fixture: ``(protocol, scenario, *, skip_negotiation=False, transport=None)``."""

NON_ASCII = "héllo ✓ 日本語 🎉"

COMBINATIONS = pytest.mark.parametrize(
    ("transport", "protocol"),
    [
        ("WebSockets", "json"),
        ("WebSockets", "messagepack"),
        ("ServerSentEvents", "json"),
        ("LongPolling", "json"),
        ("LongPolling", "messagepack"),
    ],
)

TRANSPORT_CLASSES = {
    "WebSockets": "WebSocketTransport",
    "ServerSentEvents": "ServerSentEventsTransport",
    "LongPolling": "LongPollingTransport",
}


def _delivered(marker: str, **received: list[str]) -> dict[str, list[str]]:
    """Expected inboxes of A and B for one step: ``received``, then the marker."""
    return {name: [*received.get(name, []), marker] for name in ("A", "B")}


@COMBINATIONS
def test_hub_features_over_transport(run_scenario: ScenarioRunner, transport: str, protocol: str) -> None:
    result = run_scenario(protocol, "transports", transport=transport)
    transport_class = TRANSPORT_CLASSES[transport]
    assert result == {
        # The client really uses the forced transport.
        "transportClasses": {"A": transport_class, "B": transport_class},
        "echo": NON_ASCII,
        "add": 5,
        # A: connection.send("Broadcast", ...) -> Clients.All
        "sendResult": {"type": "undefined"},
        "all": _delivered("marker-1", A=[NON_ASCII], B=[NON_ASCII]),
        # B: Clients.Caller
        "caller": _delivered("marker-2", B=["caller"]),
        # A: Clients.Others
        "others": _delivered("marker-3", B=["others"]),
        # B joins a group; A (not a member) sends to it; B leaves; A sends again.
        "join": {"type": "null"},
        "group": _delivered("marker-4", B=["group"]),
        "leave": {"type": "null"},
        "groupAfterLeave": _delivered("marker-5"),
        "hubException": "An unexpected error occurred invoking 'ThrowHubException' on the server. "
        f"HubException: {NON_ASCII}",
        "unknownMethod": "Failed to invoke 'NoSuchMethod' due to an error on the server. "
        "HubException: Method does not exist.",
        "echoAfterErrors": "after errors",
        "counter": {"items": [0, 1, 2, 3, 4], "error": None},
        # Upload(Subject of "a", "b", "c")
        "upload": "abc",
        # AskCaller: the server invokes GetNumber(41) on the caller, which answers n + 1.
        "askCaller": 42,
        "clientResultCalls": [["GetNumber", 41]],
        # Connected to /HUBS/TEST: routes match case-insensitively on every request.
        "upperCasePath": {
            "transportClass": transport_class,
            "echo": NON_ASCII,
            "counter": {"items": [0, 1], "error": None},
        },
        # /hubs/auth Whoami (token "user:carol"): the server's view of the transport.
        "whoami": {"identifier": "carol", "name": "Carol", "userIdentifier": "carol", "transport": transport},
        "closeEvents": {"A": [None], "B": [None], "upper": [None], "who": [None]},
        "states": {"A": "Disconnected", "B": "Disconnected", "upper": "Disconnected", "who": "Disconnected"},
    }


def test_start_failures_of_unsupported_combinations(run_scenario: ScenarioRunner) -> None:
    # The scenario picks transport and protocol per connection itself.
    result = run_scenario("json", "transportErrors")
    no_connection = {"state": "Disconnected", "transportClass": None}
    assert result == {
        # SSE + MessagePack: refused by the CLIENT, after negotiate and before any
        # transport request: negotiate offers ServerSentEvents with transferFormats
        # ["Text"] only, so no enabled transport supports the Binary format. The
        # server's handshake error is never reached.
        "sseMessagePack": {
            "error": "Unable to connect to the server with any of the available transports. "
            "WebSockets failed: Error: 'WebSockets' is disabled by the client. "
            "ServerSentEvents failed: Error: 'ServerSentEvents' does not support Binary. "
            "LongPolling failed: Error: 'LongPolling' is disabled by the client.",
            **no_connection,
        },
        # The same with a MessagePack protocol object claiming the Text format: the
        # client opens the event stream and sends the handshake; the SERVER refuses
        # it, and the client prefixes the server's handshake error.
        "sseMessagePackClaimingText": {
            "error": "Server returned handshake error: Cannot use the 'messagepack' protocol on the "
            "current transport. The transport does not support 'Binary' transfer format.",
            **no_connection,
        },
        # /hubs/wsonly negotiates WebSockets alone: a client forced to another
        # transport finds nothing to use (client-side, after negotiate).
        "wsOnlyLongPolling": {
            "error": "Unable to connect to the server with any of the available transports. "
            "WebSockets failed: Error: 'WebSockets' is disabled by the client.",
            **no_connection,
        },
        "wsOnlyServerSentEvents": {
            "error": "Unable to connect to the server with any of the available transports. "
            "WebSockets failed: Error: 'WebSockets' is disabled by the client.",
            **no_connection,
        },
        "wsOnlyWebSockets": {"transportClass": "WebSocketTransport", "echo": NON_ASCII},
    }
