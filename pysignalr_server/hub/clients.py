"""Client proxies: ``self.clients.all.send("Method", *args)`` and friends.

Each proxy is a thin, immutable handle on the lifetime manager; creating one
costs an object, and sending through it is one manager call. The same
classes serve hubs (``HubCallerClients``) and code outside hubs
(``HubContext.clients``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..lifetime.base import HubLifetimeManager

__all__ = [
    "ClientProxy",
    "HubClients",
    "HubCallerClients",
    "GroupManager",
    "HubContext",
]


class ClientProxy:
    """Something that can be sent to."""

    __slots__ = ()

    async def send(self, method: str, *args: Any) -> None:
        raise NotImplementedError


class _AllProxy(ClientProxy):
    __slots__ = ("_m",)

    def __init__(self, manager: HubLifetimeManager) -> None:
        self._m = manager

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_all(method, args)


class _AllExceptProxy(ClientProxy):
    __slots__ = ("_excluded", "_m")

    def __init__(self, manager: HubLifetimeManager, excluded: Sequence[str]) -> None:
        self._m = manager
        self._excluded = excluded

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_all_except(method, args, self._excluded)


class SingleClientProxy(ClientProxy):
    __slots__ = ("_id", "_m", "_release_slot")

    def __init__(
        self,
        manager: HubLifetimeManager,
        connection_id: str,
        release_slot: Callable[[], None] | None = None,
    ) -> None:
        self._m = manager
        self._id = connection_id
        self._release_slot = release_slot

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_connection(self._id, method, args)

    async def invoke(
        self, method: str, *args: Any, result_type: Any = Any, timeout: float | None = None
    ) -> Any:
        """Invoke ``method`` on this client and return its result, converted
        to ``result_type``.

        Raises ``HubException`` with the client's error text,
        ``ConnectionNotFoundError`` / ``ConnectionDisconnectedError`` when the
        connection does not exist or goes away, and ``TimeoutError`` after
        ``timeout`` seconds. Cancelling the caller cancels the wait.

        From a hub method, this first gives back the method's invocation
        slot (as ASP.NET Core does), so the caller's connection can run other
        invocations meanwhile instead of stalling behind this one.
        """
        if self._release_slot is not None:
            self._release_slot()
        return await self._m.invoke_connection(
            self._id, method, args, result_type=result_type, timeout=timeout
        )


class _ConnectionsProxy(ClientProxy):
    __slots__ = ("_ids", "_m")

    def __init__(self, manager: HubLifetimeManager, ids: Sequence[str]) -> None:
        self._m = manager
        self._ids = ids

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_connections(self._ids, method, args)


class _GroupProxy(ClientProxy):
    __slots__ = ("_m", "_name")

    def __init__(self, manager: HubLifetimeManager, name: str) -> None:
        self._m = manager
        self._name = name

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_group(self._name, method, args)


class _GroupsProxy(ClientProxy):
    __slots__ = ("_m", "_names")

    def __init__(self, manager: HubLifetimeManager, names: Sequence[str]) -> None:
        self._m = manager
        self._names = names

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_groups(self._names, method, args)


class _GroupExceptProxy(ClientProxy):
    __slots__ = ("_excluded", "_m", "_name")

    def __init__(self, manager: HubLifetimeManager, name: str, excluded: Sequence[str]) -> None:
        self._m = manager
        self._name = name
        self._excluded = excluded

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_group_except(self._name, method, args, self._excluded)


class _UserProxy(ClientProxy):
    __slots__ = ("_m", "_user")

    def __init__(self, manager: HubLifetimeManager, user: str) -> None:
        self._m = manager
        self._user = user

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_user(self._user, method, args)


class _UsersProxy(ClientProxy):
    __slots__ = ("_m", "_users")

    def __init__(self, manager: HubLifetimeManager, users: Sequence[str]) -> None:
        self._m = manager
        self._users = users

    async def send(self, method: str, *args: Any) -> None:
        await self._m.send_users(self._users, method, args)


def _ids(values: Iterable[str] | str) -> list[str]:
    if isinstance(values, str):
        # A lone string is almost always a mistake for [string]; accept it as that.
        return [values]
    return list(values)


class HubClients:
    """Targets reachable from anywhere (hub context, background tasks)."""

    __slots__ = ("_all", "_m")

    def __init__(self, manager: HubLifetimeManager) -> None:
        self._m = manager
        self._all = _AllProxy(manager)

    @property
    def all(self) -> ClientProxy:
        return self._all

    def all_except(self, connection_ids: Iterable[str]) -> ClientProxy:
        return _AllExceptProxy(self._m, _ids(connection_ids))

    def client(self, connection_id: str) -> SingleClientProxy:
        return SingleClientProxy(self._m, connection_id)

    def clients(self, connection_ids: Iterable[str]) -> ClientProxy:
        return _ConnectionsProxy(self._m, _ids(connection_ids))

    def group(self, name: str) -> ClientProxy:
        return _GroupProxy(self._m, name)

    def groups(self, names: Iterable[str]) -> ClientProxy:
        return _GroupsProxy(self._m, _ids(names))

    def group_except(self, name: str, connection_ids: Iterable[str]) -> ClientProxy:
        return _GroupExceptProxy(self._m, name, _ids(connection_ids))

    def user(self, user_id: str) -> ClientProxy:
        return _UserProxy(self._m, user_id)

    def users(self, user_ids: Iterable[str]) -> ClientProxy:
        return _UsersProxy(self._m, _ids(user_ids))


class HubCallerClients(HubClients):
    """``HubClients`` plus the targets relative to the calling connection.

    ``release_slot`` gives back the invocation slot of the hub method these
    clients were made for; ``invoke`` on ``caller`` or ``client(id)`` calls it.
    """

    __slots__ = ("_caller", "_caller_id", "_others", "_release_slot")

    def __init__(
        self,
        manager: HubLifetimeManager,
        caller_id: str,
        release_slot: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(manager)
        self._caller_id = caller_id
        self._release_slot = release_slot
        self._caller = SingleClientProxy(manager, caller_id, release_slot)
        self._others = _AllExceptProxy(manager, [caller_id])

    def client(self, connection_id: str) -> SingleClientProxy:
        return SingleClientProxy(self._m, connection_id, self._release_slot)

    @property
    def caller(self) -> SingleClientProxy:
        return self._caller

    @property
    def others(self) -> ClientProxy:
        return self._others

    def others_in_group(self, name: str) -> ClientProxy:
        return _GroupExceptProxy(self._m, name, [self._caller_id])


class GroupManager:
    """``self.groups``: add and remove connections (local or remote)."""

    __slots__ = ("_m",)

    def __init__(self, manager: HubLifetimeManager) -> None:
        self._m = manager

    async def add(self, connection_id: str, group_name: str) -> None:
        await self._m.add_to_group(connection_id, group_name)

    async def remove(self, connection_id: str, group_name: str) -> None:
        await self._m.remove_from_group(connection_id, group_name)


class HubContext:
    """Send to a hub's clients from outside the hub (``get_hub_context``)."""

    __slots__ = ("clients", "groups", "lifetime_manager")

    def __init__(self, manager: HubLifetimeManager) -> None:
        self.lifetime_manager = manager
        self.clients = HubClients(manager)
        self.groups = GroupManager(manager)
