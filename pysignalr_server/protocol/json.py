"""The JSON hub protocol (``"json"``, version 2), byte-compatible with
ASP.NET Core's ``JsonHubProtocol``.

Writing follows the .NET writer's property order and compact form, so the
output equals the official test vectors byte for byte (non-ASCII written raw,
as ``UnsafeRelaxedJsonEscaping`` does). Parsing accepts properties in any
order and skips unknown ones, and reports errors with the .NET texts. .NET
reads JSON as a stream and reports the first problem it meets; Python's
parser is all-or-nothing, so when a payload is not valid JSON we walk it
pair by pair to report a property error that comes before the syntax error,
exactly as the .NET reader would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import InvalidDataError
from .base import HubProtocol, InvocationBinder, TransferFormat
from .binding import bind_completion, bind_invocation, bind_stream_item
from .conversion import Flavor, json_default
from .framing import RECORD_SEPARATOR, SplitResult, split_text
from .messages import (
    PING,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    PingMessage,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

__all__ = ["JsonHubProtocol", "token_type_name", "READ_ERROR"]

READ_ERROR = "Error reading JSON."

_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=json_default)
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
# JSONEncoder.encode builds its C encoder again on every call; building it
# once saves that and two Python frames per message. Without the
# circular-reference markers a cyclic result fails with RecursionError
# instead of ValueError, still reported as a serialization failure.
_c_encode: Any = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(
        None, json_default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
)


def _encode(value: Any) -> str:
    if _c_encode is None:  # pragma: no cover - CPython has the C accelerator
        return _encoder.encode(value)
    return "".join(_c_encode(value, 0))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_full_decode = _decoder.decode
_scan_once: Any = _decoder.scan_once  # type: ignore[attr-defined]


def _decode(text: str) -> Any:
    """``JSONDecoder.decode`` without its Python layers for the usual case: a
    document that starts at the first character and ends at the last. Any
    other input (surrounding whitespace, invalid JSON) takes the full path,
    which raises the same errors as before."""
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        return _full_decode(text)
    if end != len(text):
        return _full_decode(text)
    return value


_raw_decode = _decoder.raw_decode
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]

_MISSING: Any = object()


def token_type_name(value: Any) -> str:
    """The System.Text.Json token type of a decoded JSON value."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "StartObject"
    return "Number"


def _not_object(value: Any) -> InvalidDataError:
    return InvalidDataError(f"Unexpected JSON Token Type '{token_type_name(value)}'. Expected a JSON Object.")


def _expected(name: str, kind: str) -> InvalidDataError:
    return InvalidDataError(f"Expected '{name}' to be of type {kind}.")


def _missing(name: str) -> InvalidDataError:
    return InvalidDataError(f"Missing required property '{name}'.")


class JsonHubProtocol(HubProtocol):
    name = "json"
    version = 2
    transfer_format = TransferFormat.TEXT

    def split(self, data: bytes, max_message_size: int | None) -> SplitResult:
        return split_text(data, max_message_size)

    # ------------------------------------------------------------ parsing

    def parse_message(self, payload: bytes, binder: InvocationBinder) -> HubMessage | None:
        try:
            document = _decode(payload.decode("utf-8"))
        except (ValueError, RecursionError):
            # Not valid JSON as a whole: find what a streaming reader would
            # have reported first (always raises).
            return _from_pairs(_walk_pairs(payload), binder)
        if type(document) is not dict:
            raise _not_object(document)
        return _from_pairs(document.items(), binder)

    # ------------------------------------------------------------ writing

    def write_message(self, message: HubMessage) -> bytes:
        return _encode(_to_document(message)).encode("utf-8") + RECORD_SEPARATOR


def _invocation_document(kind: int, message: InvocationMessage | StreamInvocationMessage) -> dict[str, Any]:
    """Types 1 and 4, in the .NET writer's property order."""
    doc: dict[str, Any] = {"type": kind}
    if message.headers:
        doc["headers"] = message.headers
    if message.invocation_id:
        doc["invocationId"] = message.invocation_id
    doc["target"] = message.target
    doc["arguments"] = message.arguments
    if message.stream_ids is not None:
        doc["streamIds"] = message.stream_ids
    return doc


