"""A message serialized at most once per protocol.

A broadcast to ten thousand connections must not encode the message ten
thousand times. ``SerializedHubMessage`` caches the framed bytes per protocol
name; a backplane can also build one from bytes it received, so receiving
servers forward the sender's bytes untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .base import HubProtocol
from .messages import HubMessage

__all__ = ["SerializedHubMessage"]


class SerializedHubMessage:
    __slots__ = ("_by_protocol", "message")

    def __init__(
        self, message: HubMessage | None = None, serialized: Mapping[str, bytes] | None = None
    ) -> None:
        if message is None and not serialized:
            raise ValueError("need a message or its serialized forms")
        self.message = message
        self._by_protocol: dict[str, bytes] = dict(serialized) if serialized else {}

    def get(self, protocol: HubProtocol) -> bytes:
        data = self._by_protocol.get(protocol.name)
        if data is None:
            if self.message is None:
                raise LookupError(
                    "This message was received from another server that did not have "
                    "the requested protocol available."
                )
            data = protocol.write_message(self.message)
            self._by_protocol[protocol.name] = data
        return data

    def prepare(self, protocols: Iterable[HubProtocol]) -> None:
        """Serialize for each protocol now, so encoding errors reach the
        sender before anything is delivered."""
        for protocol in protocols:
            self.get(protocol)

    def serialized(self) -> dict[str, bytes]:
        return dict(self._by_protocol)
