"""The MessagePack hub protocol (``"messagepack"``, version 2), compatible
with ASP.NET Core's ``MessagePackHubProtocol``.

Messages are arrays (see HubProtocol.md); each is framed with a varint
length. The reader is a streaming one, like .NET's ``MessagePackReader``, so
malformed input is reported with the same "Reading 'x' as String failed."
texts, at the same field, even when the data is cut short. Trailing extra
array items are ignored; 5-element invocations (no ``streamIds``) and
2-element Close messages are accepted.
"""

from __future__ import annotations

from typing import Any, NoReturn

import msgpack

from ..errors import InvalidDataError
from .base import HubProtocol, InvocationBinder, TransferFormat
from .binding import BINDING_ERROR, bind_completion, bind_stream_item, count_mismatch
from .conversion import Flavor, adapter_for, msgpack_default
from .framing import SplitResult, frame_binary, split_binary
from .messages import (
    PING,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationBindingFailureMessage,
    InvocationMessage,
    PingMessage,
    SequenceMessage,
    StreamBindingFailureMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

__all__ = ["MessagePackHubProtocol"]

_FRAMED_PING = frame_binary(b"\x91\x06")
_ERROR, _VOID, _NON_VOID = 1, 2, 3


def _fail(text: str) -> NoReturn:
    raise InvalidDataError(text)


class _Reader:
    """Sequential reads over one message body with .NET's error texts."""

    __slots__ = ("_u",)

    def __init__(self, payload: bytes) -> None:
        u = msgpack.Unpacker(
            raw=False,
            strict_map_key=False,
            timestamp=3,
            max_buffer_size=max(len(payload), 1024),
        )
        u.feed(payload)
        self._u = u

    def array_header(self, name: str) -> int:
        try:
            return int(self._u.read_array_header())
        except Exception:  # noqa: BLE001 - any decode failure has one text
            _fail(f"Reading array length for '{name}' failed.")

    def map_header(self, name: str) -> int:
        try:
            return int(self._u.read_map_header())
        except Exception:  # noqa: BLE001
            _fail(f"Reading map length for '{name}' failed.")

    def value(self) -> Any:
        return self._u.unpack()

    def any(self, name: str) -> Any:
        try:
            return self._u.unpack()
        except Exception:  # noqa: BLE001
            _fail(f"Reading '{name}' failed.")

    def int(self, name: str, kind: str = "Int32") -> int:
        try:
            v = self._u.unpack()
        except Exception:  # noqa: BLE001
            _fail(f"Reading '{name}' as {kind} failed.")
        if type(v) is not int:
            _fail(f"Reading '{name}' as {kind} failed.")
        return v

    def str_or_nil(self, name: str) -> str | None:
        try:
            v = self._u.unpack()
        except Exception:  # noqa: BLE001
            _fail(f"Reading '{name}' as String failed.")
        if v is not None and type(v) is not str:
            _fail(f"Reading '{name}' as String failed.")
        return v

    def skip(self) -> None:
        try:
            self._u.skip()
        except Exception:  # noqa: BLE001
            pass


class MessagePackHubProtocol(HubProtocol):
    name = "messagepack"
    version = 2
    transfer_format = TransferFormat.BINARY

    def __init__(self) -> None:
        self._packer = msgpack.Packer(
            use_bin_type=True, datetime=True, default=msgpack_default, autoreset=True
        )

    def split(self, data: bytes, max_message_size: int | None) -> SplitResult:
        return split_binary(data, max_message_size)

    # ------------------------------------------------------------ parsing

    def parse_message(self, payload: bytes, binder: InvocationBinder) -> HubMessage | None:
        r = _Reader(payload)
        count = r.array_header("elementCount")
        mtype = r.int("messageType")
        if mtype == 1:
            return _invocation(r, binder, count, is_stream=False)
        if mtype == 6:
            return PING
        if mtype == 3:
            return _completion(r, binder)
        if mtype == 2:
            headers = _headers(r)
            iid = _required_id(r, "StreamItem")
            try:
                item = r.value()
            except Exception as exc:  # noqa: BLE001
                return StreamBindingFailureMessage(iid, exc)
            return bind_stream_item(binder, Flavor.MSGPACK, iid, item, headers)
        if mtype == 4:
            return _invocation(r, binder, count, is_stream=True)
        if mtype == 5:
            headers = _headers(r)
            return CancelInvocationMessage(_required_id(r, "CancelInvocation"), headers)
        if mtype == 7:
            error = r.str_or_nil("error")
            allow = False
            if count > 2:
                v = r.any("allowReconnect")
                if type(v) is not bool:
                    _fail("Reading 'allowReconnect' as Boolean failed.")
                allow = v
            return CloseMessage(error, allow)
        if mtype == 8:
            return AckMessage(r.int("sequenceId", "Int64"))
        if mtype == 9:
            return SequenceMessage(r.int("sequenceId", "Int64"))
        # Unknown message types are ignored (future protocol versions). Extra
        # trailing array items never matter: each message has its own frame.
        return None

    # ------------------------------------------------------------ writing

    def write_message(self, message: HubMessage) -> bytes:
        t = type(message)
        if t is PingMessage:
            return _FRAMED_PING
        return frame_binary(self._packer.pack(_to_array(message)))


def _headers(r: _Reader) -> dict[str, str] | None:
    n = r.map_header("headers")
    if n == 0:
        return None
    headers: dict[str, str] = {}
    for i in range(n):
        key = r.str_or_nil(f"headers[{i}].Key")
        if not key:
            _fail("Null or empty key in header.")
        value = r.str_or_nil(f"headers[{i}].Value")
        if not value:
            _fail("Null or empty value in header.")
        headers[key] = value
    return headers


def _required_id(r: _Reader, kind: str) -> str:
    iid = r.str_or_nil("invocationId")
    if not iid:
        _fail(f"Null or empty invocation ID for {kind} message.")
    return iid


def _invocation(r: _Reader, binder: InvocationBinder, count: int, *, is_stream: bool) -> HubMessage:
    headers = _headers(r)
    if is_stream:
        iid: str | None = _required_id(r, "StreamInvocation")
    else:
        iid = r.str_or_nil("invocationId") or None
    target = r.str_or_nil("target")
    if not target:
        _fail(f"Null or empty target for {'StreamInvocation' if is_stream else 'Invocation'} message.")
    try:
        types = binder.get_parameter_types(target)
        n = r.array_header("arguments")
        if n != len(types):
            raise count_mismatch(n, len(types))
        try:
            arguments = [adapter_for(tp, Flavor.MSGPACK)(r.value()) for tp in types]
        except Exception:  # noqa: BLE001
            raise InvalidDataError(BINDING_ERROR) from None
    except Exception as exc:  # noqa: BLE001 - a binding failure, not fatal
        return InvocationBindingFailureMessage(iid, target, exc, is_stream)
    stream_ids: list[str] | None = None
    if count > 5:
        n = r.array_header("streamIds")
        stream_ids = []
        for i in range(n):
            sid = r.str_or_nil(f"streamIds[{i}]")
            if not sid:
                _fail("Null or empty value in streamIds received.")
            stream_ids.append(sid)
        stream_ids = stream_ids or None
    if is_stream:
        assert iid is not None
        return StreamInvocationMessage(iid, target, arguments, stream_ids, headers)
    return InvocationMessage(target, arguments, iid, stream_ids, headers)


def _completion(r: _Reader, binder: InvocationBinder) -> CompletionMessage:
    headers = _headers(r)
    iid = _required_id(r, "Completion")
    kind = r.int("resultKind")
    if kind == _ERROR:
        error = r.str_or_nil("error")
        if error is None:
            _fail("Reading 'error' as String failed.")
        return CompletionMessage.with_error(iid, error, headers)
    if kind == _VOID:
        return CompletionMessage.empty(iid, headers)
    if kind == _NON_VOID:
        try:
            result = r.value()
        except Exception as exc:  # noqa: BLE001
            return CompletionMessage.with_error(iid, f"Error trying to deserialize result. {exc}", headers)
        return bind_completion(binder, Flavor.MSGPACK, iid, result, headers)
    _fail("Invalid invocation result kind.")


def _to_array(message: HubMessage) -> list[Any]:
    t = type(message)
    if t is InvocationMessage:
        assert isinstance(message, InvocationMessage)
        return [
            1,
            message.headers or {},
            message.invocation_id or None,
            message.target,
            message.arguments,
            message.stream_ids or [],
        ]
    if t is CompletionMessage:
        assert isinstance(message, CompletionMessage)
        if message.error is not None:
            return [3, message.headers or {}, message.invocation_id, _ERROR, message.error]
        if message.has_result:
            return [3, message.headers or {}, message.invocation_id, _NON_VOID, message.result]
        return [3, message.headers or {}, message.invocation_id, _VOID]
    if t is StreamItemMessage:
        assert isinstance(message, StreamItemMessage)
        return [2, message.headers or {}, message.invocation_id, message.item]
    if t is CloseMessage:
        assert isinstance(message, CloseMessage)
        return [7, message.error, message.allow_reconnect]
    if t is StreamInvocationMessage:
        assert isinstance(message, StreamInvocationMessage)
        return [
            4,
            message.headers or {},
            message.invocation_id,
            message.target,
            message.arguments,
            message.stream_ids or [],
        ]
    if t is CancelInvocationMessage:
        assert isinstance(message, CancelInvocationMessage)
        return [5, message.headers or {}, message.invocation_id]
    if t is AckMessage:
        assert isinstance(message, AckMessage)
        return [8, message.sequence_id]
    if t is SequenceMessage:
        assert isinstance(message, SequenceMessage)
        return [9, message.sequence_id]
    raise TypeError(f"Cannot write {t.__name__} with the MessagePack hub protocol")
