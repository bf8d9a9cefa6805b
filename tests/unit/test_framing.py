"""Message framing: 0x1E-terminated text records and varint-prefixed binary
records (protocol-vectors.md "Conventions", HubProtocol.md framing)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from protocol_support import frame

from pysignalr_server.errors import InvalidDataError
from pysignalr_server.protocol import PING, JsonHubProtocol, MessagePackHubProtocol, split_binary, split_text
from pysignalr_server.protocol.framing import frame_binary, write_varint

MAX_SIZE_ERROR = (
    "The maximum message size of 32768B was exceeded. The message size can be configured in AddHubOptions."
)
TOO_LARGE_ERROR = "Messages over 2GB in size are not supported."


def assert_error(error: InvalidDataError | None, text: str) -> None:
    assert isinstance(error, InvalidDataError)
    assert re.fullmatch(re.escape(text), str(error))


# ---------------------------------------------------------------- varints


@pytest.mark.parametrize(
    ("length", "prefix"),
    [
        pytest.param(0, "00", id="zero"),
        pytest.param(0x35, "35", id="spec_53"),
        pytest.param(0x7F, "7f", id="one_byte_max"),
        pytest.param(0x80, "80 01", id="two_bytes_min"),
        pytest.param(5248, "80 29", id="spec_5248"),
        pytest.param(0x3FFF, "ff 7f", id="two_bytes_max"),
        pytest.param(0x7FFFFFFF, "ff ff ff ff 07", id="five_bytes_max"),
    ],
)
def test_write_varint(length: int, prefix: str) -> None:
    assert write_varint(length) == bytes.fromhex(prefix)


@pytest.mark.parametrize(
    ("prefix", "length"),
    [pytest.param("35", 53, id="spec_53"), pytest.param("80 29", 5248, id="spec_5248")],
)
def test_split_binary_reads_varint_length(prefix: str, length: int) -> None:
    body = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    result = split_binary(bytes.fromhex(prefix) + body)
    assert result == ([body], b"", None)


def test_frame_binary() -> None:
    assert frame_binary(b"hello\nworld") == bytes.fromhex("0b 68 65 6c 6c 6f 0a 77 6f 72 6c 64")
    assert frame_binary(b"\x01\x02") == b"\x02\x01\x02"
    assert frame_binary(b"x" * 5248)[:2] == b"\x80\x29"


# ----------------------------------------------------------------- binary


def test_spec_binary_example() -> None:
    # The spec's prose says "Hello\nWorld", but its bytes are lower case
    # (0x68 = "h", 0x77 = "w"); the bytes are what is tested.
    data = bytes.fromhex("0b 68 65 6c 6c 6f 0a 77 6f 72 6c 64 02 01 02")
    assert split_binary(data) == ([b"hello\nworld", b"\x01\x02"], b"", None)
    assert frame_binary(b"hello\nworld") + frame_binary(b"\x01\x02") == data
    # The same frames with the capitals of the prose differ only in those bytes.
    assert split_binary(frame_binary(b"Hello\nWorld") + b"\x02\x01\x02") == (
        [b"Hello\nWorld", b"\x01\x02"],
        b"",
        None,
    )


def test_five_byte_max_prefix_waits_for_body() -> None:
    # 0x7fffffff is the largest length the 5-byte prefix may carry: valid,
    # just incomplete.
    data = bytes.fromhex("ff ff ff ff 07") + b"abc"
    assert split_binary(data) == ([], data, None)


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("ff ff ff ff 08", id="fifth_byte_over_7"),
        pytest.param("ff ff ff ff 0f", id="fifth_byte_0f"),
        pytest.param("80 80 80 80 80 01", id="sixth_byte"),
        pytest.param("ff ff ff ff ff", id="fifth_byte_continuation"),
    ],
)
def test_over_2gb_prefix_is_an_error(prefix: str) -> None:
    result = split_binary(bytes.fromhex(prefix) + b"abc")
    assert result.records == []
    assert_error(result.error, TOO_LARGE_ERROR)


def test_incomplete_prefix_waits() -> None:
    assert split_binary(b"\x80") == ([], b"\x80", None)
    assert split_binary(b"\x80\x80\x80\x80") == ([], b"\x80\x80\x80\x80", None)


def test_binary_partial_body_is_kept() -> None:
    assert split_binary(b"\x05\x01") == ([], b"\x05\x01", None)


def test_binary_several_messages_in_one_chunk() -> None:
    bodies = [b"\x91\x06", b"\x93\x05\x80\xa1\x31", b"", b"x" * 300]
    data = b"".join(frame(b) for b in bodies)
    assert split_binary(data) == (bodies, b"", None)


def test_binary_message_split_across_chunks() -> None:
    protocol = MessagePackHubProtocol()
    body = b"y" * 200  # two-byte prefix, so chunks also split the prefix
    data = frame(body) + frame(b"\x91\x06")
    buffer = b""
    records: list[bytes] = []
    for i in range(len(data)):
        result = protocol.split(buffer + data[i : i + 1], 32768)
        assert result.error is None
        records += result.records
        buffer = result.rest
    assert records == [body, b"\x91\x06"]
    assert buffer == b""


def test_binary_max_size_exceeded() -> None:
    data = frame(b"x" * 40000)
    result = split_binary(data, 32768)
    assert result.records == []
    assert_error(result.error, MAX_SIZE_ERROR)


def test_binary_max_size_refused_from_prefix_alone() -> None:
    # The declared length can never fit, so there is no need to buffer it.
    result = split_binary(write_varint(40000) + b"x", 32768)
    assert_error(result.error, MAX_SIZE_ERROR)


def test_binary_max_size_counts_the_prefix() -> None:
    fits = frame(b"x" * (32768 - 3))  # 3-byte prefix + body = 32768
    assert len(fits) == 32768
    assert split_binary(fits, 32768) == ([b"x" * (32768 - 3)], b"", None)
    too_big = frame(b"x" * (32768 - 2))
    assert_error(split_binary(too_big, 32768).error, MAX_SIZE_ERROR)


def test_binary_records_before_oversize_record_are_returned() -> None:
    data = frame(b"\x91\x06") + frame(b"a") + frame(b"x" * 40000)
    result = split_binary(data, 32768)
    assert result.records == [b"\x91\x06", b"a"]
    assert_error(result.error, MAX_SIZE_ERROR)


def test_binary_records_before_over_2gb_prefix_are_returned() -> None:
    result = split_binary(frame(b"\x91\x06") + bytes.fromhex("ff ff ff ff 08"))
    assert result.records == [b"\x91\x06"]
    assert_error(result.error, TOO_LARGE_ERROR)


# ------------------------------------------------------------------- text


def test_text_several_messages_in_one_chunk() -> None:
    data = b'{"type":6}\x1e{"type":1,"target":"Echo","arguments":["hi"]}\x1e{"type":7}\x1e'
    assert split_text(data) == (
        [b'{"type":6}', b'{"type":1,"target":"Echo","arguments":["hi"]}', b'{"type":7}'],
        b"",
        None,
    )


def test_text_incomplete_record_is_kept() -> None:
    assert split_text(b'{"type":6}\x1e{"type"') == ([b'{"type":6}'], b'{"type"', None)
    assert split_text(b'{"type"') == ([], b'{"type"', None)
    assert split_text(b"") == ([], b"", None)


def test_text_message_split_across_chunks() -> None:
    protocol = JsonHubProtocol()
    data = b'{"type":1,"target":"Echo","arguments":["hi"]}\x1e{"type":6}\x1e'
    buffer = b""
    records: list[bytes] = []
    for i in range(0, len(data), 7):
        result = protocol.split(buffer + data[i : i + 7], 32768)
        assert result.error is None
        records += result.records
        buffer = result.rest
    assert records == [b'{"type":1,"target":"Echo","arguments":["hi"]}', b'{"type":6}']
    assert buffer == b""


def test_text_max_size_exceeded() -> None:
    result = split_text(b"x" * 40000 + b"\x1e", 32768)
    assert result.records == []
    assert_error(result.error, MAX_SIZE_ERROR)


def test_text_max_size_exceeded_without_separator() -> None:
    result = split_text(b"x" * 40000, 32768)
    assert_error(result.error, MAX_SIZE_ERROR)


def test_text_max_size_counts_the_separator() -> None:
    # ASP.NET Core looks for the separator in the first ``max`` bytes.
    assert split_text(b"x" * 32767 + b"\x1e", 32768) == ([b"x" * 32767], b"", None)
    assert_error(split_text(b"x" * 32768 + b"\x1e", 32768).error, MAX_SIZE_ERROR)


def test_text_records_before_oversize_record_are_returned() -> None:
    data = b'{"type":6}\x1e{"type":7}\x1e' + b"x" * 40000 + b"\x1e"
    result = split_text(data, 32768)
    assert result.records == [b'{"type":6}', b'{"type":7}']
    assert_error(result.error, MAX_SIZE_ERROR)


def test_protocol_write_then_split_round_trip() -> None:
    json_protocol = JsonHubProtocol()
    written = json_protocol.write_message(PING)
    assert json_protocol.split(written * 2, None) == ([b'{"type":6}', b'{"type":6}'], b"", None)
    msgpack_protocol = MessagePackHubProtocol()
    written = msgpack_protocol.write_message(PING)
    assert msgpack_protocol.split(written * 2, None) == ([b"\x91\x06", b"\x91\x06"], b"", None)


# ------------------------------------------------------------- properties


@given(st.integers(min_value=0, max_value=0x7FFFFFFF))
def test_varint_matches_reference(length: int) -> None:
    prefix = write_varint(length)
    assert 1 <= len(prefix) <= 5
    assert all(b & 0x80 for b in prefix[:-1]) and not prefix[-1] & 0x80
    assert sum((b & 0x7F) << (7 * i) for i, b in enumerate(prefix)) == length


@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.lists(st.integers(min_value=0, max_value=3000), max_size=6),
)
def test_binary_split_at_any_points(bodies: list[bytes], cuts: list[int]) -> None:
    data = b"".join(frame_binary(b) for b in bodies)
    records: list[bytes] = []
    buffer = b""
    points = sorted({min(c, len(data)) for c in cuts} | {len(data)})
    start = 0
    for point in points:
        result = split_binary(buffer + data[start:point], 32768)
        assert result.error is None
        records += result.records
        buffer = result.rest
        start = point
    assert records == bodies
    assert buffer == b""


@given(
    st.lists(st.binary(max_size=200).map(lambda b: b.replace(b"\x1e", b"")), max_size=8),
    st.lists(st.integers(min_value=0, max_value=2000), max_size=6),
)
def test_text_split_at_any_points(payloads: list[bytes], cuts: list[int]) -> None:
    data = b"".join(p + b"\x1e" for p in payloads)
    records: list[bytes] = []
    buffer = b""
    points = sorted({min(c, len(data)) for c in cuts} | {len(data)})
    start = 0
    for point in points:
        result = split_text(buffer + data[start:point], 32768)
        assert result.error is None
        records += result.records
        buffer = result.rest
        start = point
    assert records == payloads
    assert buffer == b""
