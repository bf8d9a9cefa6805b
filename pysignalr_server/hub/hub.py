"""The ``Hub`` base class, the caller context and the ``hub_method`` decorator.

As in ASP.NET Core a hub instance lives for one invocation (or one
``on_connected``/``on_disconnected`` call): keep state that must outlive it
in ``self.context.items`` or somewhere app-wide.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..lifetime.base import HubLifetimeManager
    from .clients import GroupManager, HubCallerClients

__all__ = ["Hub", "HubCallerContext", "hub_method"]

F = TypeVar("F", bound=Callable[..., Any])

HUB_METHOD_NAME_ATTR = "__signalr_method_name__"


def hub_method(name: str) -> Callable[[F], F]:
    """Expose the decorated method to clients under ``name``.

    Lookup stays case-insensitive; the Python name is then not callable.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("hub_method needs a non-empty name")

    def decorate(func: F) -> F:
        setattr(func, HUB_METHOD_NAME_ATTR, name)
        return func

    return decorate


class HubCallerContext:
    """What a hub knows about the connection that called it."""

    __slots__ = ("_session",)

    def __init__(self, session: Any) -> None:
        self._session = session

    @property
    def connection_id(self) -> str:
        return str(self._session.connection_id)

    @property
    def user_identifier(self) -> str | None:
        value = self._session.user_identifier
        return None if value is None else str(value)

    @property
    def user(self) -> Any:
        """The authenticated user, or None (see ``add_hub(authenticate=...)``)."""
        return self._session.connection.user

    @property
    def items(self) -> dict[Any, Any]:
        """Per-connection storage that outlives hub instances."""
        items: dict[Any, Any] = self._session.connection.items
        return items

    @property
    def request(self) -> Any:
        """The aiohttp request that opened the connection."""
        return self._session.connection.request

    @property
    def transport(self) -> str | None:
        """``WebSockets``, ``ServerSentEvents`` or ``LongPolling``."""
        t = self._session.connection.transport
        return None if t is None else str(t.value)

    @property
    def aborted(self) -> asyncio.Event:
        """Set once the connection has closed, for whatever reason."""
        event: asyncio.Event = self._session.aborted
        return event

    @property
    def is_aborted(self) -> bool:
        return bool(self._session.is_aborted)

    def abort(self) -> None:
        """Close the connection (a Close message without error, then the
        transport), as ``Context.Abort()`` does."""
        self._session.abort()


class Hub:
    """Subclass this and add methods; public methods are callable by clients.

    A client target matches a method name case-insensitively with
    underscores ignored, so ``SendMessage``, ``sendMessage`` and
    ``send_message`` all reach ``send_message``.
    """

    __slots__ = ("__dict__", "_clients", "_clients_for", "_context", "_groups")

    _context: HubCallerContext
    _clients: HubCallerClients | None
    _clients_for: tuple[HubLifetimeManager, str, Callable[[], None]] | None
    _groups: GroupManager

    @property
    def context(self) -> HubCallerContext:
        return self._context

    @property
    def clients(self) -> HubCallerClients:
        clients = self._clients
        if clients is None:
            # Built on first use: most invocations never touch it, and each
            # needs its own (it releases that invocation's slot on invoke).
            from .clients import HubCallerClients  # runtime import: clients imports this module

            assert self._clients_for is not None
            manager, caller_id, release_slot = self._clients_for
            clients = self._clients = HubCallerClients(manager, caller_id, release_slot=release_slot)
        return clients

    @property
    def groups(self) -> GroupManager:
        return self._groups

    async def on_connected(self) -> None:
        """Called once the handshake succeeded."""

    async def on_disconnected(self, exception: Exception | None) -> None:
        """Called when the connection ends; ``exception`` says why if it failed."""
