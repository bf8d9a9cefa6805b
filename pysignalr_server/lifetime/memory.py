"""The default, in-process lifetime manager.

Each send builds one ``SerializedHubMessage``, encodes it once per protocol
actually in use, and queues the same bytes on every target connection. No
lock is taken: everything runs on the event loop and nothing here awaits
between reading the tables and queuing the bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import ConnectionDisconnectedError, ConnectionNotFoundError
from ..protocol.base import HubProtocol
from ..protocol.messages import CompletionMessage, InvocationMessage
from ..protocol.serialized import SerializedHubMessage
from .base import HubLifetimeManager, ManagedConnection
from .client_results import ClientResultsManager, new_invocation_id

__all__ = ["InMemoryHubLifetimeManager", "DefaultHubLifetimeManager"]

log = logging.getLogger("pysignalr_server.lifetime")


def _write(conn: ManagedConnection, message: SerializedHubMessage) -> None:
    """Queue ``message`` on ``conn``; a connection that fails is logged and
    skipped, so it can never stop delivery to the others (ASP.NET Core's
    FailedWritingMessage)."""
    try:
        conn.write_serialized(message)
    except Exception:
        log.exception("Failed writing message to connection %s.", conn.connection_id)


class InMemoryHubLifetimeManager(HubLifetimeManager):
    def __init__(self) -> None:
        self._connections: dict[str, ManagedConnection] = {}
        self._groups: dict[str, dict[str, ManagedConnection]] = {}
        self._users: dict[str, dict[str, ManagedConnection]] = {}
        self._membership: dict[str, set[str]] = {}
        self._protocols: dict[str, list[Any]] = {}  # name -> [protocol, count]
        self._results = ClientResultsManager()

    # --------------------------------------------------------- bookkeeping

    async def on_connected(self, connection: ManagedConnection) -> None:
        cid = connection.connection_id
        self._connections[cid] = connection
        user = connection.user_identifier
        if user:
            self._users.setdefault(user, {})[cid] = connection
        proto = connection.protocol
        entry = self._protocols.get(proto.name)
        if entry is None:
            self._protocols[proto.name] = [proto, 1]
        else:
            entry[1] += 1

    async def on_disconnected(self, connection: ManagedConnection) -> None:
        cid = connection.connection_id
        if self._connections.pop(cid, None) is None:
            return
        self._results.fail_connection(cid, ConnectionDisconnectedError(f"Connection '{cid}' disconnected."))
        for name in self._membership.pop(cid, ()):
            members = self._groups.get(name)
            if members is not None:
                members.pop(cid, None)
                if not members:
                    del self._groups[name]
        user = connection.user_identifier
        if user:
            conns = self._users.get(user)
            if conns is not None:
                conns.pop(cid, None)
                if not conns:
                    del self._users[user]
        entry = self._protocols.get(connection.protocol.name)
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del self._protocols[connection.protocol.name]

    def _in_use(self) -> list[HubProtocol]:
        return [entry[0] for entry in self._protocols.values()]

    def _message(self, method: str, args: Sequence[Any]) -> SerializedHubMessage:
        message = SerializedHubMessage(InvocationMessage(method, list(args)))
        message.prepare(self._in_use())
        return message

    @staticmethod
    def _deliver(
        targets: Iterable[ManagedConnection],
        message: SerializedHubMessage,
        excluded: Sequence[str] | None = None,
    ) -> None:
        # The loop body is inlined (no helper call per connection): on a
        # broadcast it runs once per recipient.
        skip = set(excluded) if excluded else None
        for conn in targets:
            if skip is not None and conn.connection_id in skip:
                continue
            try:
                conn.write_serialized(message)
            except Exception:
                log.exception("Failed writing message to connection %s.", conn.connection_id)

    # --------------------------------------------------------------- sends

    async def send_all(self, method: str, args: Sequence[Any]) -> None:
        if self._connections:
            self._deliver(list(self._connections.values()), self._message(method, args))

    async def send_all_except(
        self, method: str, args: Sequence[Any], excluded_connection_ids: Sequence[str]
    ) -> None:
        if self._connections:
            self._deliver(
                list(self._connections.values()),
                self._message(method, args),
                excluded_connection_ids,
            )

    async def send_connection(self, connection_id: str, method: str, args: Sequence[Any]) -> None:
        if connection_id is None:
            raise ValueError("connection_id must not be None")
        conn = self._connections.get(connection_id)
        if conn is not None:
            _write(conn, self._message(method, args))

    async def send_connections(self, connection_ids: Sequence[str], method: str, args: Sequence[Any]) -> None:
        targets = [c for c in map(self._connections.get, dict.fromkeys(connection_ids)) if c is not None]
        if targets:
            self._deliver(targets, self._message(method, args))

    async def send_group(self, group_name: str, method: str, args: Sequence[Any]) -> None:
        if group_name is None:
            raise ValueError("group_name must not be None")
        members = self._groups.get(group_name)
        if members:
            self._deliver(list(members.values()), self._message(method, args))

    async def send_groups(self, group_names: Sequence[str], method: str, args: Sequence[Any]) -> None:
        # As ASP.NET Core does: one delivery per named group, so a connection in
        # two of the groups receives the message twice.
        message: SerializedHubMessage | None = None
        for name in group_names:
            members = self._groups.get(name)
            if members:
                if message is None:
                    message = self._message(method, args)
                self._deliver(list(members.values()), message)

    async def send_group_except(
        self,
        group_name: str,
        method: str,
        args: Sequence[Any],
        excluded_connection_ids: Sequence[str],
    ) -> None:
        if group_name is None:
            raise ValueError("group_name must not be None")
        members = self._groups.get(group_name)
        if members:
            self._deliver(list(members.values()), self._message(method, args), excluded_connection_ids)

    async def send_user(self, user_id: str, method: str, args: Sequence[Any]) -> None:
        conns = self._users.get(user_id)
        if conns:
            self._deliver(list(conns.values()), self._message(method, args))

    async def send_users(self, user_ids: Sequence[str], method: str, args: Sequence[Any]) -> None:
        targets: dict[str, ManagedConnection] = {}
        for uid in user_ids:
            conns = self._users.get(uid)
            if conns:
                targets.update(conns)
        if targets:
            self._deliver(list(targets.values()), self._message(method, args))

    # -------------------------------------- delivery of pre-serialized messages
    # Used by backplanes: a message that arrived from another server already
    # holds the bytes for every protocol and is forwarded untouched.

    def has_connection(self, connection_id: str) -> bool:
        return connection_id in self._connections

    def connection(self, connection_id: str) -> ManagedConnection | None:
        return self._connections.get(connection_id)

    def protocols_in_use(self) -> list[HubProtocol]:
        return self._in_use()

    def deliver_all(self, message: SerializedHubMessage, excluded: Sequence[str] = ()) -> None:
        if self._connections:
            self._deliver(list(self._connections.values()), message, excluded)

    def deliver_connections(self, connection_ids: Sequence[str], message: SerializedHubMessage) -> None:
        targets = [c for c in map(self._connections.get, connection_ids) if c is not None]
        if targets:
            self._deliver(targets, message)

    def deliver_groups(
        self, group_names: Sequence[str], message: SerializedHubMessage, excluded: Sequence[str] = ()
    ) -> None:
        for name in group_names:
            members = self._groups.get(name)
            if members:
                self._deliver(list(members.values()), message, excluded)

    def deliver_users(self, user_ids: Sequence[str], message: SerializedHubMessage) -> None:
        targets: dict[str, ManagedConnection] = {}
        for uid in user_ids:
            conns = self._users.get(uid)
            if conns:
                targets.update(conns)
        if targets:
            self._deliver(list(targets.values()), message)

    @property
    def client_results(self) -> ClientResultsManager:
        return self._results

    # -------------------------------------------------------------- groups

    async def add_to_group(self, connection_id: str, group_name: str) -> None:
        if group_name is None:
            raise ValueError("group_name must not be None")
        conn = self._connections.get(connection_id)
        if conn is None:
            return
        self._groups.setdefault(group_name, {})[connection_id] = conn
        self._membership.setdefault(connection_id, set()).add(group_name)

    async def remove_from_group(self, connection_id: str, group_name: str) -> None:
        if group_name is None:
            raise ValueError("group_name must not be None")
        members = self._groups.get(group_name)
        if members is not None and members.pop(connection_id, None) is not None:
            if not members:
                del self._groups[group_name]
            groups = self._membership.get(connection_id)
            if groups is not None:
                groups.discard(group_name)

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
        conn = self._connections.get(connection_id)
        if conn is None:
            raise ConnectionNotFoundError(f"Connection '{connection_id}' does not exist.")
        invocation_id = new_invocation_id()
        future = self._results.add(connection_id, invocation_id, result_type)
        try:
            message = SerializedHubMessage(InvocationMessage(method, list(args), invocation_id))
            if not conn.write_serialized(message):
                raise ConnectionDisconnectedError(f"Connection '{connection_id}' disconnected.")
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self._results.remove(invocation_id)

    async def set_connection_result(self, connection_id: str, result: CompletionMessage) -> None:
        self._results.set_result(connection_id, result)

    def try_get_return_type(self, invocation_id: str) -> Any:
        return self._results.try_get_return_type(invocation_id)


DefaultHubLifetimeManager = InMemoryHubLifetimeManager
"""ASP.NET Core's name for the in-memory manager."""
