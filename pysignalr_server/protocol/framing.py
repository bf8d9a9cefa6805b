"""Message framing: 0x1E-terminated text records and varint-prefixed binary
records (TransportProtocols.md / HubProtocol.md).

Transports deliver arbitrary chunks; several messages may share a chunk and a
message may span chunks. ``split_text`` and ``split_binary`` cut a buffer into
complete records and return the incomplete rest. They never raise: an
oversize or invalid record is reported in ``error`` after the records that
came before it, so the caller handles those first, exactly as ASP.NET Core
processes a buffer message by message.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import InvalidDataError

__all__ = [
    "RECORD_SEPARATOR",
    "SplitResult",
    "split_text",
    "split_binary",
    "write_varint",
    "frame_binary",
    "max_size_error",
]

RECORD_SEPARATOR = b"\x1e"
_MAX_BINARY_LENGTH = 0x7FFFFFFF


class SplitResult(NamedTuple):
    records: list[bytes]
    rest: bytes
    error: InvalidDataError | None


def max_size_error(max_message_size: int) -> InvalidDataError:
    return InvalidDataError(
        f"The maximum message size of {max_message_size}B was exceeded. "
        "The message size can be configured in AddHubOptions."
    )


def split_text(data: bytes, max_message_size: int | None = None) -> SplitResult:
    """Split ``data`` into payloads (separator removed).

    A record counts against ``max_message_size`` with its separator, as in
    ASP.NET Core (which tries to parse only the first ``max`` bytes).
    """
    records: list[bytes] = []
    start = 0
    find = data.find
    while True:
        end = find(RECORD_SEPARATOR, start)
        if end < 0:
            rest = data[start:] if start else data
            if max_message_size is not None and len(rest) > max_message_size:
                return SplitResult(records, b"", max_size_error(max_message_size))
            return SplitResult(records, rest, None)
        if max_message_size is not None and end + 1 - start > max_message_size:
            return SplitResult(records, b"", max_size_error(max_message_size))
        records.append(data[start:end])
        start = end + 1


def split_binary(data: bytes, max_message_size: int | None = None) -> SplitResult:
    """Split ``data`` into MessagePack bodies (length prefix removed).

    The prefix is 1-5 bytes, 7 bits each, least significant group first. A
    record whose declared size can never fit ``max_message_size`` is refused
    as soon as its prefix is read, instead of buffering up to the limit.
    """
    records: list[bytes] = []
    pos = 0
    total = len(data)
    while pos < total:
        length = 0
        shift = 0
        i = pos
        while True:
            if i >= total:
                return SplitResult(records, data[pos:], None)
            byte = data[i]
            i += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift >= 35:
                # Five bytes and still a continuation bit: over 2 GB.
                return SplitResult(records, b"", _too_large())
        if length > _MAX_BINARY_LENGTH:
            return SplitResult(records, b"", _too_large())
        if max_message_size is not None and (i - pos) + length > max_message_size:
            return SplitResult(records, b"", max_size_error(max_message_size))
        end = i + length
        if end > total:
            return SplitResult(records, data[pos:], None)
        records.append(data[i:end])
        pos = end
    return SplitResult(records, b"", None)


class _MessageTooLargeError(InvalidDataError):
    # .NET's BinaryMessageParser throws a FormatException here; detailed
    # errors show that type name.
    error_type_name = "FormatException"


def _too_large() -> InvalidDataError:
    return _MessageTooLargeError("Messages over 2GB in size are not supported.")


def write_varint(length: int) -> bytes:
    out = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        if length:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def frame_binary(body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((n,)) + body
    return write_varint(n) + body
