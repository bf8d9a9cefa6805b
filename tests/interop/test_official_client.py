"""Interop with the official JavaScript client (@microsoft/signalr 10.0.11).

Each test runs one scenario of ``tests/node/scenarios.mjs`` in a Node
process against the conformance server (``protocol_tests/conformance_server.py``)
over WebSockets, with the JSON and the MessagePack hub protocol, with and
without the negotiate request (``skipNegotiation``), and asserts the exact
values the client saw.

Delivery checks compare whole inboxes: after each targeted send the scenario
broadcasts a marker and waits until every connection got it, so an inbox of
just ``["marker-N"]`` proves that connection received nothing from the step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.node

ScenarioRunner = Callable[..., dict[str, Any]]
"""The ``run_scenario`` fixture: ``(protocol, scenario, *, skip_negotiation=False) -> result``."""

NON_ASCII = "héllo ✓ 日本語 🎉"

PROTOCOLS = pytest.mark.parametrize("protocol", ["json", "messagepack"])
NEGOTIATION = pytest.mark.parametrize(
    "skip_negotiation", [False, True], ids=["negotiate", "skip-negotiation"]
)

BINDING_ERROR = (
    "Error binding arguments. Make sure that the types of the provided values "
    "match the types of the hub method being invoked."
)


def _delivered(marker: str, everyone: list[str], **received: list[str]) -> dict[str, list[str]]:
    """Expected inboxes of one step: ``received`` messages, then the marker, for everyone."""
    return {name: [*received.get(name, []), marker] for name in everyone}


# --------------------------------------------------------------- invocations


def _expected_payloads(protocol: str) -> dict[str, Any]:
    if protocol == "messagepack":
        date = {"type": "Date", "iso": "2017-04-11T00:00:00.000Z", "epochMs": 1491868800000}
        payload = {"type": "Uint8Array", "bytes": [0, 1, 2, 255]}
        return {
            "bytes": payload,
            "emptyBytes": {"type": "Uint8Array", "bytes": []},
            "datetime": date,
            "datetimeEqual": True,
            "datetimeInfo": "2017-04-11T00:00:00+00:00",
            "envelope": {
                "sender_name": {"type": "string", "value": "ann"},
                "sent_at": date,
                "payload": payload,
            },
        }
    return {
        # JSON: bytes travel as base64 text, datetimes as ISO 8601 text.
        "bytes": {"type": "string", "value": "AAEC/w=="},
        "emptyBytes": {"type": "string", "value": ""},
        "datetime": {"type": "string", "value": "2017-04-11T00:00:00Z"},
        "datetimeInfo": "2017-04-11T00:00:00+00:00",
        "datetimeInfoOffset": "2017-04-11T00:00:00+00:00",
        "envelope": {
            "sender_name": {"type": "string", "value": "ann"},
            "sent_at": {"type": "string", "value": "2017-04-11T00:00:00Z"},
            "payload": {"type": "string", "value": "AAEC/w=="},
        },
    }


@PROTOCOLS
@NEGOTIATION
def test_invocations_and_results(run_scenario: ScenarioRunner, protocol: str, skip_negotiation: bool) -> None:
    result = run_scenario(protocol, "invoke", skip_negotiation=skip_negotiation)

    client_connection_id = result.pop("clientConnectionId")
    connection_id_matches = result.pop("connectionIdMatchesClient")
    if skip_negotiation:
        # Without negotiate the JS client never learns its connection id.
        assert client_connection_id is None
        assert connection_id_matches is False
    else:
        assert isinstance(client_connection_id, str) and client_connection_id
        assert connection_id_matches is True

    assert result == {
        "echo": NON_ASCII,
        "echoString": NON_ASCII,
        "echoNested": {"list": [1, "ü", None, True], "nested": {"k": "日本"}},
        "echoCaseInsensitive": "snake",
        "add": 5,
        "syncAdd": 42,
        "typed": [7, "ß", 2.5, True, [1, 2, 3], {"one": 1, "two": 2}],
        "optionalNull": "none",
        "optionalValue": "int:42",
        "customName": "custom",
        # Like ASP.NET Core, a void hub method completes with result null.
        "voidMethod": {"type": "null"},
        "point": {"x": 1, "y": 2, "label": "p"},
        "pointDefaultLabel": {"x": -5, "y": 0, "label": ""},
        **_expected_payloads(protocol),
        "connectionIdIsString": True,
        "userIdentifier": None,
        # connection.send() resolves with nothing once the message is written.
        "sendResult": {"type": "undefined"},
        "received": [NON_ASCII],
        "custom": [{"target": "Custom", "args": ["x", 1, {"k": [True, None]}]}],
        "state": "Connected",
    }


# -------------------------------------------------------------------- errors


@PROTOCOLS
@NEGOTIATION
def test_error_texts(run_scenario: ScenarioRunner, protocol: str, skip_negotiation: bool) -> None:
    result = run_scenario(protocol, "errors", skip_negotiation=skip_negotiation)

    def no_such(method: str) -> str:
        return (
            f"Failed to invoke '{method}' due to an error on the server. HubException: Method does not exist."
        )

    common = {
        "throwHubException": "An unexpected error occurred invoking 'ThrowHubException' on the server. "
        "HubException: boom",
        "noSuchMethod": no_such("NoSuchMethod"),
        "privateMethod": no_such("_private"),
        "lifecycleHook": no_such("OnConnected"),
        "echoAfter": NON_ASCII,
        "addAfterSends": 5,
        "state": "Connected",
        "closeEvents": [],
    }
    add_failed = "Failed to invoke 'Add' due to an error on the server."

    assert result["plain"] == {
        **common,
        "throwException": "An unexpected error occurred invoking 'ThrowException' on the server.",
        "tooFewArguments": add_failed,
        "tooManyArguments": add_failed,
        "wrongType": add_failed,
        "floatForInt": add_failed,
    }
    assert result["detailed"] == {
        **common,
        "throwException": "An unexpected error occurred invoking 'ThrowException' on the server. "
        "ValueError: boom",
        "tooFewArguments": "Failed to invoke 'Add' due to an error on the server. "
        "InvalidDataException: Invocation provides 1 argument(s) but target expects 2.",
        "tooManyArguments": "Failed to invoke 'Add' due to an error on the server. "
        "InvalidDataException: Invocation provides 3 argument(s) but target expects 2.",
        "wrongType": f"{add_failed} InvalidDataException: {BINDING_ERROR}",
        "floatForInt": f"{add_failed} InvalidDataException: {BINDING_ERROR}",
    }


# ------------------------------------------------------------------- routing


@PROTOCOLS
@NEGOTIATION
def test_all_others_caller_client_clients_all_except(
    run_scenario: ScenarioRunner, protocol: str, skip_negotiation: bool
) -> None:
    result = run_scenario(protocol, "routing", skip_negotiation=skip_negotiation)
    abc = ["A", "B", "C"]
    assert result == {
        "distinctIds": True,
        # A: connection.send("Broadcast", ...) -> Clients.All
        "allViaSend": _delivered("marker-1", abc, A=["all-via-send"], B=["all-via-send"], C=["all-via-send"]),
        # A: Clients.Others
        "others": _delivered("marker-2", abc, B=["others"], C=["others"]),
        # B: Clients.Caller
        "caller": _delivered("marker-3", abc, B=["caller"]),
        # A: Clients.Client(B)
        "client": _delivered("marker-4", abc, B=["client"]),
        # B: Clients.Clients([A, C])
        "clients": _delivered("marker-5", abc, A=["clients"], C=["clients"]),
        # C: Clients.AllExcept([B, C])
        "allExcept": _delivered("marker-6", abc, A=["all-except"]),
        # A: Clients.Client(unknown id) reaches nobody and does not fail
        "unknownClient": _delivered("marker-7", abc),
    }


@PROTOCOLS
@NEGOTIATION
def test_groups(run_scenario: ScenarioRunner, protocol: str, skip_negotiation: bool) -> None:
    result = run_scenario(protocol, "groups", skip_negotiation=skip_negotiation)
    everyone = ["A", "B", "C", "D", "E"]
    # g1 = {A, B, C}, g2 = {D}, E is in no group and sends most messages.
    assert result == {
        "joinA": {"type": "null"},
        "joinB": {"type": "null"},
        "joinC": {"type": "null"},
        # E (not a member): Clients.Group(g1)
        "group": _delivered("marker-1", everyone, A=["group"], B=["group"], C=["group"]),
        # E: Clients.GroupExcept(g1, [B])
        "groupExcept": _delivered("marker-2", everyone, A=["group-except"], C=["group-except"]),
        # A: Clients.OthersInGroup(g1)
        "othersInGroup": _delivered("marker-3", everyone, B=["others-in-group"], C=["others-in-group"]),
        # E: Clients.Groups([g1, g2])
        "groups": _delivered("marker-4", everyone, A=["groups"], B=["groups"], C=["groups"], D=["groups"]),
        # A joins g1 a second time: still one copy
        "groupAfterDoubleJoin": _delivered(
            "marker-5",
            everyone,
            A=["group-after-double-join"],
            B=["group-after-double-join"],
            C=["group-after-double-join"],
        ),
        "leaveB": {"type": "null"},
        # B left g1
        "groupAfterLeave": _delivered("marker-6", everyone, A=["group-after-leave"], C=["group-after-leave"]),
        # E (not a member): Clients.OthersInGroup(g1) reaches every member
        "othersInGroupFromOutsider": _delivered(
            "marker-7", everyone, A=["others-in-group-from-outsider"], C=["others-in-group-from-outsider"]
        ),
        # A and C left too: g1 is empty
        "emptyGroup": _delivered("marker-8", everyone),
        # B joins g1 again
        "groupAfterRejoin": _delivered("marker-9", everyone, B=["group-after-rejoin"]),
    }


@PROTOCOLS
@NEGOTIATION
def test_users(run_scenario: ScenarioRunner, protocol: str, skip_negotiation: bool) -> None:
    result = run_scenario(protocol, "users", skip_negotiation=skip_negotiation)
    everyone = ["alice1", "alice2", "bob", "anon"]
    assert result == {
        "userIdentifiers": {"alice1": "alice", "alice2": "alice", "bob": "bob", "anon": None},
        # anon: Clients.User("alice") reaches both of alice's connections, not bob
        "user": _delivered("marker-1", everyone, alice1=["to-alice"], alice2=["to-alice"]),
        # alice1: Clients.User("bob")
        "userBob": _delivered("marker-2", everyone, bob=["to-bob"]),
        # anon: Clients.Users(["bob", "carol"]) (carol has no connection)
        "users": _delivered("marker-3", everyone, bob=["to-bob-and-carol"]),
        "unknownUser": _delivered("marker-4", everyone),
        # alice2 stopped: alice1 alone still gets alice's messages
        "userAfterStop": _delivered("marker-5", ["alice1", "bob", "anon"], alice1=["to-alice-again"]),
        "stoppedInbox": [],
    }


# ----------------------------------------------------------------- lifecycle


@PROTOCOLS
@NEGOTIATION
def test_stop_and_restart_same_connection(
    run_scenario: ScenarioRunner, protocol: str, skip_negotiation: bool
) -> None:
    result = run_scenario(protocol, "restart", skip_negotiation=skip_negotiation)
    assert result == {
        "initialState": "Disconnected",
        "stateAfterStart": "Connected",
        "firstClientIdMatches": True,
        "firstEcho": "first",
        # onclose fired once, without an error
        "closeEventsAfterStop": [None],
        "stateAfterStop": "Disconnected",
        "invokeWhileStopped": "Cannot send data if the connection is not in the 'Connected' State.",
        "stateAfterRestart": "Connected",
        "secondClientIdMatches": True,
        "connectionIdChanged": True,
        "secondEcho": NON_ASCII,
        "secondAdd": 5,
        "inbox": ["after-restart"],
        "closeEvents": [None, None],
        "finalState": "Disconnected",
    }


@PROTOCOLS
@NEGOTIATION
def test_server_abort_closes_client_without_error(
    run_scenario: ScenarioRunner, protocol: str, skip_negotiation: bool
) -> None:
    result = run_scenario(protocol, "abort", skip_negotiation=skip_negotiation)
    assert result == {
        # connection.send("Abort"): onclose fires with no error
        "closeEvents": [None],
        "state": "Disconnected",
        "invokeAfterAbort": "Cannot send data if the connection is not in the 'Connected' State.",
        "bystanderInbox": ["bystander-ok"],
        "victimInbox": [],
        "bystanderCloseEvents": [],
        "restartedEcho": "back",
        "restartedIdChanged": True,
        # connection.invoke("Abort"): the close cancels the pending invocation
        "invokeAbort": "Invocation canceled due to the underlying connection being closed.",
        "closeEventsAfterInvokeAbort": [None, None],
        "stateAfterInvokeAbort": "Disconnected",
    }


@PROTOCOLS
def test_json_only_hub(run_scenario: ScenarioRunner, protocol: str) -> None:
    result = run_scenario(protocol, "jsonOnly")
    if protocol == "json":
        assert result == {"echo": NON_ASCII, "state": "Connected"}
    else:
        assert result == {
            "startError": "Server returned handshake error: The protocol 'messagepack' is not supported.",
            "state": "Disconnected",
        }
