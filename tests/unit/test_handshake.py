"""Handshake request parsing and response writing (protocol-vectors.md
section 1, HandshakeProtocolTests.cs).

The client-side response parsing vectors of that section (``{"error":...}``
read by a client) have no server counterpart and are not tested here; the
server's handshake error strings (unknown protocol, unsupported version, ...)
are produced by the connection layer, except for the version limit, which is
the protocols' ``is_version_supported``."""

from __future__ import annotations

import json
import re

import pytest

from pysignalr_server.errors import InvalidDataError
from pysignalr_server.protocol import (
    HandshakeRequest,
    JsonHubProtocol,
    MessagePackHubProtocol,
    TransferFormat,
    parse_handshake_request,
    write_handshake_response,
)
from pysignalr_server.protocol.handshake import HANDSHAKE_SUCCESS

RS = b"\x1e"


@pytest.mark.parametrize(
    ("data", "protocol", "version"),
    [
        pytest.param(b'{"protocol":"dummy","version":1}\x1e', "dummy", 1, id="dummy_v1"),
        pytest.param(b'{"protocol":"","version":10}\x1e', "", 10, id="empty_protocol_v10"),
        pytest.param(
            b'{"protocol":"","version":10,"unknown":null}\x1e', "", 10, id="unknown_property_skipped"
        ),
        pytest.param(b'{"protocol":"json","version":1}\x1e', "json", 1, id="js_client_json"),
        pytest.param(b'{"protocol":"json","version":2}\x1e', "json", 2, id="stateful_reconnect_v2"),
        pytest.param(
            b'{"protocol":"messagepack","version":1}\x1e', "messagepack", 1, id="js_client_messagepack"
        ),
        pytest.param(b'{"version":1,"protocol":"json"}\x1e', "json", 1, id="version_first"),
    ],
)
def test_valid_request(data: bytes, protocol: str, version: int) -> None:
    assert parse_handshake_request(data) == (HandshakeRequest(protocol, version), b"")


@pytest.mark.parametrize(
    "data",
    [b"", b"42", b'{"protocol":"json","version":1}', b'{"protocol":"js'],
    ids=["empty", "number_no_separator", "full_object_no_separator", "partial_object"],
)
def test_incomplete_request_waits_for_more_data(data: bytes) -> None:
    assert parse_handshake_request(data) is None


INVALID = [
    pytest.param(b"42\x1e", "Unexpected JSON Token Type 'Number'. Expected a JSON Object.", id="number"),
    pytest.param(b'"42"\x1e', "Unexpected JSON Token Type 'String'. Expected a JSON Object.", id="string"),
    pytest.param(b"null\x1e", "Unexpected JSON Token Type 'Null'. Expected a JSON Object.", id="null"),
    pytest.param(b"{}\x1e", "Missing required property 'protocol'. Message content: {}", id="empty_object"),
    pytest.param(b"[]\x1e", "Unexpected JSON Token Type 'Array'. Expected a JSON Object.", id="array"),
    pytest.param(
        b'{"protocol":"json"}\x1e',
        'Missing required property \'version\'. Message content: {"protocol":"json"}',
        id="missing_version",
    ),
    pytest.param(
        b'{"version":1}\x1e',
        "Missing required property 'protocol'. Message content: {\"version\":1}",
        id="missing_protocol",
    ),
    pytest.param(
        b'{"type":4,"invocationId":"42","target":"foo","arguments":{}}\x1e',
        "Missing required property 'protocol'. Message content: "
        '{"type":4,"invocationId":"42","target":"foo","arguments":{}}',
        id="hub_message_instead_of_handshake",
    ),
    pytest.param(b'{"version":"123"}\x1e', "Expected 'version' to be of type Number.", id="version_string"),
    pytest.param(
        b'{"protocol":null,"version":123}\x1e',
        "Expected 'protocol' to be of type String.",
        id="protocol_null",
    ),
]