def _to_document(message: HubMessage) -> dict[str, Any]:
    t = type(message)
    doc: dict[str, Any]
    if t is InvocationMessage:
        assert isinstance(message, InvocationMessage)
        return _invocation_document(1, message)
    if t is CompletionMessage:
        assert isinstance(message, CompletionMessage)
        doc = {"type": 3}
        if message.headers:
            doc["headers"] = message.headers
        doc["invocationId"] = message.invocation_id
        if message.error is not None:
            doc["error"] = message.error
        elif message.has_result:
            doc["result"] = message.result
        return doc
    if t is StreamItemMessage:
        assert isinstance(message, StreamItemMessage)
        doc = {"type": 2}
        if message.headers:
            doc["headers"] = message.headers
        doc["invocationId"] = message.invocation_id
        doc["item"] = message.item
        return doc
    if t is PingMessage:
        return {"type": 6}
    if t is CloseMessage:
        assert isinstance(message, CloseMessage)
        doc = {"type": 7}
        if message.error is not None:
            doc["error"] = message.error
        if message.allow_reconnect:
            doc["allowReconnect"] = True
        return doc
    if t is StreamInvocationMessage:
        assert isinstance(message, StreamInvocationMessage)
        return _invocation_document(4, message)
    if t is CancelInvocationMessage:
        assert isinstance(message, CancelInvocationMessage)
        doc = {"type": 5}
        if message.headers:
            doc["headers"] = message.headers
        doc["invocationId"] = message.invocation_id
        return doc
    if t is AckMessage:
        assert isinstance(message, AckMessage)
        return {"type": 8, "sequenceId": message.sequence_id}
    if t is SequenceMessage:
        assert isinstance(message, SequenceMessage)
        return {"type": 9, "sequenceId": message.sequence_id}
    raise TypeError(f"Cannot write {t.__name__} with the JSON hub protocol")


