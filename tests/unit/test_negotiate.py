"""The negotiate exchange: choosing the version and writing the response
byte for byte as the .NET writer does."""

from __future__ import annotations

import json

import pytest

from pysignalr_server.connections import TransportType, parse_negotiate_version, write_negotiate_response
from pysignalr_server.connections.negotiate import MAX_VERSION, write_negotiate_error
from pysignalr_server.errors import NegotiateError

NON_INTEGER = "The client requested a non-integer protocol version."
WS = [TransportType.WEBSOCKETS]
ALL = [TransportType.WEBSOCKETS, TransportType.SERVER_SENT_EVENTS, TransportType.LONG_POLLING]


# ----------------------------------------------------------------- version


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 0),
        ("0", 0),
        ("1", 1),
        ("2", 1),
        ("99", 1),
        (" 1 ", 1),
        ("+1", 1),
        ("001", 1),
        ("10000000000", 1),
    ],
)
def test_version_is_min_of_requested_and_one(raw: str | None, expected: int) -> None:
    assert parse_negotiate_version(raw) == expected


def test_max_version_is_one() -> None:
    assert MAX_VERSION == 1


@pytest.mark.parametrize("raw", ["", " ", "abc", "1.5", "1e3", "0x1", "1_000", "one", "1 2", "--1", "+"])
def test_non_integer_versions_are_refused(raw: str) -> None:
    with pytest.raises(NegotiateError) as info:
        parse_negotiate_version(raw)
    assert info.value.status == 200  # answered as {"error": ...}, as .NET does
    assert info.value.message == NON_INTEGER


def test_negative_version_is_refused() -> None:
    with pytest.raises(NegotiateError) as info:
        parse_negotiate_version("-1")
    assert info.value.status == 200
    assert info.value.message == (
        "The client requested version '-1', but the server does not support this version."
    )


@pytest.mark.parametrize(("raw", "ok"), [(None, False), ("0", False), ("1", True), ("5", True)])
def test_minimum_version(raw: str | None, ok: bool) -> None:
    if ok:
        assert parse_negotiate_version(raw, minimum=1) == 1
        return
    with pytest.raises(NegotiateError) as info:
        parse_negotiate_version(raw, minimum=1)
    assert info.value.message == (
        "The client requested version '0', but the server does not support this version."
    )


# ---------------------------------------------------------------- response


def test_version_0_response_has_no_token() -> None:
    body = write_negotiate_response(version=0, connection_id="abc", connection_token="abc", transports=WS)
    assert body == (
        b'{"negotiateVersion":0,"connectionId":"abc","availableTransports":'
        b'[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]}'
    )


def test_version_1_response_adds_the_token_after_the_id() -> None:
    body = write_negotiate_response(
        version=1, connection_id="id-1", connection_token="secret-token", transports=WS
    )
    assert body == (
        b'{"negotiateVersion":1,"connectionId":"id-1","connectionToken":"secret-token",'
        b'"availableTransports":[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]}'
    )


def test_stateful_reconnect_comes_first() -> None:
    body = write_negotiate_response(
        version=1, connection_id="i", connection_token="t", transports=WS, use_stateful_reconnect=True
    )
    assert body.startswith(b'{"useStatefulReconnect":true,"negotiateVersion":1,"connectionId":"i",')
    assert list(json.loads(body)) == [
        "useStatefulReconnect",
        "negotiateVersion",
        "connectionId",
        "connectionToken",
        "availableTransports",
    ]


def test_stateful_reconnect_false_is_omitted() -> None:
    body = write_negotiate_response(
        version=1, connection_id="i", connection_token="t", transports=WS, use_stateful_reconnect=False
    )
    assert b"useStatefulReconnect" not in body


def test_every_transport_with_its_formats_in_order() -> None:
    body = write_negotiate_response(version=1, connection_id="i", connection_token="t", transports=ALL)
    assert body.endswith(
        b'"availableTransports":['
        b'{"transport":"WebSockets","transferFormats":["Text","Binary"]},'
        b'{"transport":"ServerSentEvents","transferFormats":["Text"]},'
        b'{"transport":"LongPolling","transferFormats":["Text","Binary"]}]}'
    )


def test_no_transports() -> None:
    body = write_negotiate_response(version=0, connection_id="i", connection_token="i", transports=[])
    assert body == b'{"negotiateVersion":0,"connectionId":"i","availableTransports":[]}'


def test_ids_are_json_escaped() -> None:
    body = write_negotiate_response(version=1, connection_id='a"b', connection_token="c\\d", transports=[])
    doc = json.loads(body)
    assert (doc["connectionId"], doc["connectionToken"]) == ('a"b', "c\\d")


def test_error_response() -> None:
    assert write_negotiate_error(NON_INTEGER) == (
        b'{"error":"The client requested a non-integer protocol version."}'
    )
