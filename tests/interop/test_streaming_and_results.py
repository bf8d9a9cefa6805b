"""Streams, upload streams and client results with the official JavaScript client.

Each test runs one scenario of ``tests/node/scenarios.mjs`` (``@microsoft/signalr``
10.0.11) over WebSockets with the JSON and the MessagePack hub protocol against
the ``TestHub`` of ``protocol_tests/conformance_server.py``, and asserts the
exact values and error texts the client saw.

The scenarios also record every message the client parses (a wrapper around
its hub protocol), which shows what the server sent even where the client
drops it on purpose: items and the Completion of a stream whose subscription
was already disposed.
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

STREAM_ERROR = "An error occurred on the server while streaming results."


def _done(items: list[Any]) -> dict[str, Any]:
    """A stream that completed after ``items``."""
    return {"items": items, "error": None}


def _failed(items: list[Any], error: str) -> dict[str, Any]:
    """A stream that ended with ``error`` after ``items``."""
    return {"items": items, "error": error}


# ------------------------------------------------------ server-to-client


@PROTOCOLS
def test_server_streams(run_scenario: ScenarioRunner, protocol: str) -> None:
    result = run_scenario(protocol, "streams")

    def common(failing_error: str) -> dict[str, Any]:
        return {
            "throwing": _failed([0, 1], f"{STREAM_ERROR} HubException: bad"),
            "failing": _failed([0], failing_error),
            "invokeStreaming": "The client attempted to invoke the streaming 'Counter' method "
            "with a non-streaming invocation.",
            "streamNonStreaming": _failed(
                [],
                "The client attempted to invoke the non-streaming 'Add' method with a streaming invocation.",
            ),
            "streamUnknown": _failed(
                [],
                "Failed to invoke 'NoSuchMethod' due to an error on the server. "
                "HubException: Method does not exist.",
            ),
            "echoAfter": NON_ASCII,
            "state": "Connected",
        }

    assert result == {
        "counter": _done([0, 1, 2]),
        # Counter(10000, 0): every item, in order, then the completion.
        "large": {"count": 10000, "inOrder": True, "first": 0, "last": 9999, "error": None},
        # Two streams at once on one connection (streams take no invocation slot).
        "concurrent": [_done([0, 1, 2, 3, 4]), _done([0, 1, 2, 3])],
        "empty": _done([]),
        "iterator": _done([0, 10, 20]),
        # A non-HubException's text only reaches the client with detailed errors.
        "plain": common(STREAM_ERROR),
        "detailed": common(f"{STREAM_ERROR} ValueError: stream failed"),
    }


@PROTOCOLS
def test_disposing_a_subscription_cancels_the_stream(run_scenario: ScenarioRunner, protocol: str) -> None:
    result = run_scenario(protocol, "streamCancel")
    assert result == {
        "echoAfterCancel": "barrier",
        "receivedAtLeast3": True,
        # The subscriber hears nothing after dispose(): no item, no complete, no error.
        "itemsAfterDispose": 0,
        "subscriberEnds": [],
        # What the server sent for Infinite(0.01): items 0..n-1 in order, ...
        "wireItemsInOrder": True,
        # ... then StreamCanceled(n) from the method's finally block (n = items sent,
        # so every item came before it) and a Completion without error ending the
        # stream; nothing more for the stream up to the Echo round trip (the barrier).
        "streamCanceledCalls": 1,
        "canceledCountIsItemsSent": True,
        "wireAfterLastItem": [
            "Invocation(StreamCanceled)",
            "Completion(stream)",
            'Completion(other, result="barrier")',
        ],
        # WatchToken: its CancellationToken is cancelled; "never delivered" is not sent.
        "echoAfterWatch": "barrier-2",
        "watchItems": ["started"],
        "watchEnds": [],
        "watchWire": ['StreamItem(stream, "started")', "Completion(stream)"],
        "counterAfter": _done([0, 1, 2]),
        "state": "Connected",
    }


# ------------------------------------------------------ client-to-server


@PROTOCOLS
def test_upload_streams(run_scenario: ScenarioRunner, protocol: str) -> None:
    result = run_scenario(protocol, "uploads")
    unexpected = "An unexpected error occurred invoking '{}' on the server."
    failed = "Failed to invoke '{}' due to an error on the server."

    def wrong_streams(detail: Callable[[str], str]) -> dict[str, Any]:
        return {
            # invoke("Upload"): no argument, no stream.
            "noStream": f"{unexpected.format('Upload')} "
            "HubException: Client sent 0 stream(s), Hub method expects 1.",
            # invoke("Upload", "abc"): the plain value fails argument binding first, since
            # stream parameters are not bound from `arguments` (as in ASP.NET Core).
            "plainValue": failed.format("Upload")
            + detail(" InvalidDataException: Invocation provides 1 argument(s) but target expects 0."),
            # invoke("Upload", s1, s2): the stock client sends s2 as a plain argument (see below).
            "twoStreams": failed.format("Upload")
            + detail(" InvalidDataException: Invocation provides 1 argument(s) but target expects 0."),
            # invoke("Echo", subject): one stream id and no argument.
            "streamToPlainMethod": failed.format("Echo")
            + detail(" InvalidDataException: Invocation provides 0 argument(s) but target expects 1."),
            # stream("UploadToStream") without its upload.
            "streamInvocationNoStream": f"{unexpected.format('UploadToStream')} "
            "HubException: Client sent 0 stream(s), Hub method expects 1.",
            "echoAfter": NON_ASCII,
            "state": "Connected",
        }

    def plain(_: str) -> str:
        return ""

    def detailed(text: str) -> str:
        return text

    upload_failed = f"{unexpected.format('Upload')} HubException: Something bad"
    assert result == {
        "upload": "abc",
        # An invocation while the upload is open runs at once; the upload then goes on.
        "echoDuringUpload": "during upload",
        "uploadAfterEcho": "12",
        "uploadUnicode": f"{NON_ASCII}!",
        "uploadEmpty": "",
        # subject.error(new Error("Something bad")): the JS client sends the Error's
        # message as the Completion error, and the hub's iterator raises HubException(it).
        "uploadError": "HubException: Something bad",
        # Unhandled in the hub method, that HubException fails the invocation.
        "uploadErrorUnhandled_plain": upload_failed,
        "uploadErrorUnhandled_detailed": upload_failed,
        # @microsoft/signalr 10.0.11 cannot send two stream arguments in a row:
        # _replaceStreamingParams splices the first out of `args` and skips the next,
        # so the second Subject goes out as a plain argument beside one stream id.
        "uploadTwoStockClient_plain": failed.format("UploadTwo"),
        "uploadTwoStockClient_detailed": failed.format("UploadTwo")
        + " InvalidDataException: Invocation provides 1 argument(s) but target expects 0.",
        # With that loop fixed on one connection object, both uploads arrive.
        "uploadTwo": [["x", "y"], [1, 2, 3]],
        "uploadSum": "total:10",
        "uploadToStream": _done([2, 4, 6]),
        "wrongStreams_plain": wrong_streams(plain),
        "wrongStreams_detailed": wrong_streams(detailed),
    }


# --------------------------------------------------------- client results


@PROTOCOLS
def test_client_results(run_scenario: ScenarioRunner, protocol: str) -> None:
    result = run_scenario(protocol, "clientResults")

    wrong_type = result.pop("wrongType")
    assert wrong_type.startswith("HubException: Error trying to deserialize result to int. "), wrong_type

    b_id = result.pop("disconnectedId")
    assert isinstance(b_id, str) and b_id

    assert result == {
        # GetNumber handler returning 10.
        "ten": "result: 10",
        # AskCaller on /hubs/test (one invocation at a time): the hub method awaits its
        # own caller's result without deadlocking, and the connection keeps working.
        "askCaller": 42,
        "echoAfterAskCaller": NON_ASCII,
        "described": "result: 42",
        # The client's GetNumber first does an Echo round trip while AskCaller waits:
        # the waiting method has given its slot back, so the Echo runs meanwhile.
        "askCallerWithNestedEcho": 42,
        "echoedDuringAsk": ["during AskCaller"],
        "asyncHandler": "result: 82",
        # throw new Error("from callback"): the JS client sends `${error}`.
        "clientThrows": "HubException: Error: from callback",
        "noHandler": "HubException: Client didn't provide a result.",
        "handlerReturnsNothing": "HubException: Client didn't provide a result.",
        "timeout": "TimeoutError",
        "unknownConnection": "ConnectionNotFoundError: Connection 'nope' does not exist.",
        # B stopped while the server waited for its Hang result.
        "disconnected": f"ConnectionDisconnectedError: Connection '{b_id}' disconnected.",
        "otherClient": "result: 123",
        "calls": {
            "A": [
                ["GetNumber", 41],
                ["GetNumber", 41],
                ["GetNumber", 41],
                ["GetNumber", 41],
                ["AsyncDouble", 41],
                ["Throw", 41],
                ["NoResult", 41],
                ["WrongType", 41],
                ["Hang", 41],
            ],
            "B": [["Hang", 41]],
            "C": [["GetNumber", 41]],
        },
        "echoAfter": "end",
        "closeEvents": {"A": [], "B": [None]},
        "state": "Connected",
    }


@PROTOCOLS
def test_client_result_requested_by_an_http_route(run_scenario: ScenarioRunner, protocol: str) -> None:
    # Node POSTs to /api/ask/{connection_id} (the hub context, outside any hub)
    # while its connections are open and answer GetNumber.
    result = run_scenario(protocol, "hubContext")
    assert result == {
        "ask": {"status": 200, "body": {"result": 42}},
        "askThrowing": {"status": 200, "body": {"error": "HubException: Error: from callback"}},
        "askUnknown": {
            "status": 200,
            "body": {"error": "ConnectionNotFoundError: Connection 'nope' does not exist."},
        },
        "calls": {"A": [["GetNumber", 41]], "B": [["GetNumber", 41]]},
        "echoAfter": "after",
        "state": "Connected",
    }