def _walk_pairs(payload: bytes) -> Iterator[tuple[str, Any]]:
    """Yield the top-level (key, value) pairs of a broken JSON object in
    order, then raise at the first syntax error, as a streaming reader would."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidDataError(READ_ERROR) from None
    n = len(text)
    i = _skip_ws(text, 0)
    if i >= n or text[i] != "{":
        try:
            value, _ = _raw_decode(text, i)
        except (ValueError, RecursionError):
            raise InvalidDataError(READ_ERROR) from None
        raise _not_object(value)
    i = _skip_ws(text, i + 1)
    if i < n and text[i] == "}":
        raise InvalidDataError(READ_ERROR)  # a complete object would have parsed
    while True:
        if i >= n or text[i] != '"':
            raise InvalidDataError(READ_ERROR)
        try:
            key, i = _scanstring(text, i + 1)
        except ValueError:
            raise InvalidDataError(READ_ERROR) from None
        i = _skip_ws(text, i)
        if i >= n or text[i] != ":":
            raise InvalidDataError(READ_ERROR)
        i = _skip_ws(text, i + 1)
        try:
            value, i = _raw_decode(text, i)
        except (ValueError, RecursionError):
            raise InvalidDataError(READ_ERROR) from None
        yield key, value
        i = _skip_ws(text, i)
        if i < n and text[i] == ",":
            i = _skip_ws(text, i + 1)
            continue
        raise InvalidDataError(READ_ERROR)


def _skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\n\r":
        i += 1
    return i


def _read_headers(value: Any) -> dict[str, str]:
    if type(value) is not dict:
        raise _expected("headers", "StartObject")
    for key, item in value.items():
        if type(item) is not str:
            raise InvalidDataError(f"Expected header '{key}' to be of type String.")
    return value


def _from_pairs(pairs: Iterable[tuple[str, Any]], binder: InvocationBinder) -> HubMessage | None:
    mtype: Any = _MISSING
    headers: dict[str, str] | None = None
    invocation_id: Any = _MISSING
    target: Any = _MISSING
    arguments: Any = _MISSING
    stream_ids: list[str] | None = None
    item: Any = _MISSING
    result: Any = _MISSING
    error: Any = _MISSING
    allow_reconnect = False
    sequence_id: Any = _MISSING

    for key, value in pairs:
        if key == "type":
            if type(value) is not int:
                raise _expected("type", "Number")
            mtype = value
        elif key == "invocationId":
            if type(value) is not str:
                raise _expected("invocationId", "String")
            invocation_id = value
        elif key == "target":
            if type(value) is not str:
                raise _expected("target", "String")
            target = value
        elif key == "arguments":
            if type(value) is not list:
                raise _expected("arguments", "Array")
            arguments = value
        elif key == "headers":
            headers = _read_headers(value)
        elif key == "item":
            item = value
        elif key == "result":
            result = value
        elif key == "error":
            if type(value) is not str:
                raise _expected("error", "String")
            error = value
        elif key == "streamIds":
            if type(value) is not list:
                raise _expected("streamIds", "Array")
            for sid in value:
                if sid is None:
                    raise InvalidDataError("Null value for 'streamIds' is not valid.")
                if type(sid) is not str:
                    raise _expected("streamIds", "String")
            stream_ids = value
        elif key == "allowReconnect":
            if type(value) is not bool:
                raise _expected("allowReconnect", "Boolean")
            allow_reconnect = value
        elif key == "sequenceId":
            if type(value) is not int:
                raise _expected("sequenceId", "Number")
            sequence_id = value

    if mtype is _MISSING:
        raise _missing("type")
    headers = headers or None
    if mtype == 1:
        if target is _MISSING:
            raise _missing("target")
        if arguments is _MISSING:
            raise _missing("arguments")
        return bind_invocation(
            binder,
            Flavor.JSON,
            is_stream=False,
            invocation_id=None if invocation_id is _MISSING else (invocation_id or None),
            target=target,
            arguments=arguments,
            stream_ids=stream_ids,
            headers=headers,
        )
    if mtype == 6:
        return PING
    if mtype == 3:
        if invocation_id is _MISSING:
            raise _missing("invocationId")
        if error is not _MISSING:
            if result is not _MISSING:
                raise InvalidDataError("The 'error' and 'result' properties are mutually exclusive.")
            return CompletionMessage.with_error(invocation_id, error, headers)
        if result is _MISSING:
            return CompletionMessage.empty(invocation_id, headers)
        return bind_completion(binder, Flavor.JSON, invocation_id, result, headers)
    if mtype == 2:
        if invocation_id is _MISSING:
            raise _missing("invocationId")
        if item is _MISSING:
            raise _missing("item")
        return bind_stream_item(binder, Flavor.JSON, invocation_id, item, headers)
    if mtype == 4:
        if invocation_id is _MISSING:
            raise _missing("invocationId")
        if target is _MISSING:
            raise _missing("target")
        if arguments is _MISSING:
            raise _missing("arguments")
        return bind_invocation(
            binder,
            Flavor.JSON,
            is_stream=True,
            invocation_id=invocation_id,
            target=target,
            arguments=arguments,
            stream_ids=stream_ids,
            headers=headers,
        )
    if mtype == 5:
        if invocation_id is _MISSING:
            raise _missing("invocationId")
        return CancelInvocationMessage(invocation_id, headers)
    if mtype == 7:
        return CloseMessage(None if error is _MISSING else error, allow_reconnect)
    if mtype == 8 or mtype == 9:
        if sequence_id is _MISSING:
            raise _missing("sequenceId")
        return AckMessage(sequence_id) if mtype == 8 else SequenceMessage(sequence_id)
    return None  # unknown message types are ignored (future protocol versions)