@pytest.mark.parametrize(("data", "error"), INVALID)
def test_invalid_request(data: bytes, error: str) -> None:
    with pytest.raises(InvalidDataError, match=re.escape(error) + "$"):
        parse_handshake_request(data)


def test_bytes_after_separator_are_returned_as_rest() -> None:
    ping = b'{"type":6}\x1e'
    data = b'{"protocol":"json","version":1}\x1e' + ping + b'{"type":1,"tar'
    assert parse_handshake_request(data) == (HandshakeRequest("json", 1), ping + b'{"type":1,"tar')


def test_binary_messages_after_messagepack_handshake_are_returned_as_rest() -> None:
    data = b'{"protocol":"messagepack","version":1}\x1e' + b"\x02\x91\x06"
    assert parse_handshake_request(data) == (HandshakeRequest("messagepack", 1), b"\x02\x91\x06")


def test_request_split_across_chunks() -> None:
    data = b'{"protocol":"json","version":1}\x1e'
    buffer = b""
    for i in range(len(data) - 1):
        buffer += data[i : i + 1]
        assert parse_handshake_request(buffer) is None
    assert parse_handshake_request(buffer + data[-1:]) == (HandshakeRequest("json", 1), b"")


def test_oversize_incomplete_request() -> None:
    with pytest.raises(OverflowError):
        parse_handshake_request(b'{"protocol":"' + b"x" * 100, max_size=64)


def test_success_response_is_exact() -> None:
    assert write_handshake_response() == b"{}\x1e"
    assert write_handshake_response(None) == b"{}\x1e"
    assert HANDSHAKE_SUCCESS == b"{}\x1e"


def test_empty_error_is_omitted() -> None:
    # HandshakeResponseMessage: the error is omitted when null or empty.
    assert write_handshake_response("") == b"{}\x1e"


ERRORS = [
    pytest.param("The protocol 'foo' is not supported.", id="unknown_protocol"),
    pytest.param("The server does not support version 3 of the 'json' protocol.", id="unsupported_version"),
    pytest.param(
        "Cannot use the 'messagepack' protocol on the current transport. "
        "The transport does not support 'Binary' transfer format.",
        id="binary_over_text_transport",
    ),
    pytest.param("Handshake was canceled.", id="canceled"),
    pytest.param("An unexpected error occurred during connection handshake.", id="unexpected"),
]


@pytest.mark.parametrize("error", ERRORS)
def test_error_response_format(error: str) -> None:
    """``{"error":"<msg>"}`` + RS, compact like System.Text.Json writes it."""
    assert write_handshake_response(error) == b'{"error":"' + error.encode() + b'"}' + RS


@pytest.mark.parametrize(
    "error",
    ['quote " and backslash \\', "new\nline", "non-ascii ü"],
    ids=["quote_backslash", "newline", "non_ascii"],
)
def test_error_response_is_valid_json(error: str) -> None:
    written = write_handshake_response(error)
    assert written.endswith(RS)
    assert written.count(RS) == 1
    assert json.loads(written[:-1]) == {"error": error}


@pytest.mark.parametrize(
    "protocol", [JsonHubProtocol(), MessagePackHubProtocol()], ids=["json", "messagepack"]
)
def test_supported_versions(protocol: JsonHubProtocol | MessagePackHubProtocol) -> None:
    """JSON and MessagePack support ``version <= 2`` (2 = stateful reconnect)."""
    assert protocol.is_version_supported(1)
    assert protocol.is_version_supported(2)
    assert not protocol.is_version_supported(3)


def test_protocol_names_and_transfer_formats() -> None:
    assert (JsonHubProtocol.name, JsonHubProtocol.transfer_format) == ("json", TransferFormat.TEXT)
    assert (MessagePackHubProtocol.name, MessagePackHubProtocol.transfer_format) == (
        "messagepack",
        TransferFormat.BINARY,
    )
