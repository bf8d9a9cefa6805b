"""``HubLifetimeManager``: the scale-out seam (ASP.NET Core's
``HubLifetimeManager<THub>``).

Every send the hub layer makes goes through one of these methods, so a
backplane only has to implement them to make several processes behave as
one. Sends never wait for slow clients: they queue bytes on each target
connection and return.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, Protocol

from ..protocol.base import NO_TYPE, HubProtocol
from ..protocol.messages import CompletionMessage
from ..protocol.serialized import SerializedHubMessage

__all__ = ["ManagedConnection", "HubLifetimeManager"]


class ManagedConnection(Protocol):
    """What a lifetime manager needs to know about a hub connection."""

    @property
    def connection_id(self) -> str: ...

    @property
    def user_identifier(self) -> str | None: ...

    @property
    def protocol(self) -> HubProtocol: ...

    def write_serialized(self, message: SerializedHubMessage) -> bool:
        """Queue a message for the client without blocking; False if closed."""
        ...


class HubLifetimeManager(abc.ABC):
    """Tracks connections, groups and users of one hub and routes sends.

    Method names follow ASP.NET Core (``SendAllAsync`` is ``send_all``...).
    ``args`` are the invocation arguments the client method receives.
    """

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Called once at application startup."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Called once at application cleanup."""

    @abc.abstractmethod
    async def on_connected(self, connection: ManagedConnection) -> None: ...

    @abc.abstractmethod
    async def on_disconnected(self, connection: ManagedConnection) -> None: ...

    @abc.abstractmethod
    async def send_all(self, method: str, args: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    async def send_all_except(
        self, method: str, args: Sequence[Any], excluded_connection_ids: Sequence[str]
    ) -> None: ...

    @abc.abstractmethod
    async def send_connection(self, connection_id: str, method: str, args: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    async def send_connections(
        self, connection_ids: Sequence[str], method: str, args: Sequence[Any]
    ) -> None: ...

    @abc.abstractmethod
    async def send_group(self, group_name: str, method: str, args: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    async def send_groups(self, group_names: Sequence[str], method: str, args: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    async def send_group_except(
        self,
        group_name: str,
        method: str,
        args: Sequence[Any],
        excluded_connection_ids: Sequence[str],
    ) -> None: ...

    @abc.abstractmethod
    async def send_user(self, user_id: str, method: str, args: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    async def send_users(self, user_ids: Sequence[str], method: str, args: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    async def add_to_group(self, connection_id: str, group_name: str) -> None: ...

    @abc.abstractmethod
    async def remove_from_group(self, connection_id: str, group_name: str) -> None: ...

    # ------------------------------------------------------ client results

    async def invoke_connection(
        self,
        connection_id: str,
        method: str,
        args: Sequence[Any],
        *,
        result_type: Any = Any,
        timeout: float | None = None,
    ) -> Any:
        """Invoke ``method`` on one client and return its result.

        Raises ``ConnectionNotFoundError`` ("Connection '{id}' does not
        exist."), ``ConnectionDisconnectedError`` ("Connection '{id}'
        disconnected."), ``HubException`` with the client's error, or
        ``TimeoutError``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support client return values.")

    async def set_connection_result(self, connection_id: str, result: CompletionMessage) -> None:
        """A client answered an invocation; resolve it (possibly on another server)."""
        raise NotImplementedError(f"{type(self).__name__} does not support client return values.")

    def try_get_return_type(self, invocation_id: str) -> Any:
        """The type a pending client result converts to, or ``NO_TYPE``."""
        return NO_TYPE
