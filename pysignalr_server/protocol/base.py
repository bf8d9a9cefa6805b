"""The hub-protocol interface and the binder it parses against.

``HubProtocol`` mirrors ASP.NET Core's ``IHubProtocol``: a name, a version, a
transfer format, and pure functions from bytes to messages and back. The
binder tells the parser what types the hub expects, so that arguments are
converted while parsing and a mismatch becomes a (non-fatal)
``InvocationBindingFailureMessage`` rather than a dropped connection.
"""

from __future__ import annotations

import abc
import enum
from typing import Any, Protocol

from .framing import SplitResult
from .messages import HubMessage

__all__ = ["TransferFormat", "InvocationBinder", "HubProtocol", "NO_TYPE"]


class TransferFormat(enum.Enum):
    TEXT = "Text"
    BINARY = "Binary"


NO_TYPE: Any = object()
"""Returned by a binder when a value must be kept as parsed (no conversion)."""


class InvocationBinder(Protocol):
    """What the parser needs to know about the hub it is parsing for."""

    def get_parameter_types(self, target: str) -> list[Any]:
        """Types of the non-stream parameters of ``target``.

        Raises ``HubException("Method does not exist.")`` (or another
        exception) when ``target`` cannot be invoked; the parser turns that
        into a binding failure.
        """
        ...

    def get_return_type(self, invocation_id: str) -> Any:
        """Expected type of a client result, or ``NO_TYPE``."""
        ...

    def get_stream_item_type(self, stream_id: str) -> Any:
        """Item type of an upload stream, or ``NO_TYPE``."""
        ...


class HubProtocol(abc.ABC):
    name: str
    version: int
    transfer_format: TransferFormat

    def is_version_supported(self, version: int) -> bool:
        return version <= self.version

    @abc.abstractmethod
    def split(self, data: bytes, max_message_size: int | None) -> SplitResult:
        """Cut ``data`` into complete message payloads."""

    @abc.abstractmethod
    def parse_message(self, payload: bytes, binder: InvocationBinder) -> HubMessage | None:
        """Parse one payload; ``None`` for an unknown message type.

        Raises ``InvalidDataError`` for malformed input (connection-fatal).
        """

    @abc.abstractmethod
    def write_message(self, message: HubMessage) -> bytes:
        """Serialize ``message`` with its framing."""
