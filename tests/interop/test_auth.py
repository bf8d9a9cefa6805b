"""Authentication and authorization with the official JavaScript client (10.0.11).

``/hubs/auth`` (``AuthHub``) requires a user; ``/hubs/openauth``
(``OpenAuthHub``) allows anonymous connections and guards ``MembersOnly``.
The conformance server's ``token_auth`` accepts the TEST-ONLY tokens
``user:<name>`` and ``admin:<name>`` and refuses ``bad`` with 401.

Each transport is driven twice: with the token from ``accessTokenFactory``
and with the token in the URL (``?access_token=...`` in ``withUrl``, no
factory). The scenario also records where the Node client puts the token on
every request it makes (``tokenCarriers``), so the claims below are checked,
not assumed. In Node, with ``accessTokenFactory``:

* negotiate: ``Authorization: Bearer <token>`` header;
* WebSockets: the header, on the upgrade request (browsers, which cannot set
  WebSocket headers, use ``?access_token=`` instead);
* Server-Sent Events: the EventSource GET carries ``?access_token=`` in the
  URL even in Node; the POSTs that send messages carry the header;
* long polling: polls, sends and the final DELETE carry the header.

With the token in the URL, every request simply keeps the URL's query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.node

ScenarioRunner = Callable[..., dict[str, Any]]
"""The ``run_scenario`` fixture: ``(protocol, scenario, *, skip_negotiation=False, transport=None)``."""

NON_ASCII = "héllo ✓ 日本語 🎉"
TRANSPORTS = pytest.mark.parametrize("transport", ["WebSockets", "ServerSentEvents", "LongPolling"])

# Where the client put the token, per request kind (see the module docstring).
FACTORY_TOKEN_CARRIERS = {
    "WebSockets": {"negotiate": ["header"], "websocket": ["header"]},
    "ServerSentEvents": {"negotiate": ["header"], "eventsource": ["query"], "send": ["header"]},
    "LongPolling": {"negotiate": ["header"], "poll": ["header"], "send": ["header"], "delete": ["header"]},
}
QUERY_TOKEN_CARRIERS = {
    transport: {kind: ["query"] for kind in kinds} for transport, kinds in FACTORY_TOKEN_CARRIERS.items()
}

# token_auth raises aiohttp's HTTPUnauthorized for "bad": its default body is
# "401: Unauthorized", and the client quotes a non-empty error body (else the
# status text, as for the empty 401 the server sends when no user is present).
BAD_TOKEN_ERROR = (
    "Failed to complete negotiation with the server: Error: 401: Unauthorized: Status code '401'"
)
NO_TOKEN_ERROR = "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'"


@TRANSPORTS
def test_tokens_and_authorization(run_scenario: ScenarioRunner, transport: str) -> None:
    result = run_scenario("json", "auth", transport=transport)
    token_carriers = result.pop("tokenCarriers")

    def whoami(identifier: str) -> dict[str, Any]:
        # The user identifier comes from the authenticated user.
        return {
            "identifier": identifier,
            "name": identifier.title(),
            "userIdentifier": identifier,
            "transport": transport,
        }

    per_mode = {
        # "user:alice"
        "whoami": whoami("alice"),
        "adminOnlyAsUser": "Failed to invoke 'AdminOnly' because user is unauthorized",
        # "admin:root"
        "adminOnlyAsAdmin": "admin ok",
        "adminWhoami": whoami("root"),
        # "bad": negotiate answers 401
        "badToken": BAD_TOKEN_ERROR,
        "badTokenState": "Disconnected",
        # /hubs/openauth with "user:alice": OpenAuthHub.Whoami returns the user identifier
        "openWhoami": "alice",
        "openMembersOnly": "member ok",
    }
    assert result == {
        "factory": per_mode,
        "query": per_mode,
        "noToken": NO_TOKEN_ERROR,
        "noTokenState": "Disconnected",
        # /hubs/openauth without a token
        "anonymous": {
            "whoami": {"type": "null"},
            "membersOnly": "Failed to invoke 'MembersOnly' because user is unauthorized",
            "echo": NON_ASCII,
        },
    }
    assert token_carriers == {
        "factory": FACTORY_TOKEN_CARRIERS[transport],
        "query": QUERY_TOKEN_CARRIERS[transport],
    }


# Connections of authUsers: three of bob (token "user:bob" and ?user=bob) on the
# three transports, two more of bob with the token only, and alice (SSE).
TAGGED_BOBS = ["bobWebSockets", "bobServerSentEvents", "bobLongPolling"]
TOKEN_ONLY_BOBS = ["tokenBobWebSockets", "tokenBobLongPolling"]
EVERYONE = [*TAGGED_BOBS, *TOKEN_ONLY_BOBS, "alice"]


def _delivered(marker: str, **received: list[str]) -> dict[str, list[str]]:
    return {name: [*received.get(name, []), marker] for name in EVERYONE}


def _only(names: list[str], inboxes: dict[str, Any]) -> dict[str, Any]:
    return {name: inboxes[name] for name in names}


def test_one_user_on_every_transport(run_scenario: ScenarioRunner) -> None:
    result = run_scenario("json", "authUsers")
    checked = [*TAGGED_BOBS, "alice"]
    assert _only(checked, result["userIdentifiers"]) == {
        "bobWebSockets": "bob",
        "bobServerSentEvents": "bob",
        "bobLongPolling": "bob",
        "alice": "alice",
    }
    # alice: Clients.User("bob") reaches bob's connection on every transport.
    assert _only(checked, result["sendUser"]) == _only(
        checked,
        _delivered(
            "marker-1", bobWebSockets=["to-bob"], bobServerSentEvents=["to-bob"], bobLongPolling=["to-bob"]
        ),
    )
    # bob (WebSockets): Clients.Users(["alice", "carol"]) reaches alice over SSE.
    assert _only(checked, result["sendUsers"]) == _only(
        checked, _delivered("marker-2", alice=["to-alice-and-carol"])
    )


def test_token_user_is_the_user_identifier(run_scenario: ScenarioRunner) -> None:
    result = run_scenario("json", "authUsers")
    assert _only(TOKEN_ONLY_BOBS, result["userIdentifiers"]) == {
        "tokenBobWebSockets": "bob",
        "tokenBobLongPolling": "bob",
    }
    assert _only(TOKEN_ONLY_BOBS, result["sendUser"]) == {
        "tokenBobWebSockets": ["to-bob", "marker-1"],
        "tokenBobLongPolling": ["to-bob", "marker-1"],
    }
