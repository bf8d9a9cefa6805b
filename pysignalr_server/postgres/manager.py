"""``PostgresHubLifetimeManager``: ASP.NET Core's Redis backplane semantics on
Postgres LISTEN/NOTIFY.

Local state (connections, groups, users, pending client results) lives in an
``InMemoryHubLifetimeManager``; this class adds the cross-server part:

- **Sends** deliver to this server's connections at once (the local fast
  path) and publish one message for the others, which deliver to theirs. The
  message carries the bytes for every protocol the hub supports, serialized
  once here; receivers forward them untouched.
- **Group add/remove of a remote connection** publishes a group command; the
  server that holds the connection applies it and only then acks to this
  server, and ``groups.add`` returns after the ack (``ack_timeout``).
- **Client results** on a remote connection publish the invocation with this
  server as the return address. The holding server confirms with a receipt
  (no receipt within ``receipt_timeout`` means "Connection '{id}' does not
  exist." — pg_notify has no receiver count to tell) and later returns the
  client's Completion.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from typing import Any

from ..errors import ConnectionNotFoundError, HubException, InvalidOperationError
from ..hub.hub import Hub
from ..lifetime.base import HubLifetimeManager, ManagedConnection
from ..lifetime.client_results import new_invocation_id
from ..lifetime.memory import InMemoryHubLifetimeManager
from ..protocol.base import NO_TYPE, HubProtocol
from ..protocol.conversion import Flavor, adapter_for, type_display_name
from ..protocol.json import JsonHubProtocol
from ..protocol.messagepack import MessagePackHubProtocol
from ..protocol.messages import CompletionMessage, InvocationMessage
from ..protocol.serialized import SerializedHubMessage
from .bus import PostgresBus
from .protocol import (
    ACK,
    ADD,
    GROUP,
    INVOCATION,
    RECEIPT,
    REMOVE,
    RESULT,
    TO_ALL,
    TO_CONNECTIONS,
    TO_GROUPS,
    TO_USERS,
)

__all__ = ["PostgresHubLifetimeManager"]

log = logging.getLogger("pysignalr_server.postgres")

CONNECTION_DISCONNECTED = "Connection disconnected."


class _RemoteInvocation:
    """A client result this server relays for another server."""

    __slots__ = ("connection_id", "return_server")

    def __init__(self, connection_id: str, return_server: str) -> None:
        self.connection_id = connection_id
        self.return_server = return_server


class PostgresHubLifetimeManager(HubLifetimeManager):
    def __init__(
        self,
        hub_class: type[Hub],
        bus: PostgresBus,
        protocols: Sequence[HubProtocol] | None = None,
    ) -> None:
        self.hub_key = f"{hub_class.__module__}.{hub_class.__qualname__}"
        self.bus = bus
        self.local = InMemoryHubLifetimeManager()
        self.protocols: list[HubProtocol] = list(protocols or (JsonHubProtocol(), MessagePackHubProtocol()))
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._ack_ids = itertools.count(1)
        self._receipts: dict[str, asyncio.Future[None]] = {}
        self._remote_results: dict[str, tuple[str, Any, asyncio.Future[Any]]] = {}
        self._relayed: dict[str, _RemoteInvocation] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        bus.register(self.hub_key, self._on_message)

    @property
    def healthy(self) -> bool:
        """Whether the backplane's listener connection is up."""
        return self.bus.healthy

    @property
    def server_id(self) -> str:
        return self.bus.server_id

    async def start(self) -> None:
        await self.bus.start()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for future in [*self._acks.values(), *self._receipts.values()]:
            if not future.done():
                future.cancel()
        await self.bus.close()

    # ---------------------------------------------------------- helpers

    def _serialize(
        self, method: str, args: Sequence[Any], invocation_id: str | None = None
    ) -> SerializedHubMessage:
        message = SerializedHubMessage(InvocationMessage(method, list(args), invocation_id))
        message.prepare(self.protocols)  # every protocol: remote clients may use any
        return message

    async def _publish(self, message: list[Any]) -> None:
        # The bus fails it with BackplaneUnavailableError after publish_timeout.
        await self.bus.publish(message)

    async def _publish_invocation(
        self,
        kind: int,
        targets: Sequence[str],
        excluded: Sequence[str],
        serialized: SerializedHubMessage,
        invocation_id: str | None = None,
        return_server: str | None = None,
    ) -> None:
        await self._publish(
            [
                self.hub_key,
                INVOCATION,
                kind,
                list(targets),
                list(excluded),
                serialized.serialized(),
                invocation_id,
                return_server,
            ]
        )

    # --------------------------------------------------------- bookkeeping

    async def on_connected(self, connection: ManagedConnection) -> None:
        await self.local.on_connected(connection)

    async def on_disconnected(self, connection: ManagedConnection) -> None:
        cid = connection.connection_id
        await self.local.on_disconnected(connection)
        # Client results relayed for other servers fail there, as in ASP.NET Core.
        for invocation_id, relayed in list(self._relayed.items()):
            if relayed.connection_id == cid:
                del self._relayed[invocation_id]
                self._spawn(
                    self._return_result(relayed.return_server, invocation_id, CONNECTION_DISCONNECTED)
                )

    # --------------------------------------------------------------- sends

    async def send_all(self, method: str, args: Sequence[Any]) -> None:
        message = self._serialize(method, args)
        self.local.deliver_all(message)
        await self._publish_invocation(TO_ALL, [], [], message)

    async def send_all_except(
        self, method: str, args: Sequence[Any], excluded_connection_ids: Sequence[str]
    ) -> None:
        message = self._serialize(method, args)
        self.local.deliver_all(message, excluded_connection_ids)
        await self._publish_invocation(TO_ALL, [], excluded_connection_ids, message)

    async def send_connection(self, connection_id: str, method: str, args: Sequence[Any]) -> None:
        if connection_id is None:
            raise ValueError("connection_id must not be None")
        message = self._serialize(method, args)
        if self.local.has_connection(connection_id):
            self.local.deliver_connections([connection_id], message)  # local: no publish
            return
        await self._publish_invocation(TO_CONNECTIONS, [connection_id], [], message)

    async def send_connections(self, connection_ids: Sequence[str], method: str, args: Sequence[Any]) -> None:
        message = self._serialize(method, args)
        local: list[str] = []
        remote: list[str] = []
        for cid in connection_ids:
            (local if self.local.has_connection(cid) else remote).append(cid)
        self.local.deliver_connections(local, message)
        if remote:
            await self._publish_invocation(TO_CONNECTIONS, remote, [], message)

    async def send_group(self, group_name: str, method: str, args: Sequence[Any]) -> None:
        if group_name is None:
            raise ValueError("group_name must not be None")
        await self.send_groups([group_name], method, args)

    async def send_groups(self, group_names: Sequence[str], method: str, args: Sequence[Any]) -> None:
        names = [n for n in group_names if n]
        if not names:
            return
        message = self._serialize(method, args)
        self.local.deliver_groups(names, message)
        await self._publish_invocation(TO_GROUPS, names, [], message)

    async def send_group_except(
        self,
        group_name: str,
        method: str,
        args: Sequence[Any],
        excluded_connection_ids: Sequence[str],
    ) -> None:
        if group_name is None:
            raise ValueError("group_name must not be None")
        message = self._serialize(method, args)
        self.local.deliver_groups([group_name], message, excluded_connection_ids)
        await self._publish_invocation(TO_GROUPS, [group_name], excluded_connection_ids, message)

    async def send_user(self, user_id: str, method: str, args: Sequence[Any]) -> None:
        await self.send_users([user_id], method, args)

    async def send_users(self, user_ids: Sequence[str], method: str, args: Sequence[Any]) -> None:
        users = [u for u in user_ids if u]
        if not users:
            return
        message = self._serialize(method, args)
        self.local.deliver_users(users, message)
        await self._publish_invocation(TO_USERS, users, [], message)

    # -------------------------------------------------------------- groups

    async def add_to_group(self, connection_id: str, group_name: str) -> None:
        await self._group_action(ADD, connection_id, group_name)

    async def remove_from_group(self, connection_id: str, group_name: str) -> None:
        await self._group_action(REMOVE, connection_id, group_name)

    async def _group_action(self, action: int, connection_id: str, group_name: str) -> None:
        if group_name is None:
            raise ValueError("group_name must not be None")
        if self.local.has_connection(connection_id):
            if action == ADD:
                await self.local.add_to_group(connection_id, group_name)
            else:
                await self.local.remove_from_group(connection_id, group_name)
            return
        ack_id = next(self._ack_ids)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        try:
            await self._publish(
                [self.hub_key, GROUP, action, group_name, connection_id, ack_id, self.server_id]
            )
            try:
                await asyncio.wait_for(future, self.bus.options.ack_timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"No server acknowledged the group command for connection '{connection_id}' "
                    f"within {self.bus.options.ack_timeout}s (it may not exist)."
                ) from None
        finally:
            self._acks.pop(ack_id, None)

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
        if self.local.has_connection(connection_id):
            return await self.local.invoke_connection(
                connection_id, method, args, result_type=result_type, timeout=timeout
            )
        invocation_id = new_invocation_id()
        loop = asyncio.get_running_loop()
        receipt: asyncio.Future[None] = loop.create_future()
        result: asyncio.Future[Any] = loop.create_future()
        self._receipts[invocation_id] = receipt
        self._remote_results[invocation_id] = (connection_id, result_type, result)
        try:
            message = self._serialize(method, args, invocation_id)
            await self._publish_invocation(
                TO_CONNECTIONS, [connection_id], [], message, invocation_id, self.server_id
            )
            async with asyncio.timeout(timeout):
                try:
                    await asyncio.wait_for(asyncio.shield(receipt), self.bus.options.receipt_timeout)
                except TimeoutError:
                    if not result.done():
                        raise ConnectionNotFoundError(
                            f"Connection '{connection_id}' does not exist."
                        ) from None
                return await result
        finally:
            self._receipts.pop(invocation_id, None)
            self._remote_results.pop(invocation_id, None)

    async def set_connection_result(self, connection_id: str, result: CompletionMessage) -> None:
        invocation_id = result.invocation_id
        relayed = self._relayed.get(invocation_id)
        if relayed is None:
            remote = self._remote_results.get(invocation_id)
            if remote is not None:
                # Completed on the server that asked (as ASP.NET Core allows):
                # resolve it here, as the local manager would.
                self._complete_remote(connection_id, invocation_id, remote, result)
                return
            await self.local.set_connection_result(connection_id, result)
            return
        if relayed.connection_id != connection_id:
            raise InvalidOperationError(
                f"Connection ID '{connection_id}' is not valid for invocation ID '{invocation_id}'."
            )
        del self._relayed[invocation_id]
        connection = self.local.connection(connection_id)
        protocol = connection.protocol.name if connection is not None else "json"
        await self._publish(
            [
                self.hub_key,
                RESULT,
                relayed.return_server,
                invocation_id,
                result.error,
                result.has_result,
                result.result,
                protocol,
            ]
        )

    def try_get_return_type(self, invocation_id: str) -> Any:
        if invocation_id in self._relayed:
            return NO_TYPE  # converted on the server that asked
        remote = self._remote_results.get(invocation_id)
        if remote is not None:
            return remote[1]
        return self.local.try_get_return_type(invocation_id)

    def _complete_remote(
        self,
        connection_id: str,
        invocation_id: str,
        remote: tuple[str, Any, asyncio.Future[Any]],
        result: CompletionMessage,
    ) -> None:
        expected, _, future = remote
        if expected != connection_id:
            raise InvalidOperationError(
                f"Connection ID '{connection_id}' is not valid for invocation ID '{invocation_id}'."
            )
        receipt = self._receipts.get(invocation_id)
        if receipt is not None and not receipt.done():
            receipt.set_result(None)
        if future.done():
            return
        if result.error is not None:
            future.set_exception(HubException(result.error))
        else:
            future.set_result(result.result)

    async def _return_result(self, server: str, invocation_id: str, error: str) -> None:
        try:
            await self._publish([self.hub_key, RESULT, server, invocation_id, error, False, None, "json"])
        except Exception as exc:  # noqa: BLE001
            log.warning("Could not return a client result to server %s: %s", server, exc)

    # --------------------------------------------------- incoming messages

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_message(self, sender: str, message: list[Any]) -> None:
        kind = message[1]
        if kind == INVOCATION:
            self._on_invocation(message)
        elif kind == GROUP:
            self._on_group(message)
        elif kind == ACK:
            if message[2] == self.server_id:
                future = self._acks.get(message[3])
                if future is not None and not future.done():
                    future.set_result(None)
        elif kind == RECEIPT:
            if message[2] == self.server_id:
                receipt = self._receipts.get(message[3])
                if receipt is not None and not receipt.done():
                    receipt.set_result(None)
        elif kind == RESULT:
            if message[2] == self.server_id:
                self._on_result(message)

    def _on_invocation(self, message: list[Any]) -> None:
        _, _, kind, targets, excluded, serialized, invocation_id, return_server = message[:8]
        payload = SerializedHubMessage(serialized={str(k): bytes(v) for k, v in serialized.items()})
        if kind == TO_ALL:
            self.local.deliver_all(payload, excluded)
        elif kind == TO_CONNECTIONS:
            if invocation_id and return_server:
                connection_id = targets[0]
                if not self.local.has_connection(connection_id):
                    return
                self._relayed[invocation_id] = _RemoteInvocation(connection_id, return_server)
                self._spawn(self._publish_receipt(return_server, invocation_id))
            self.local.deliver_connections(targets, payload)
        elif kind == TO_GROUPS:
            self.local.deliver_groups(targets, payload, excluded)
        elif kind == TO_USERS:
            self.local.deliver_users(targets, payload)

    async def _publish_receipt(self, server: str, invocation_id: str) -> None:
        try:
            await self._publish([self.hub_key, RECEIPT, server, invocation_id])
        except Exception as exc:  # noqa: BLE001
            log.warning("Could not confirm client result %s: %s", invocation_id, exc)

    def _on_group(self, message: list[Any]) -> None:
        _, _, action, group, connection_id, ack_id, reply_server = message[:7]
        if not self.local.has_connection(connection_id):
            return  # not ours: the server that holds it acks
        self._spawn(self._apply_group(action, group, connection_id, ack_id, reply_server))

    async def _apply_group(
        self, action: int, group: str, connection_id: str, ack_id: int, reply_server: str
    ) -> None:
        if action == ADD:
            await self.local.add_to_group(connection_id, group)
        else:
            await self.local.remove_from_group(connection_id, group)
        # Only after applying it: a send right after the ack reaches the connection.
        try:
            await self._publish([self.hub_key, ACK, reply_server, ack_id])
        except Exception as exc:  # noqa: BLE001
            log.warning("Could not ack group command %s: %s", ack_id, exc)

    def _on_result(self, message: list[Any]) -> None:
        _, _, _, invocation_id, error, _has_result, value, protocol = message[:8]
        entry = self._remote_results.get(invocation_id)
        if entry is None:
            return
        _, result_type, future = entry
        receipt = self._receipts.get(invocation_id)
        if receipt is not None and not receipt.done():
            receipt.set_result(None)
        if future.done():
            return
        if error is not None:
            future.set_exception(HubException(error))
            return
        if result_type is Any or result_type is NO_TYPE:
            future.set_result(value)
            return
        flavor = Flavor.MSGPACK if protocol == "messagepack" else Flavor.JSON
        try:
            future.set_result(adapter_for(result_type, flavor)(value))
        except Exception as exc:  # noqa: BLE001
            future.set_exception(
                HubException(f"Error trying to deserialize result to {type_display_name(result_type)}. {exc}")
            )
